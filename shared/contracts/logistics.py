"""Logistics contracts: warehouse, shipments, carrier tracking, delivery; the WMS and carrier partner messages."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from shared.contracts.base import (
    Contract,
    EventData,
    LineNo,
    PartnerMessage,
)
from shared.fields import (
    Count,
    OptionalText,
    Ref,
    Timestamp,
    Weight,
)

# --- logistics --------------------------------------------------------------------------


class ShipmentLine(Contract):
    """The part of one order line a shipment carries."""

    line_no: LineNo
    quantity: Count


class ShipmentPlanned(EventData):
    """A shipment of (part of) the order planned; with `held`, it waits for billing's release before it leaves."""

    event_type: ClassVar[str] = "logistics.shipment_planned"
    shipment_id: Ref
    tracking_number: Ref
    carrier: Ref
    mode: Literal["express", "truck", "sea", "air"]
    packages: Count
    weight_kg: Weight
    lines: Annotated[list[ShipmentLine], Field(max_length=500)] = Field(
        default_factory=list, description="What it carries, per order line."
    )
    held: bool = Field(default=False, description="The terms require payment first: it waits for the release.")
    reshipment_of: Ref | None = Field(default=None, description="The damaged or lost shipment it replaces.")


class ShipmentDispatched(EventData):
    """A shipment left the warehouse with the carrier (the `shipment` trigger of the payment terms)."""

    event_type: ClassVar[str] = "logistics.shipment_dispatched"
    shipment_id: Ref
    dispatched_at: Timestamp
    lines: Annotated[list[ShipmentLine], Field(max_length=500)] = Field(default_factory=list)


class ShipmentTracked(EventData):
    event_type: ClassVar[str] = "logistics.shipment_tracked"
    shipment_id: Ref
    status: str = Field(pattern=r"^[a-z_]{1,32}$")
    location: OptionalText = ""


class ShipmentChanged(EventData):
    """A shipment not yet picked up, adjusted to an accepted change or cancelled (`cancelled`)."""

    event_type: ClassVar[str] = "logistics.shipment_changed"
    shipment_id: Ref
    change_id: Ref
    cancelled: bool = False
    note: OptionalText = ""


class ShipmentDelivered(EventData):
    event_type: ClassVar[str] = "logistics.shipment_delivered"
    shipment_id: Ref
    delivered_at: Timestamp
    received_quantity: Count
    lines: Annotated[list[ShipmentLine], Field(max_length=500)] = Field(
        default_factory=list, description="What was delivered, per order line."
    )
    order_delivered: bool = Field(
        default=True, description="Every part of the order is now delivered (false while other shipments are out)."
    )


class WmsEvent(PartnerMessage):
    """A stock movement from the warehouse's WMS on `wms.events`."""

    type: Literal["received", "picked", "packed"]
    order_id: Ref
    quantity: Count = 0
    packages: Count = 0
    weight_kg: Weight = Decimal(0)


class CarrierStatus(StrEnum):
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    CUSTOMS = "customs"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"


class CarrierException(StrEnum):
    DELAY = "delay"
    DAMAGE = "damage"
    LOSS = "loss"
    FAILED_DELIVERY = "failed_delivery"
    OTHER = "other"


class CarrierTracking(PartnerMessage):
    """A tracking event from a carrier on `carrier.tracking` (or its webhook)."""

    carrier: Ref
    tracking_number: Ref
    status: CarrierStatus
    location: OptionalText = ""
    received_quantity: Count | None = None
    exception_code: CarrierException | None = Field(
        default=None, description="With status `exception`: what happened (else `other`)."
    )
    remark: OptionalText = Field(default="", description="The carrier's own words, kept with any exception.")


LOGISTICS_EVENTS: tuple[type[EventData], ...] = (
    ShipmentPlanned,
    ShipmentDispatched,
    ShipmentTracked,
    ShipmentChanged,
    ShipmentDelivered,
)
