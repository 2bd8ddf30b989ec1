"""Event contracts: one envelope for every lifecycle event, frozen payloads, partner messages.

Contracts change only by adding fields. Field descriptions flow into the AsyncAPI documents.
"""

import builtins
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, Literal, Self, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.clock import Clock
from shared.fields import (
    MAX_MONEY,
    BigCount,
    BusinessDate,
    Count,
    Country,
    Currency,
    LongText,
    MessageId,
    Money,
    Name,
    OptionalText,
    PositiveMoney,
    Quantity,
    Ref,
    Text,
    Timestamp,
    Total,
    Weight,
)
from shared.kinds import Cause, Role, Severity, Stage

MAX_ORDER_JSON_BYTES = 256 * 1024  # an order.accepted event stays far below Kafka's 1 MiB
MAX_ORDER_PIECES = 2_000_000_000
LineNo = Annotated[int, Field(ge=1, le=10_000)]


class Contract(BaseModel):
    """Base of every payload: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


T = TypeVar("T", bound="EventData")
E = TypeVar("E", bound="EventData")
D = TypeVar("D", bound="EventData", covariant=True)


# --- the envelope -----------------------------------------------------------------------


class Envelope(Contract):
    """The envelope of every lifecycle event; `order_id` is also the Kafka key."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: UUID = Field(description="Unique event id; consumers deduplicate on it.")
    type: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=64, description="Event type, e.g. order.accepted.")
    version: int = Field(default=1, ge=1)
    source: Ref = Field(description="Service that raised the event.")
    order_id: Ref = Field(description="Order the event belongs to.")
    occurred_at: Timestamp
    correlation_id: MessageId = Field(description="Id shared by every event of one business flow.")
    causation_id: MessageId | None = Field(default=None, description="Id of the event that caused this.")
    data: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def new(
        cls,
        payload: "EventData",
        *,
        source: str,
        order_id: str,
        clock: Clock,
        cause: "Envelope | None" = None,
        correlation_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> Self:
        """Wrap a payload; an event caused by another inherits its correlation id.

        `occurred_at` is when the fact happened, if not now (a partner's report of its own time)."""
        event_id = uuid4()
        correlation_id = cause.correlation_id if cause else correlation_id
        return cls(
            id=event_id,
            type=payload.event_type,
            version=payload.version,
            source=source,
            order_id=order_id,
            occurred_at=occurred_at or clock.now(),
            correlation_id=correlation_id or str(event_id),
            causation_id=str(cause.id) if cause else None,
            data=payload.model_dump(mode="json"),
        )

    def payload(self, model: builtins.type[T]) -> T:
        """The typed payload of this event, read tolerantly (see EventData)."""
        return model.model_validate(self.data, extra="ignore")


class EventData(Contract):
    """Payload of one event type; `event_type` names it.

    Tolerant reader: fields a newer producer added are ignored, at every depth (`Envelope.payload`
    reads with extra="ignore", also for parts shared with intake such as order lines, which refuse
    unknown fields when a person or partner sends them), so contracts can grow by adding fields
    while older consumers still run."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str] = ""  # the envelope's `type`, e.g. "order.accepted": named here and nowhere else
    version: ClassVar[int] = 1  # the envelope's `version`; a breaking change is a new class with the next one


# --- order ------------------------------------------------------------------------------


class InstallmentTrigger(StrEnum):
    ACCEPTANCE = "acceptance"
    DELIVERY = "delivery"


class Installment(Contract):
    """One part of the payment terms, e.g. 30 % on acceptance, or 100 % net 30 after delivery."""

    trigger: InstallmentTrigger
    percent: Annotated[Decimal, Field(gt=0, le=100)]
    net_days: Annotated[int, Field(ge=0, le=365)] = 0


class PaymentTerms(Contract):
    installments: Annotated[list[Installment], Field(min_length=1, max_length=12)]

    @model_validator(mode="after")
    def _sums_to_100(self) -> Self:
        if sum(i.percent for i in self.installments) != 100:
            raise ValueError("payment term installments must add up to 100 percent")
        return self


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
    destination_country: Country = "CN"
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


# --- production -------------------------------------------------------------------------


class ProductionOrderCreated(EventData):
    event_type: ClassVar[str] = "production.order_created"
    work_order_id: Ref
    line_no: LineNo
    product: Name
    quantity: Quantity
    kind: Literal["make", "buy"]
    planned_completion: BusinessDate


class ProductionStarted(EventData):
    event_type: ClassVar[str] = "production.started"
    work_order_id: Ref


class ProductionCompleted(EventData):
    event_type: ClassVar[str] = "production.completed"
    work_order_id: Ref
    good_quantity: Count
    scrap_quantity: Count


class LineFeasibility(Contract):
    line_no: LineNo
    earliest_completion: BusinessDate = Field(description="Given today's load and the line's capacity.")
    feasible: bool = Field(description="Completion leaves time to ship by the requested date.")


class ProductionFeasibilityAssessed(EventData):
    """Production's review of an order: when each line could be completed at the earliest."""

    event_type: ClassVar[str] = "production.feasibility_assessed"
    order_version: Annotated[int, Field(ge=1, le=10_000)]
    lines: Annotated[list[LineFeasibility], Field(max_length=500)]
    note: OptionalText = ""


class WorkOrderChanged(EventData):
    """A work order adjusted to an accepted change."""

    event_type: ClassVar[str] = "production.work_order_changed"
    work_order_id: Ref
    line_no: LineNo
    quantity: Quantity
    planned_completion: BusinessDate
    change_id: Ref


class WorkOrderCancelled(EventData):
    """A work order stopped by a cancellation; what was already made is reported."""

    event_type: ClassVar[str] = "production.work_order_cancelled"
    work_order_id: Ref
    line_no: LineNo
    made_quantity: Count = Field(description="Pieces already completed, for a decision on what to do with them.")
    change_id: Ref


class ProductionOrderReady(EventData):
    """Every work order of the order is complete: the goods can go to the warehouse."""

    event_type: ClassVar[str] = "production.order_ready"
    work_order_ids: Annotated[list[Ref], Field(max_length=500)]
    quantity: BigCount


# --- logistics --------------------------------------------------------------------------


class ShipmentPlanned(EventData):
    event_type: ClassVar[str] = "logistics.shipment_planned"
    shipment_id: Ref
    tracking_number: Ref
    carrier: Ref
    mode: Literal["express", "truck", "sea", "air"]
    packages: Count
    weight_kg: Weight


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


# --- billing ----------------------------------------------------------------------------


class InvoiceIssued(EventData):
    event_type: ClassVar[str] = "billing.invoice_issued"
    invoice_id: Ref
    invoice_number: Ref
    amount: Money
    currency: Currency
    due_date: BusinessDate
    trigger: InstallmentTrigger


class PaymentReceived(EventData):
    event_type: ClassVar[str] = "billing.payment_received"
    payment_id: MessageId
    invoice_number: Ref
    amount: Money
    match: Literal["exact", "partial", "over"]


class OrderSettled(EventData):
    """Every installment of the order is invoiced and paid."""

    event_type: ClassVar[str] = "billing.order_settled"
    invoiced_total: Total
    paid_total: Total


class CreditNoteIssued(EventData):
    """Money given back against an invoice: an order changed down or cancelled."""

    event_type: ClassVar[str] = "billing.credit_note_issued"
    credit_note_id: Ref
    credit_note_number: Ref
    invoice_number: Ref
    amount: Money
    currency: Currency
    reason: Text


class ReceivablesChanged(EventData):
    """A customer's open receivables after an invoice, payment or credit note (keyed by the order that moved
    them); the order service's credit review reads them."""

    event_type: ClassVar[str] = "billing.receivables_changed"
    customer: Name
    currency: Currency
    open_amount: Total = Field(description="Invoiced and not yet paid or credited.")
    overdue_amount: Total = Field(description="Of that, past its due date.")


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


class MessageRejected(EventData):
    """A lifecycle event of this order that the service could not apply; it went to `<topic>.dlq`.

    Published as `<service>.message_rejected`. The order service marks the order with it, so no
    order looks normal while one of its events sits in a dead-letter topic."""

    rejected_topic: Ref = Field(description="The topic the event was read from (without deployment prefix).")
    rejected_type: OptionalText = Field(default="", description="Its event type, when it could be read.")
    rejected_id: OptionalText = Field(default="", description="Its event id, when it could be read.")
    reason: Text = Field(description="Why it could not be applied; the same reason is in the dead letter's headers.")


def _per_service(base: builtins.type[E], action: str, services: tuple[str, ...]) -> dict[str, builtins.type[E]]:
    """One event class per service for a shape every service publishes, e.g. `production.exception_raised`."""
    return {
        service: builtins.type(
            f"{service.title()}{base.__name__}",
            (base,),
            {
                "__annotations__": {"event_type": ClassVar[str]},
                "event_type": f"{service}.{action}",
                "__doc__": base.__doc__,
                "__module__": __name__,
            },
        )
        for service in services
    }


REJECTED = _per_service(MessageRejected, "message_rejected", ("production", "logistics", "billing"))
"""The rejection report of each service that publishes one (the order service marks its orders itself)."""
ProductionMessageRejected = REJECTED["production"]


# --- exceptions -------------------------------------------------------------------------

SERVICES = ("order", "production", "logistics", "billing")
UNASSIGNED = "unassigned"
"""The order id of an exception no order is known for yet (a payment naming no invoice we issued)."""

FactKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z_]+$")]
FactValue = OptionalText | int | Decimal | bool | None
KindName = Annotated[str, Field(pattern=r"^[a-z]+\.[a-z_]+$", max_length=64)]
SubjectType = Literal["order", "work_order", "shipment", "invoice", "payment", "message"]


