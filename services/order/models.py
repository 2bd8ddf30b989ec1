"""Order service tables and HTTP shapes."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, Numeric, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.contracts import Milestone, OrderLine
from shared.db import money, timestamp


class Order(SQLModel, table=True):
    """One customer order: its terms as accepted and where it stands."""

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("customer", "external_ref"),)

    id: str = Field(primary_key=True)
    customer: str
    external_ref: str
    currency: str
    delivery_date: date
    total_amount: Decimal = money()
    terms: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(index=True)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()
    delivered_at: datetime | None = timestamp(nullable=True)
    settled_at: datetime | None = timestamp(nullable=True)
    closed_at: datetime | None = timestamp(nullable=True)
    attention: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    attention_at: datetime | None = timestamp(nullable=True)
    open_exceptions: int = 0
    worst_severity: str | None = None
    version: int = 1
    confirmed_date: date | None = Field(default=None, description="The latest confirmed line date, once accepted.")
    decided_at: datetime | None = timestamp(nullable=True)
    planned_completion: date | None = None
    eta: date | None = None
    invoiced_amount: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(18, 2), nullable=False, default=0))
    paid_amount: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(18, 2), nullable=False, default=0))
    credited_amount: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(18, 2), nullable=False, default=0))
    next_due_date: date | None = Field(default=None, description="The earliest due date of an unpaid invoice.")
    milestone: str | None = Field(default=None, description="Production's next milestone over all lines.")
    milestone_date: date | None = Field(default=None, description="Its projected, else planned, date.")
    shipment_hold: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # billing's reason
    shipments: int = 0
    shipments_delivered: int = 0
    search: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class Product(SQLModel, table=True):
    """The product master: what review checks an order line against."""

    __tablename__ = "products"

    sku: str = Field(primary_key=True)
    name: str = Field(index=True)
    unit: str = "pcs"
    list_price: Decimal = money()
    currency: str
    lead_time_days: int
    price_tolerance_percent: Decimal = Field(sa_column=Column(Numeric(5, 2), nullable=False))
    active: bool = True
    updated_at: datetime = timestamp()


class Customer(SQLModel, table=True):
    """The customer master: who may order, their credit limit and contact."""

    __tablename__ = "customers"

    name: str = Field(primary_key=True)
    credit_limit: Decimal = money()
    currency: str
    contact_email: str = ""
    active: bool = True
    updated_at: datetime = timestamp()


class Department(SQLModel, table=True):
    """A department whose approval an order waits for in review (production and finance decide by
    themselves from their facts; any other department is a person's decision)."""

    __tablename__ = "review_departments"

    name: str = Field(primary_key=True)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    active: bool = True


class Exposure(SQLModel, table=True):
    """A customer's open receivables as billing last published them (billing.receivables_changed)."""

    __tablename__ = "exposures"

    customer: str = Field(primary_key=True)
    currency: str = Field(primary_key=True)
    open_amount: Decimal = money()
    overdue_amount: Decimal = money()
    as_of: datetime = timestamp()


class OrderVersion(SQLModel, table=True):
    """The order's terms as they stood at each version: taken in, amended in review, changed after acceptance."""

    __tablename__ = "order_versions"

    order_id: str = Field(primary_key=True)
    version: int = Field(primary_key=True)
    terms: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    total_amount: Decimal = money()
    reason: str = Field(sa_column=Column(Text, nullable=False))
    change_id: str | None = None
    created_at: datetime = timestamp()
    created_by: str


class Clarification(SQLModel, table=True):
    """A question to the customer that holds an order in review until answered in writing."""

    __tablename__ = "clarifications"

    id: str = Field(primary_key=True)
    order_id: str = Field(index=True)
    order_version: int
    code: str
    field: str = ""
    question: str = Field(sa_column=Column(Text, nullable=False))
    raised_by: str
    raised_at: datetime = timestamp()
    deadline: datetime = timestamp()
    open: bool = Field(default=True, index=True)
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_by: str | None = None
    answered_at: datetime | None = timestamp(nullable=True)


class Review(SQLModel, table=True):
    """One department's decision on one version of an order under review."""

    __tablename__ = "reviews"

    order_id: str = Field(primary_key=True)
    department: str = Field(primary_key=True)
    order_version: int
    decision: str = Field(index=True)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    confirmed: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decided_by: str | None = None
    decided_at: datetime | None = timestamp(nullable=True)
    requested_at: datetime = timestamp()
    deadline: datetime = timestamp()


class ChangeRequest(SQLModel, table=True):
    """A change or cancellation of an accepted order: assessed by production and logistics, then decided."""

    __tablename__ = "change_requests"

    id: str = Field(primary_key=True)
    order_id: str = Field(index=True)
    kind: str
    status: str = Field(index=True)
    order_version: int
    terms: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    cancelled_lines: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    requested_by: str
    requested_at: datetime = timestamp()
    respond_by: datetime = timestamp()
    assessments: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    decided_by: str | None = None
    decided_at: datetime | None = timestamp(nullable=True)
    confirmation: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    decision_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class LineProgress(SQLModel, table=True):
    """Where each work order of an order's line stands, from production's events (for cancellation rules)."""

    __tablename__ = "line_progress"

    work_order_id: str = Field(primary_key=True)
    order_id: str = Field(index=True)
    line_no: int
    quantity: int
    status: str
    planned_completion: date | None = None
    milestones: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )  # production.milestones_changed, as last published


