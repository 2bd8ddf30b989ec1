"""Billing service tables."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel


def _ts(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


def _money() -> Any:
    return Field(sa_column=Column(Numeric(18, 2), nullable=False))


class Account(SQLModel, table=True):
    """The receivable of one order: its total, currency and payment terms."""

    __tablename__ = "accounts"

    order_id: str = Field(primary_key=True)
    currency: str
    total_amount: Decimal = _money()
    terms: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    correlation_id: str
    settled_at: datetime | None = _ts(nullable=True)


class Invoice(SQLModel, table=True):
    """One installment of the payment terms, invoiced."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("order_id", "installment"),)

    id: str = Field(primary_key=True)
    number: str = Field(unique=True)
    order_id: str = Field(index=True)
    installment: int
    trigger: str
    amount: Decimal = _money()
    paid_amount: Decimal = _money()
    currency: str
    issued_at: datetime = _ts()
    due_date: date
    status: str


class Payment(SQLModel, table=True):
    """A payment reported by finance, matched to an invoice."""

    __tablename__ = "payments"

    id: str = Field(primary_key=True)
    invoice_number: str = Field(index=True)
    order_id: str = Field(index=True)
    amount: Decimal = _money()
    currency: str
    match: str
    received_at: datetime = _ts()