def exception_id(service: str, kind: str, subject_type: str, subject_id: str) -> str:
    """The stable id of a condition: raising the same condition again is the same exception."""
    return str(uuid5(NAMESPACE_URL, f"gendan:exception:{service}:{kind}:{subject_type}:{subject_id}"))


class ExceptionRaised(EventData):
    """Something went wrong with an order, raised by the service that owns the fact.

    Published as `<service>.exception_raised`, keyed by the order id. Raising the same condition
    (service, kind, subject) again is the same exception (same `exception_id`): it is published
    again only when it had been resolved and came back. `kind` is one of the registered kinds
    (`shared/kinds.py`, listed in the AsyncAPI document) with its default severity, owner and deadline."""

    exception_id: Ref = Field(description="Stable id of (service, kind, subject).")
    stage: Stage
    kind: KindName = Field(description="What went wrong, e.g. logistics.carrier_damage.")
    severity: Severity
    owner: Role = Field(description="Whose job it is to chase it.")
    subject_type: SubjectType
    subject_id: MessageId = Field(description="The work order, shipment, invoice, payment or message it is about.")
    title: Text = Field(description="One sentence a merchandiser reads.")
    facts: Annotated[dict[FactKey, FactValue], Field(max_length=20)] = Field(
        default_factory=dict, description="The facts behind it, e.g. the carrier's own words."
    )
    action: Text = Field(description="The suggested next step.")
    cause: Cause = Field(description="Who the delay or defect is attributed to.")
    raised_at: Timestamp
    due_by: Timestamp = Field(description="When it is escalated if still open.")