class TimelineEntry(SQLModel, table=True):
    """One lifecycle event that touched an order, from any service."""

    __tablename__ = "timeline"

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(index=True)
    event_id: str = Field(unique=True)
    type: str
    source: str
    occurred_at: datetime = timestamp()
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class TimelinePublic(SQLModel):
    type: str
    source: str
    occurred_at: datetime
    data: dict[str, Any]


class OrderSummary(SQLModel):
    id: str
    customer: str
    external_ref: str
    currency: str
    delivery_date: date
    total_amount: Decimal
    status: str
    created_at: datetime
    delivered_at: datetime | None
    settled_at: datetime | None
    closed_at: datetime | None
    attention: str | None = Field(description="Set when a service could not apply one of the order's events.")
    attention_at: datetime | None
    open_exceptions: int = Field(description="Exceptions of this order still open on the board.")
    worst_severity: str | None = Field(description="The worst severity among them.")


class WorkOrderPlan(SQLModel):
    """A work or purchase order of the order as production last published it: its milestones, planned,
    projected and actual."""

    work_order_id: str
    line_no: int
    quantity: int
    status: str
    milestones: list[Milestone]


class OrderPublic(OrderSummary):
    lines: list[OrderLine]
    plan: list[WorkOrderPlan] = Field(description="Production's milestone plan per work or purchase order.")
    timeline: list[TimelinePublic]


class BoardEntry(SQLModel, table=True):
    """One exception of any service, as the merchandisers see and chase it."""

    __tablename__ = "board"

    id: str = Field(primary_key=True)
    order_id: str = Field(index=True)
    customer: str | None = Field(default=None, index=True)
    service: str
    stage: str = Field(index=True)
    kind: str = Field(index=True)
    severity: str = Field(index=True)
    owner_role: str
    assignee: str | None = Field(default=None, index=True)
    subject_type: str
    subject_id: str
    title: str = Field(sa_column=Column(Text, nullable=False))
    facts: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    action: str = Field(sa_column=Column(Text, nullable=False))
    cause: str
    open: bool = Field(index=True)
    level: int = 0
    raised_at: datetime = timestamp()
    due_by: datetime = timestamp()
    updated_at: datetime = timestamp()
    acknowledged_at: datetime | None = timestamp(nullable=True)
    acknowledged_by: str | None = None
    snoozed_until: datetime | None = timestamp(nullable=True)
    resolved_at: datetime | None = timestamp(nullable=True)
    resolved_by: str | None = None
    resolution: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class BoardAction(SQLModel, table=True):
    """What a person (or the escalation) did to an exception, with who and when."""

    __tablename__ = "board_actions"

    id: int | None = Field(default=None, primary_key=True)
    exception_id: str = Field(index=True)
    action: str
    by: str
    at: datetime = timestamp()
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    owner: str | None = None
    until: datetime | None = timestamp(nullable=True)


class BoardActionPublic(SQLModel):
    action: str
    by: str
    at: datetime
    note: str
    owner: str | None
    until: datetime | None


class BoardEntryPublic(SQLModel):
    """An exception on the board."""

    id: str
    order_id: str
    customer: str | None
    service: str
    stage: str
    kind: str
    severity: str
    owner_role: str
    assignee: str | None
    subject_type: str
    subject_id: str
    title: str
    facts: dict[str, Any]
    action: str
    cause: str
    open: bool
    level: int
    raised_at: datetime
    due_by: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    snoozed_until: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


class BoardEntryDetail(BoardEntryPublic):
    history: list[BoardActionPublic]


class WebhookSubscription(SQLModel, table=True):
    """A receiver of signed webhooks: a team's chat or ticketing system for the board changes it chose, or
    (with `customer` set) a customer's system for the milestones of its orders."""

    __tablename__ = "webhook_subscriptions"

    id: str = Field(primary_key=True)
    name: str
    url: str = Field(sa_column=Column(Text, nullable=False))
    secret: str
    kinds: list[str] = Field(sa_column=Column(JSON, nullable=False))
    min_severity: str
    changes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    customer: str | None = Field(default=None, index=True)
    milestones: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = Field(default=True, index=True)
    created_at: datetime = timestamp()
    created_by: str
    deactivated_at: datetime | None = timestamp(nullable=True)
    deactivated_by: str | None = None


