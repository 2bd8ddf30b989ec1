"""Export formalities: the customs declaration (logistics), the commodity inspection (production) and the
foreign-exchange settlement of the customer's payments (billing), each a step with a state, announced by the
service that owns it as `<service>.formality_changed` and followed per order by the order service."""

from enum import StrEnum
from typing import Literal

from pydantic import Field

from shared.contracts.base import EventData, per_service
from shared.fields import Currency, Money, OptionalText, Rate, Ref


class FormalityStep(StrEnum):
    CUSTOMS_DECLARATION = "customs_declaration"  # declared -> released, or held with a reason
    COMMODITY_INSPECTION = "commodity_inspection"  # booked -> passed or failed
    FX_SETTLEMENT = "fx_settlement"  # a foreign-currency receipt settled into the home currency


FormalityStatus = Literal["booked", "declared", "released", "held", "passed", "failed", "settled"]


class FormalityChanged(EventData):
    """A step of an export order's formalities moved (`<service>.formality_changed`)."""

    step: FormalityStep
    status: FormalityStatus
    subject_id: Ref = Field(description="The shipment, work order or payment the step is about.")
    reference: OptionalText = Field(default="", description="Declaration, certificate or bank reference.")
    reason: OptionalText = Field(default="", description="Why it is held or failed.")
    blocks_shipment: bool = Field(default=False, description="The goods may not leave while it stands.")
    currency: Currency | None = Field(default=None, description="fx_settlement: the currency received.")
    amount: Money | None = None
    rate: Rate | None = Field(default=None, description="fx_settlement: home-currency units per unit received.")
    home_currency: Currency | None = None
    home_amount: Money | None = None


FORMALITY = per_service(FormalityChanged, "formality_changed", ("production", "logistics", "billing"))
"""The services that own a step of the export formalities."""

FORMALITY_EVENTS: tuple[type[EventData], ...] = tuple(FORMALITY.values())