class ExceptionUpdated(ExceptionRaised):
    """An open exception whose severity, sentence or facts changed: its whole current state.

    Published as `<service>.exception_updated`."""


class ExceptionResolved(EventData):
    """An exception that is over: the condition cleared (by: system) or a person closed it.

    Published as `<service>.exception_resolved`."""

    exception_id: Ref
    kind: KindName
    subject_type: SubjectType
    subject_id: MessageId
    resolved_at: Timestamp
    by: Name = Field(description="`system` when the condition cleared by itself, else the person.")
    reason: Text


ASSESSED = _per_service(ChangeAssessed, "change_assessed", ("production", "logistics"))
"""The services that assess a change request before the merchandiser decides."""

RAISED = _per_service(ExceptionRaised, "exception_raised", SERVICES)
UPDATED = _per_service(ExceptionUpdated, "exception_updated", SERVICES)
RESOLVED = _per_service(ExceptionResolved, "exception_resolved", SERVICES)


class ExceptionAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    COMMENT = "comment"
    SNOOZE = "snooze"
    RESOLVE = "resolve"


class OrderExceptionActed(EventData):
    """A person acted on an exception on the board; the owning service stops re-raising what a person resolved."""

    event_type: ClassVar[str] = "order.exception_acted"
    exception_id: Ref
    service: Annotated[str, Field(pattern=r"^[a-z]+$", max_length=32)] = Field(description="The owning service.")
    action: ExceptionAction
    by: Name
    at: Timestamp
    owner: Name | None = None
    note: OptionalText = ""
    until: Timestamp | None = Field(default=None, description="Snoozed until.")


