"""Logistics contracts: warehouse, shipments, carrier tracking, delivery; the WMS and carrier partner messages."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field

from shared.contracts.base import (
    Contract,
    EventData,
    LineNo,
    PartnerMessage,
)
from shared.fields import (
    BusinessDate,
    Count,
    Currency,
    Money,
    OptionalText,
    Ref,
    Timestamp,
    Weight,
    clean_text,
)

Volume = Weight
"""Cubic metres, three decimals (the same bounds as a weight)."""
Mode = Literal["express", "truck", "sea", "air"]

# --- logistics --------------------------------------------------------------------------


class ShipmentLine(Contract):
    """The part of one order line a shipment carries."""

    line_no: LineNo
    quantity: Count


class ShipmentLeg(Contract):
    """One leg of a multi-leg shipment (truck to port, sea, last mile), with its own carrier and tracking."""

    leg_no: LineNo
    mode: Mode
    carrier: Ref
    tracking_number: Ref
    origin: OptionalText = ""
    destination: OptionalText = ""


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
    legs: Annotated[list[ShipmentLeg], Field(max_length=10)] = Field(
        default_factory=list, description="Its legs, each with carrier and tracking number (one when direct)."
    )
    mode_reason: OptionalText = Field(default="", description="Why this mode: cost and transit time compared.")
    eta: BusinessDate | None = Field(default=None, description="When it should arrive by the mode's transit time.")


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
    leg_no: LineNo | None = Field(default=None, description="The leg scanned, for a multi-leg shipment.")
    eta: BusinessDate | None = Field(default=None, description="When it should arrive, as of this scan.")


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
    signed_by: OptionalText = Field(default="", description="Proof of delivery: who signed.")
    photo_ref: OptionalText = Field(default="", description="Proof of delivery: the carrier's photo reference.")


DocumentKind = Literal["packing_list", "commercial_invoice", "customs_declaration"]


class DocumentIssued(EventData):
    """A shipping document generated (version 1) or regenerated because its data changed (a new version)."""

    event_type: ClassVar[str] = "logistics.document_issued"
    document_id: Ref
    shipment_id: Ref
    kind: DocumentKind
    document_version: Annotated[int, Field(ge=1, le=10_000)]
    checksum: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the PDF.")
    filename: Ref


class ClaimStatus(StrEnum):
    OPENED = "opened"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PAID = "paid"
    CLOSED = "closed"


class ClaimChanged(EventData):
    """A claim against a carrier for damaged, lost or missing goods, opened or moved through its lifecycle."""

    event_type: ClassVar[str] = "logistics.claim_changed"
    claim_id: Ref
    shipment_id: Ref
    carrier: Ref
    status: ClaimStatus
    reason: Literal["damage", "loss", "shortage", "delay"]
    amount: Money
    currency: Currency
    note: OptionalText = ""


class PackageSize(Contract):
    """Packages of one outer size."""

    length_cm: Annotated[int, Field(gt=0, le=2000)]
    width_cm: Annotated[int, Field(gt=0, le=2000)]
    height_cm: Annotated[int, Field(gt=0, le=2000)]
    count: Annotated[int, Field(gt=0, le=100_000)] = 1


class WmsEvent(PartnerMessage):
    """A stock movement from the warehouse's WMS on `wms.events`."""

    type: Literal["received", "picked", "packed"]
    order_id: Ref
    quantity: Count = 0
    packages: Count = 0
    weight_kg: Weight = Decimal(0)
    lines: Annotated[list[ShipmentLine], Field(max_length=500)] = Field(
        default_factory=list, description="Packed: the pieces of each order line in this batch (partial packing)."
    )
    net_weight_kg: Weight | None = Field(default=None, description="Packed: net weight, without packaging.")
    volume_m3: Volume | None = Field(default=None, description="Packed: the batch's volume.")
    dimensions: Annotated[list[PackageSize], Field(max_length=500)] = Field(
        default_factory=list, description="Packed: the packages' outer sizes."
    )


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
    carrier_code: Annotated[str, Field(max_length=32), AfterValidator(clean_text)] = Field(
        default="", description="The carrier's own status code the status was mapped from."
    )
    estimated_delivery: BusinessDate | None = Field(default=None, description="The carrier's ETA, if it gives one.")
    signed_by: OptionalText = Field(default="", description="Delivered: who signed.")
    photo_ref: OptionalText = Field(default="", description="Delivered: the carrier's photo reference.")
    lines: Annotated[list[ShipmentLine], Field(max_length=500)] = Field(
        default_factory=list, description="Delivered: the pieces received per order line, when counted per line."
    )


LOGISTICS_EVENTS: tuple[type[EventData], ...] = (
    ShipmentPlanned,
    ShipmentDispatched,
    ShipmentTracked,
    ShipmentChanged,
    ShipmentDelivered,
    DocumentIssued,
    ClaimChanged,
)