class WebhookDelivery(SQLModel, table=True):
    """One message to one subscription: staged with the change it tells (a board change, an order's milestone),
    then sent and retried until it lands."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("subscription_id", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: str = Field(foreign_key="webhook_subscriptions.id")
    message_id: str
    event_type: str
    subject_type: str = "exception"
    subject_id: str
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(index=True)
    attempts: int = 0
    next_attempt_at: datetime | None = timestamp(nullable=True)
    last_attempt_at: datetime | None = timestamp(nullable=True)
    last_status: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = timestamp()
    delivered_at: datetime | None = timestamp(nullable=True)

    @property
    def exception_id(self) -> str | None:
        """The exception a board delivery is about (None for a milestone notice)."""
        return self.subject_id if self.subject_type == "exception" else None


class WebhookPublic(SQLModel):
    """A webhook subscription, without its secret."""

    id: str
    name: str
    url: str
    kinds: list[str] = Field(description="The exception kinds it receives; empty: every kind.")
    min_severity: str = Field(description="It receives exceptions of this severity and worse.")
    changes: list[str] = Field(description="The board changes it receives, e.g. raised, escalated, resolved.")
    active: bool
    created_at: datetime
    created_by: str
    deactivated_at: datetime | None
    deactivated_by: str | None


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="The signing secret (Standard Webhooks `whsec_...`); shown only this once.")


class WebhookDeliveryPublic(SQLModel):
    """One delivery in a subscription's log."""

    id: int
    subscription_id: str
    message_id: str = Field(description="The `webhook-id` header: the same on every attempt of this delivery.")
    event_type: str
    subject_type: str = Field(description="What it is about: exception, or order for a milestone notice.")
    subject_id: str
    exception_id: str | None = Field(description="The exception, for a board delivery (subject_id).")
    payload: str = Field(description="The body sent, byte for byte.")
    status: str = Field(description="pending, delivered or failed.")
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status: int | None = Field(description="The HTTP status of the last attempt; none when it got no answer.")
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


# --- the tracking table and customer milestone notices ----------------------------------------

# Search on the tracking table is substring search on `search` (customer, reference, products, SKUs):
# trigrams, so a fragment of a PO number or SKU is found through the index (migration 0007).
Index(
    "ix_orders_search_trgm",
    Order.__table__.c.search,  # type: ignore[attr-defined]
    postgresql_using="gin",
    postgresql_ops={"search": "gin_trgm_ops"},
)


class TrackingRow(SQLModel):
    """One order in the tracking table: where it stands, what comes next, its dates, risk and money."""

    id: str
    customer: str
    external_ref: str
    status: str
    next_milestone: str | None = Field(description="What the order waits for next; none once it ended.")
    next_milestone_date: date | None = Field(description="When that is planned, where known.")
    promised_date: date = Field(description="The confirmed date once accepted, else the requested one.")
    projected_delivery: date = Field(
        description="The ETA when known; else the later of the promised date and planned completion plus shipping."
    )
    delivered_at: datetime | None
    late: bool = Field(description="Delivered after the promised date, or projected or still open past it.")
    worst_severity: str | None = Field(description="The worst open exception's severity.")
    open_exceptions: int
    attention: str | None
    currency: str
    total_amount: Decimal
    invoiced_amount: Decimal
    paid_amount: Decimal
    credited_amount: Decimal
    outstanding_amount: Decimal = Field(description="Invoiced, less paid and credited (not below zero).")
    next_due_date: date | None
    shipment_hold: str | None = Field(description="Why billing holds the shipments (payment due first), if it does.")
    shipments: int = Field(description="Shipments planned (partial shipments and reshipments each count).")
    shipments_delivered: int
    created_at: datetime
    updated_at: datetime


class TrackingPage(SQLModel):
    """A page of the tracking table; pass `next_cursor` back as `cursor` for the next one."""

    rows: list[TrackingRow]
    next_cursor: str | None = Field(description="None on the last page.")


class CustomerWebhookPublic(SQLModel):
    """A customer's milestone webhook, without its secret."""

    id: str
    name: str
    customer: str
    url: str
    milestones: list[str] = Field(description="The milestones of the customer's orders it receives.")
    active: bool
    created_at: datetime
    created_by: str
    deactivated_at: datetime | None
    deactivated_by: str | None


class CustomerWebhookCreated(CustomerWebhookPublic):
    secret: str = Field(description="The signing secret (Standard Webhooks `whsec_...`); shown only this once.")


