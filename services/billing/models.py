"""Billing service tables."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import money, timestamp


class Account(SQLModel, table=True):
    """The receivable of one order: its customer, current total, currency and payment terms.

    `order_version` is the last version applied (a change applied again is recognised by it);
    `cancelled_at` stops any further installment."""

    __tablename__ = "accounts"

    order_id: str = Field(primary_key=True)
    customer: str = Field(default="", index=True)  # empty: accepted before billing kept customers
    currency: str
    total_amount: Decimal = money()
    terms: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    correlation_id: str
    order_version: int = 1
    settled_at: datetime | None = timestamp(nullable=True)
    cancelled_at: datetime | None = timestamp(nullable=True)


class Invoice(SQLModel, table=True):
    """One installment of the payment terms, invoiced; or a supplementary invoice for what a change added to it.

    An installment has one invoice, and one more for each accepted change that raised it after it was
    invoiced (`change_id` names that change; empty for the installment's own invoice). What credit notes
    took off it is `credited_amount`: it owes `amount - credited_amount`."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("order_id", "installment", "change_id"),)

    id: str = Field(primary_key=True)
    number: str = Field(unique=True)
    order_id: str = Field(index=True)
    installment: int
    change_id: str = ""
    trigger: str
    amount: Decimal = money()
    credited_amount: Decimal = money()
    paid_amount: Decimal = money()
    currency: str
    issued_at: datetime = timestamp()
    due_date: date
    status: str


class CreditNote(SQLModel, table=True):
    """Money taken off an invoice by an accepted change or a cancellation (`change_id`), at most once each."""

    __tablename__ = "credit_notes"
    __table_args__ = (UniqueConstraint("invoice_number", "change_id"),)

    id: str = Field(primary_key=True)
    number: str = Field(unique=True)
    order_id: str = Field(index=True)
    invoice_number: str
    change_id: str
    amount: Decimal = money()
    currency: str
    reason: str
    issued_at: datetime = timestamp()


class Receivables(SQLModel, table=True):
    """A customer's open receivables in one currency as last published (billing.receivables_changed).

    Its row is locked while they are counted, so two orders of one customer moving at once publish one
    after the other, the later count including the earlier change."""

    __tablename__ = "receivables"

    customer: str = Field(primary_key=True)
    currency: str = Field(primary_key=True)
    open_amount: Decimal = Field(sa_column=Column(Numeric(22, 2), nullable=False))  # many invoices' worth
    overdue_amount: Decimal = Field(sa_column=Column(Numeric(22, 2), nullable=False))
    as_of: datetime = timestamp()


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
    change_id: str
    trigger: str
    amount: Decimal
    credited_amount: Decimal
    paid_amount: Decimal
    currency: str
    issued_at: datetime
    due_date: date
    status: str


class CreditNotePublic(SQLModel):
    """A credit note as the API shows it."""

    id: str
    number: str
    order_id: str
    invoice_number: str
    change_id: str
    amount: Decimal
    currency: str
    reason: str
    issued_at: datetime


class OrderInvoicesPublic(SQLModel):
    """An order's invoices and credit notes, and what they add up to."""

    order_id: str
    currency: str
    total_amount: Decimal = Field(description="The order's current total.")
    invoiced: Decimal = Field(description="Sum of the invoices.")
    credited: Decimal = Field(description="Sum of the credit notes.")
    paid: Decimal = Field(description="Sum of the payments applied to the invoices.")
    cancelled: bool
    invoices: list[InvoicePublic]
    credit_notes: list[CreditNotePublic]


class ReceivablesPublic(SQLModel):
    """A customer's open receivables in one currency, now."""

    customer: str
    currency: str
    open_amount: Decimal = Field(description="Invoiced and not yet paid or credited.")
    overdue_amount: Decimal = Field(description="Of that, past its due date.")
    open_invoices: int


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
