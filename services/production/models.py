"""Production service tables."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import UniqueConstraint
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
