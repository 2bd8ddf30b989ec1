"""Production service tables."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import money, timestamp


class WorkOrder(SQLModel, table=True):
    """A production order (make) or purchase order (buy) for one order line.

    A line has one work order, and one more for each accepted change that grew it after its work
    order was complete (`change_id` names that change; empty for the order as accepted)."""

    __tablename__ = "work_orders"
    __table_args__ = (UniqueConstraint("order_id", "line_no", "change_id"),)

    id: str = Field(primary_key=True)
    order_id: str = Field(index=True)
    line_no: int
    change_id: str = ""
    product: str
    quantity: int
    unit_price: Decimal = money()  # what material stranded by a change is priced from
    kind: str
    status: str
    delivery_date: date  # of the order, as planned from: a change moving it moves planned_completion
    planned_completion: date
    good_quantity: int = 0
    scrap_quantity: int = 0
    correlation_id: str
    created_at: datetime = timestamp()
    started_at: datetime | None = timestamp(nullable=True)
    completed_at: datetime | None = timestamp(nullable=True)
    last_report_at: datetime | None = timestamp(nullable=True)
    # the product master's facts, copied when the work order is made (a later master edit does not replan it)
    sku: str = ""
    supplier: str = ""  # buy: who the purchase order went to
    operations: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    daily_capacity: int = 20_000
    material_lead_days: int = 3
    sample_days: int | None = None  # None: no sample approval needed
    pre_production_days: int | None = None  # None: no pre-production approval needed
    qc_days: int = 1
    final_inspection: bool = False  # the customer inspects before the goods leave: completion waits for it
    released: bool = True  # False while an approval is awaited
    compressed: bool = False  # planned tighter than the lead times allow
    projected_completion: date | None = None  # at the observed rate, once measurable
    final_passed: bool = False  # the final (make) or incoming (buy) inspection passed or was conceded
    produced_at: datetime | None = timestamp(nullable=True)  # the MES completed it (may still await inspection)
    confirmed_date: date | None = None  # buy: the supplier's promised date
    received_quantity: int = 0  # buy: pieces received
    machine_event_at: datetime | None = timestamp(nullable=True)  # the MES time of the last machine down / up applied


class ProductRouting(SQLModel, table=True):
    """Production's product master: make or buy, lead times, the routing and the line's daily capacity."""

    __tablename__ = "product_routings"

    sku: str = Field(primary_key=True)
    name: str = Field(index=True)
    make_or_buy: str = "make"
    supplier: str = ""
    material_lead_days: int = 3
    sample_required: bool = False
    sample_days: int = 7
    pre_production_required: bool = False
    pre_production_days: int = 3
    qc_days: int = 1
    operations: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    daily_capacity: int = 20_000
    updated_at: datetime = timestamp()


class MilestoneRow(SQLModel, table=True):
    """One milestone of a work or purchase order's plan."""

    __tablename__ = "work_order_milestones"

    work_order_id: str = Field(primary_key=True)
    name: str = Field(primary_key=True)
    seq: int
    planned: date
    projected: date | None = None
    actual: date | None = None


class OperationProgress(SQLModel, table=True):
    """An operation's totals as the MES last reported them (by the MES's time, not arrival)."""

    __tablename__ = "operation_progress"

    work_order_id: str = Field(primary_key=True)
    operation: str = Field(primary_key=True)
    seq: int  # in the order first reported, when the routing does not name it
    good_quantity: int = 0
    scrap_quantity: int = 0
    reported_at: datetime = timestamp()


class Approval(SQLModel, table=True):
    """The customer's decision on a sample or pre-production sample."""

    __tablename__ = "gate_approvals"

    id: str = Field(primary_key=True)
    work_order_id: str = Field(index=True)
    gate: str
    approved: bool
    comments: str = ""
    evidence: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    by: str
    decided_at: datetime = timestamp()


class Inspection(SQLModel, table=True):
    """An inspection of a work order's goods, and what was decided when it failed."""

    __tablename__ = "quality_inspections"

    id: str = Field(primary_key=True)
    work_order_id: str = Field(index=True)
    order_id: str
    stage: str
    passed: bool
    inspected_quantity: int = 0
    defect_quantity: int = 0
    note: str = ""
    by: str
    inspected_at: datetime = timestamp()
    decision: str = ""
    decided_by: str = ""
    decided_at: datetime | None = timestamp(nullable=True)


class WorkOrderPublic(SQLModel):
    """A work order as the API shows it."""

    id: str
    order_id: str
    line_no: int
    product: str
    quantity: int
    kind: str
    status: str
    planned_completion: date
    good_quantity: int
    scrap_quantity: int
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    sku: str
    supplier: str
    operations: list[str]
    released: bool
    compressed: bool
    final_inspection: bool
    final_passed: bool
    projected_completion: date | None
    confirmed_date: date | None
    received_quantity: int
