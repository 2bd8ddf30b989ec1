"""Order service tables and HTTP shapes."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.contracts import OrderLine
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


class OrderPublic(OrderSummary):
    lines: list[OrderLine]
    timeline: list[TimelinePublic]
