"""Order contracts: intake, review, acceptance, changes, cancellation, closing; the ERP partner message."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar, Literal, Self

from pydantic import Field, field_validator, model_validator

from shared.contracts.base import (
    MAX_ORDER_JSON_BYTES,
    MAX_ORDER_PIECES,
    Contract,
    EventData,
    LineNo,
    PartnerMessage,
    per_service,
)
from shared.fields import (
    MAX_MONEY,
    BusinessDate,
    Count,
    Country,
    Currency,
    LongText,
    Money,
    Name,
    OptionalText,
    Quantity,
    Ref,
    Text,
    Timestamp,
)

# --- order ------------------------------------------------------------------------------


class InstallmentTrigger(StrEnum):
    """When an installment is invoiced."""

    ACCEPTANCE = "acceptance"
    BEFORE_SHIPMENT = "before_shipment"  # the goods are packed and wait for this payment
    SHIPMENT = "shipment"  # each shipment, for its part of the order
    DELIVERY = "delivery"  # each delivery, for its part of the order


class Installment(Contract):
    """One part of the payment terms, e.g. 30 % on acceptance, or 100 % net 30 after delivery."""

    trigger: InstallmentTrigger
    percent: Annotated[Decimal, Field(gt=0, le=100)]
    net_days: Annotated[int, Field(ge=0, le=365)] = 0
    hold_shipment: bool = Field(
        default=False,
        description="The goods may not leave before this installment is paid (always so for before_shipment).",
    )

    @property
    def holds_shipment(self) -> bool:
        return self.hold_shipment or self.trigger == InstallmentTrigger.BEFORE_SHIPMENT


class PaymentTerms(Contract):
    installments: Annotated[list[Installment], Field(min_length=1, max_length=12)]

    @model_validator(mode="after")
    def _sums_to_100(self) -> Self:
        if sum(i.percent for i in self.installments) != 100:
            raise ValueError("payment term installments must add up to 100 percent")
        return self

    @property
    def holds_shipment(self) -> bool:
        """Shipments wait for billing's `billing.shipment_released` (some installment is due before shipping)."""
        return any(i.holds_shipment for i in self.installments)


NET_30_AFTER_DELIVERY = PaymentTerms(
    installments=[Installment(trigger=InstallmentTrigger.DELIVERY, percent=Decimal(100), net_days=30)]
)


class OrderLine(Contract):
    line_no: LineNo
    product: Name = Field(description="Product model, as the customer names it.")
    sku: Ref | None = Field(default=None, description="Our article number, when the customer knows it.")
    spec: LongText = ""
    quantity: Quantity
    unit: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,16}$")] = Field(
        default="pcs", description="e.g. pcs, kg, m, set."
    )
    unit_price: Money
    requested_date: BusinessDate | None = Field(
        default=None, description="The date the customer wants this line; the order's delivery date when absent."
    )
    make_or_buy: Literal["make", "buy"] = "make"


HOME_COUNTRY = "CN"
"""Where Gendan's firm ships from: an order to anywhere else is an export (customs, inspection, FX)."""

Incoterm = Literal["EXW", "FCA", "FAS", "FOB", "CFR", "CIF", "CPT", "CIP", "DAP", "DPU", "DDP"]


class Requirements(Contract):
    """The customer's special requirements, as fields a department can act on rather than free text."""

    packaging: OptionalText = Field(default="", description="e.g. export carton, 20 pcs per carton, palletised.")
    labelling: OptionalText = Field(default="", description="e.g. customer barcode labels, CE mark.")
    certifications: Annotated[list[Name], Field(max_length=20)] = Field(
        default_factory=list, description="Certificates that must ship with the goods, e.g. RoHS, CO, MSDS."
    )
    inspection: Literal["none", "internal", "customer", "third_party"] = Field(
        default="none", description="Who inspects before shipment."
    )
    notes: LongText = ""


class Attachment(Contract):
    """A document kept elsewhere (drawing, PO scan, artwork), by reference."""

    name: Name
    url: Annotated[str, Field(pattern=r"^https?://", max_length=2000)]
    kind: Annotated[str, Field(pattern=r"^[a-z_]{1,32}$")] = "document"