class OrderExceptionEscalated(EventData):
    """An exception still open past its deadline went up one level."""

    event_type: ClassVar[str] = "order.exception_escalated"
    exception_id: Ref
    kind: KindName
    level: Annotated[int, Field(ge=1, le=100)]
    severity: Severity
    due_by: Timestamp


LIFECYCLE_EVENTS: tuple[type[EventData], ...] = (
    OrderReviewRequested,
    OrderAccepted,
    OrderRejected,
    OrderChangeRequested,
    OrderChangeAccepted,
    OrderChangeRejected,
    OrderCancelled,
    OrderClosed,
    ProductionFeasibilityAssessed,
    ProductionOrderCreated,
    ProductionStarted,
    ProductionCompleted,
    ProductionOrderReady,
    WorkOrderChanged,
    WorkOrderCancelled,
    ShipmentPlanned,
    ShipmentTracked,
    ShipmentChanged,
    ShipmentDelivered,
    InvoiceIssued,
    PaymentReceived,
    CreditNoteIssued,
    ReceivablesChanged,
    OrderSettled,
    *ASSESSED.values(),
    OrderExceptionActed,
    OrderExceptionEscalated,
    *REJECTED.values(),
    *RAISED.values(),
    *UPDATED.values(),
    *RESOLVED.values(),
)
EVENT_TYPES: dict[str, type[EventData]] = {model.event_type: model for model in LIFECYCLE_EVENTS}


@dataclass(frozen=True)
class Event(Generic[D]):
    """A lifecycle event as a handler receives it: the envelope, and its payload parsed once."""

    envelope: Envelope
    data: D

    @property
    def order_id(self) -> str:
        return self.envelope.order_id

    @property
    def correlation_id(self) -> str:
        return self.envelope.correlation_id

    @property
    def occurred_at(self) -> datetime:
        return self.envelope.occurred_at

    @property
    def source(self) -> str:
        return self.envelope.source

    @staticmethod
    def new(payload: T, *, source: str, order_id: str, clock: Clock) -> "Event[T]":
        """A new event carrying `payload`."""
        return Event(Envelope.new(payload, source=source, order_id=order_id, clock=clock), payload)

    @staticmethod
    def of(envelope: Envelope, model: builtins.type[T]) -> "Event[T]":
        """An envelope with its payload parsed as `model`."""
        return Event(envelope, envelope.payload(model))


# --- partner messages -------------------------------------------------------------------


class PartnerMessage(Contract):
    """A message from a partner system; `message_id` is its idempotency key."""

    message_id: MessageId
    occurred_at: Timestamp


class ErpOrder(PartnerMessage, OrderTerms):
    """An order from an ERP or sales system on `erp.orders`."""


class MesEvent(PartnerMessage):
    """Production progress from the factory's MES on `mes.events`."""

    type: Literal["started", "operation_reported", "machine_down", "completed"]
    work_order_id: Ref
    operation: OptionalText = ""
    good_quantity: Count = 0
    scrap_quantity: Count = 0


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


class FinancePayment(PartnerMessage):
    """A payment seen by the finance system on `finance.payments`; message_id is the payment id."""

    invoice_number: Ref
    amount: PositiveMoney
    currency: Currency