# --- follow-through: the order's file, tasks, complaints and feedback, the post-order review -------


class OrderDocument(SQLModel, table=True):
    """One document in an order's file: referenced from the event that made it, or uploaded by a person."""

    __tablename__ = "order_documents"
    __table_args__ = (UniqueConstraint("order_id", "kind", "ref", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(index=True)
    kind: str = Field(index=True)
    ref: str = Field(description="What it is in its source: a work order, shipment or invoice number, a file name.")
    revision: int = 1
    name: str = Field(sa_column=Column(Text, nullable=False))
    source: str = Field(description="The service that made it, or `upload`.")
    href: str | None = Field(default=None, description="Where its source serves it (a path on that service).")
    storage_key: str | None = Field(default=None, description="Uploaded and generated files: the object store key.")
    checksum: str | None = None
    media_type: str | None = None
    size: int | None = None
    filed_at: datetime = timestamp()
    filed_by: str
    event_id: str | None = Field(default=None, description="The event that referenced it.")


class DocumentPublic(SQLModel):
    kind: str
    ref: str
    revision: int
    name: str
    source: str
    href: str | None
    checksum: str | None
    media_type: str | None
    size: int | None
    filed_at: datetime
    filed_by: str
    download: str | None = Field(description="Where to download it from this service, when it holds the file.")


class ChecklistItem(SQLModel):
    kind: str
    required_by: str = Field(description="The stage by which the order's file must hold it.")
    present: bool
    overdue: bool = Field(description="The order has reached that stage and the document is missing.")


class OrderFile(SQLModel):
    """The order's file: every document, and what its checklist still misses."""

    order_id: str
    order_type: list[str] = Field(description="e.g. export, make: what decides the checklist.")
    complete: bool
    documents: list[DocumentPublic]
    checklist: list[ChecklistItem]


class TaskTemplate(SQLModel, table=True):
    """What an order of a type needs done by another department, and when relative to its plan."""

    __tablename__ = "task_templates"

    code: str = Field(primary_key=True)
    title: str = Field(sa_column=Column(Text, nullable=False))
    department: str
    applies_to: str = Field(default="all", description="all, domestic, export, make, buy or inspection.")
    anchor: str = Field(description="accepted, a production milestone, shipment, delivery or promised.")
    offset_days: int = 0
    active: bool = True


class Task(SQLModel, table=True):
    """One task of an order: who owns it, by when, and whether it is done."""

    __tablename__ = "tasks"

    id: str = Field(primary_key=True)
    order_id: str = Field(index=True)
    template: str | None = None
    title: str = Field(sa_column=Column(Text, nullable=False))
    department: str = Field(index=True)
    owner: str | None = Field(default=None, index=True)
    anchor: str | None = None
    offset_days: int = 0
    due_date: date = Field(index=True)
    status: str = Field(default="open", index=True)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = timestamp()
    created_by: str
    done_at: datetime | None = timestamp(nullable=True)
    done_by: str | None = None


class Complaint(SQLModel, table=True):
    """A customer's complaint about an order, and how it was remedied."""

    __tablename__ = "complaints"

    id: str = Field(primary_key=True)
    order_id: str = Field(index=True)
    customer: str = Field(index=True)
    category: str
    description: str = Field(sa_column=Column(Text, nullable=False))
    line_no: int | None = None
    shipment_id: str | None = None
    invoice_number: str | None = None
    quantity: int | None = None
    evidence: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    severity: str
    owner: str
    due_at: datetime = timestamp()
    status: str = Field(default="open", index=True)
    remedy: str | None = None
    remedy_detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = timestamp()
    created_by: str
    resolved_at: datetime | None = timestamp(nullable=True)
    resolved_by: str | None = None


class Feedback(SQLModel, table=True):
    """What the customer said after delivery, per order and product."""

    __tablename__ = "feedback"

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(index=True)
    customer: str = Field(index=True)
    product: str = Field(index=True)
    rating: int
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    received_at: datetime = timestamp()
    recorded_by: str


class PostOrderReview(SQLModel, table=True):
    """The review of a closed order: plan against actual per stage, delays and causes, what went wrong."""

    __tablename__ = "post_order_reviews"

    order_id: str = Field(primary_key=True)
    customer: str = Field(index=True)
    closed_at: datetime = timestamp()
    on_time: bool
    lead_days: float
    review: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class ExportStep(SQLModel, table=True):
    """One step of an export order's formalities as its owning service last reported it."""

    __tablename__ = "export_steps"

    order_id: str = Field(primary_key=True)
    step: str = Field(primary_key=True)
    subject_id: str = Field(primary_key=True, description="The shipment, work order or payment it is about.")
    status: str
    reference: str = ""
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    blocks_shipment: bool = False
    source: str
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = timestamp()