class OrderTerms(Contract):
    """Everything a customer order states; shared by HTTP intake, ERP intake and order.accepted."""

    customer: Name
    external_ref: Ref = Field(description="The customer's own order number (idempotency key).")
    currency: Currency
    delivery_date: BusinessDate
    payment_terms: PaymentTerms = NET_30_AFTER_DELIVERY
    delivery_address: Text
    destination_country: Country = HOME_COUNTRY
    contact: Name
    contact_email: OptionalText = ""
    contact_phone: OptionalText = ""
    incoterm: Incoterm | None = Field(default=None, description="Incoterms 2020 rule, e.g. FOB.")
    requirements: Requirements = Requirements()
    attachments: Annotated[list[Attachment], Field(max_length=50)] = Field(default_factory=list)
    lines: Annotated[list[OrderLine], Field(min_length=1, max_length=500)]

    @field_validator("lines")
    @classmethod
    def _consistent_lines(cls, lines: list[OrderLine]) -> list[OrderLine]:
        numbers = [line.line_no for line in lines]
        if len(set(numbers)) != len(numbers):
            raise ValueError("line numbers must be unique")
        if sum((line.unit_price * line.quantity for line in lines), Decimal(0)) > MAX_MONEY:
            raise ValueError(f"order total exceeds {MAX_MONEY}")
        if sum(line.quantity for line in lines) > MAX_ORDER_PIECES:
            raise ValueError(f"more than {MAX_ORDER_PIECES} pieces in one order; split it")
        return lines

    @model_validator(mode="after")
    def _fits_one_message(self) -> Self:
        # UTF-8 bytes, as Kafka counts them; the terms alone (events carrying them add a bounded amount)
        if len(self.model_dump_json(include=set(OrderTerms.model_fields)).encode()) > MAX_ORDER_JSON_BYTES:
            raise ValueError(f"order larger than {MAX_ORDER_JSON_BYTES // 1024} KiB; split it")
        return self

    @property
    def export(self) -> bool:
        """The goods leave the country: customs, commodity inspection and FX settlement apply."""
        return self.destination_country != HOME_COUNTRY

    def compute_total(self) -> Decimal:
        """Sum of quantity times unit price over the lines."""
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal(0))


class LineDates(Contract):
    """A line's requested and confirmed dates, kept side by side."""

    line_no: LineNo
    requested_date: BusinessDate
    confirmed_date: BusinessDate


class OrderReviewRequested(EventData, OrderTerms):
    """An order taken in and under review: each reviewing department answers (production with its
    feasibility). Published again with the next `order_version` when the terms are amended during review."""

    event_type: ClassVar[str] = "order.review_requested"
    order_version: Annotated[int, Field(ge=1, le=10_000)] = 1
    total_amount: Money = Field(description="Sum of the lines.")
    departments: Annotated[list[Ref], Field(max_length=20)] = Field(
        default_factory=list, description="The departments whose approval the order waits for."
    )


class OrderAccepted(EventData, OrderTerms):
    event_type: ClassVar[str] = "order.accepted"
    total_amount: Money = Field(description="Sum of the lines.")
    order_version: Annotated[int, Field(ge=1, le=10_000)] = 1
    confirmed: Annotated[list[LineDates], Field(max_length=500)] = Field(
        default_factory=list, description="Per line: the date the customer asked for and the date we confirm."
    )


class OrderRejected(EventData):
    """Review refused the order; nothing is made, shipped or invoiced."""

    event_type: ClassVar[str] = "order.rejected"
    reasons: Annotated[list[Text], Field(min_length=1, max_length=20)]


class OrderClosed(EventData):
    event_type: ClassVar[str] = "order.closed"
    closed_at: Timestamp


class ChangeKind(StrEnum):
    CHANGE = "change"
    CANCEL = "cancel"


class OrderChangeRequested(EventData):
    """The customer asked to change or cancel an accepted order. Production and logistics answer with an
    impact assessment (`<service>.change_assessed`) by `respond_by`; nothing changes until the merchandiser
    accepts (`order.change_accepted` / `order.cancelled`) or rejects (`order.change_rejected`)."""

    event_type: ClassVar[str] = "order.change_requested"
    change_id: Ref
    kind: ChangeKind
    order_version: Annotated[int, Field(ge=2, le=10_000)] = Field(description="The version the change would make.")
    lines: Annotated[list[OrderLine], Field(max_length=500)] = Field(
        description="Every line as it would be after the change (cancelled lines left out)."
    )
    cancelled_lines: Annotated[list[LineNo], Field(max_length=500)] = Field(default_factory=list)
    delivery_date: BusinessDate
    reason: Text
    respond_by: Timestamp = Field(description="Each assessing service answers before this.")


