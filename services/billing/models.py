"""Billing service tables."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import money, timestamp


class Account(SQLModel, table=True):
    """The receivable of one order: its total, currency and payment terms."""

    __tablename__ = "accounts"

    order_id: str = Field(primary_key=True)
    currency: str
    total_amount: Decimal = money()
    terms: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    correlation_id: str
    settled_at: datetime | None = timestamp(nullable=True)


class Invoice(SQLModel, table=True):
    """One installment of the payment terms, invoiced."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("order_id", "installment"),)

    id: str = Field(primary_key=True)
    number: str = Field(unique=True)
    order_id: str = Field(index=True)
    installment: int
    trigger: str
    amount: Decimal = money()
    paid_amount: Decimal = money()
    currency: str
    issued_at: datetime = timestamp()
    due_date: date
    status: str


class Payment(SQLModel, table=True):
    """A payment reported by finance: applied to an invoice, or kept unapplied until it can be."""

    __tablename__ = "payments"

    id: str = Field(primary_key=True)
    invoice_number: str = Field(index=True)
    order_id: str = Field(index=True)
    amount: Decimal = money()
    currency: str
    match: str | None = None
    status: str = Field(index=True)
    problem: str | None = None
    received_at: datetime = timestamp()
    recorded_at: datetime = timestamp()
    applied_at: datetime | None = timestamp(nullable=True)
    applied_by: str | None = None


class InvoicePublic(SQLModel):
    """An invoice as the API shows it."""

    id: str
    number: str
    order_id: str
    installment: int
    trigger: str
    amount: Decimal
    paid_amount: Decimal
    currency: str
    issued_at: datetime
    due_date: date
    status: str


class PaymentPublic(SQLModel):
    """A payment as the API shows it."""

    id: str
    invoice_number: str
    order_id: str
    amount: Decimal
    currency: str
    match: str | None
    status: str
    problem: str | None
    received_at: datetime
    applied_at: datetime | None
    applied_by: str | None