class OrderChangeAccepted(EventData):
    """A change the customer confirmed in writing: every service adjusts to the new version."""

    event_type: ClassVar[str] = "order.change_accepted"
    change_id: Ref
    kind: ChangeKind
    order_version: Annotated[int, Field(ge=2, le=10_000)]
    lines: Annotated[list[OrderLine], Field(max_length=500)] = Field(description="Every line after the change.")
    cancelled_lines: Annotated[list[LineNo], Field(max_length=500)] = Field(default_factory=list)
    delivery_date: BusinessDate
    total_amount: Money = Field(description="The new sum of the lines.")
    previous_total: Money


class OrderChangeRejected(EventData):
    event_type: ClassVar[str] = "order.change_rejected"
    change_id: Ref
    reason: Text


class OrderCancelled(EventData):
    """The whole order is cancelled: production stops what has not been made, logistics what has not
    left, billing credits what was invoiced and not due."""

    event_type: ClassVar[str] = "order.cancelled"
    change_id: Ref
    reason: Text
    cancelled_at: Timestamp


class ChangeAssessed(EventData):
    """A service's impact assessment of a requested change or cancellation (`<service>.change_assessed`)."""

    change_id: Ref
    feasible: bool = Field(description="False: this service cannot carry the change out (say why in `note`).")
    new_date: BusinessDate | None = Field(default=None, description="The date this stage can now promise.")
    cost: Money = Field(default=Decimal(0), description="Extra cost of the change, in the order's currency.")
    material_bought: Money = Field(default=Decimal(0), description="Material already bought that the change strands.")
    work_in_progress: Count = Field(default=0, description="Pieces started and not completed.")
    made: Count = Field(default=0, description="Pieces already completed.")
    shipped: Count = Field(default=0, description="Pieces already left the warehouse.")
    note: OptionalText = ""


ASSESSED = per_service(ChangeAssessed, "change_assessed", ("production", "logistics"))
"""The services that assess a change request before the merchandiser decides."""


class ErpOrder(PartnerMessage, OrderTerms):
    """An order from an ERP or sales system on `erp.orders`."""


# --- after-sales ------------------------------------------------------------------------


class Remedy(StrEnum):
    """How a complaint is put right, and which service does it."""

    REPLACEMENT = "replacement"  # logistics ships the goods again (a reshipment of the order)
    REWORK = "rework"  # production repairs or remakes
    CREDIT_NOTE = "credit_note"  # billing credits an invoice
    COMPENSATION = "compensation"  # billing pays or credits an agreed sum
    EXPLANATION = "explanation"  # a written answer; no service acts


REMEDY_SERVICE = {
    Remedy.REPLACEMENT: "logistics",
    Remedy.REWORK: "production",
    Remedy.CREDIT_NOTE: "billing",
    Remedy.COMPENSATION: "billing",
}


class OrderRemedyRequested(EventData):
    """A customer complaint is to be put right by the service that owns the remedy (`service`)."""

    event_type: ClassVar[str] = "order.remedy_requested"
    complaint_id: Ref
    remedy: Remedy
    service: Literal["production", "logistics", "billing"]
    category: Annotated[str, Field(pattern=r"^[a-z_]{1,32}$")]
    line_no: LineNo | None = None
    quantity: Count | None = Field(default=None, description="Pieces to replace or rework.")
    amount: Money | None = Field(default=None, description="Credit or compensation, in the order's currency.")
    currency: Currency | None = None
    shipment_id: Ref | None = None
    invoice_number: Ref | None = None
    note: OptionalText = ""


class RemedyDone(EventData):
    """A service carried out a complaint's remedy (`<service>.remedy_done`); the complaint is resolved by it."""

    complaint_id: Ref
    remedy: Remedy
    reference: Ref = Field(description="What it made: the reshipment, the work order, the credit note number.")
    note: OptionalText = ""


REMEDIED = per_service(RemedyDone, "remedy_done", ("production", "logistics", "billing"))
"""The services that carry out remedies."""


ORDER_EVENTS: tuple[type[EventData], ...] = (
    OrderReviewRequested,
    OrderAccepted,
    OrderRejected,
    OrderChangeRequested,
    OrderChangeAccepted,
    OrderChangeRejected,
    OrderCancelled,
    OrderClosed,
    OrderRemedyRequested,
    *ASSESSED.values(),
    *REMEDIED.values(),
)
