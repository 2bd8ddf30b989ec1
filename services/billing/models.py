"""Billing service tables."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, Numeric, UniqueConstraint
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
    external_ref: str = Field(default="", index=True)  # the customer's order number, for matching payments
    destination_country: str = "CN"
    lines: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    delivered_at: datetime | None = timestamp(nullable=True)  # every part delivered (order_delivered)
    hold: str = ""  # "": nothing held; "held": billing.shipment_held published; "released"
    released_at: datetime | None = timestamp(nullable=True)


class Invoice(SQLModel, table=True):
    """One installment of the payment terms, invoiced; or a supplementary invoice for what a change added to it.

    An installment has one invoice, and one more for each accepted change that raised it after it was
    invoiced (`change_id` names that change; empty for the installment's own invoice). What credit notes
    took off it is `credited_amount`: it owes `amount - credited_amount`."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("order_id", "installment", "change_id", "shipment_id"),)

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
    shipment_id: str = ""  # the shipment whose part it invoices (shipment and delivery triggers)
    lines: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tax_rate: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(5, 2), nullable=False))
    tax_amount: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(18, 2), nullable=False))
    reminder_level: int = 0  # the escalation level last reminded
    past_due: bool = False  # its passing the due date was published (billing.receivables_changed)


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
    payer: str = Field(default="", index=True)
    reference: str = ""
    order_ref: str = ""
    value_date: date | None = None
    fx_rate: Decimal | None = Field(default=None, sa_column=Column(Numeric(18, 8), nullable=True))
    home_amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(18, 2), nullable=True))
    credit_kept: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(18, 2), nullable=False))


class PaymentApplication(SQLModel, table=True):
    """Money put on an invoice: from a payment, or from the customer's credit (`payment_id` empty)."""

    __tablename__ = "payment_applications"

    id: int | None = Field(default=None, primary_key=True)
    payment_id: str = Field(index=True)
    invoice_number: str = Field(index=True)
    order_id: str
    amount: Decimal = money()
    source: str  # payment | credit
    applied_at: datetime = timestamp()
    applied_by: str


class CustomerCredit(SQLModel, table=True):
    """A customer's credit in one currency: overpayments kept, less what was applied to later invoices.

    Its row is locked while credit is kept or applied."""

    __tablename__ = "customer_credits"

    customer: str = Field(primary_key=True)
    currency: str = Field(primary_key=True)
    balance: Decimal = Field(sa_column=Column(Numeric(22, 2), nullable=False))
    updated_at: datetime = timestamp()


class CreditEntry(SQLModel, table=True):
    """One movement of a customer's credit: kept from a payment (positive) or applied to an invoice (negative)."""

    __tablename__ = "credit_entries"

    id: int | None = Field(default=None, primary_key=True)
    customer: str = Field(index=True)
    currency: str
    amount: Decimal = money()  # signed
    payment_id: str = ""
    invoice_number: str = ""
    at: datetime = timestamp()


class InvoiceSequence(SQLModel, table=True):
    """The last number given out per kind (invoice, credit note) and year: gap-free, as it moves in the
    transaction of the document it numbers."""

    __tablename__ = "invoice_sequences"

    kind: str = Field(primary_key=True)
    year: int = Field(primary_key=True)
    last: int


class InvoiceDocument(SQLModel, table=True):
    """The PDF of an invoice or credit note, as issued."""

    __tablename__ = "invoice_documents"

    number: str = Field(primary_key=True)
    kind: str  # invoice | credit_note
    order_id: str = Field(index=True)
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    checksum: str
    created_at: datetime = timestamp()


class Reminder(SQLModel, table=True):
    """One reminder to a customer in one run of the dunning schedule, covering all their due invoices."""

    __tablename__ = "payment_reminders"

    id: str = Field(primary_key=True)
    customer: str = Field(index=True)
    currency: str
    level: int
    total: Decimal = Field(sa_column=Column(Numeric(22, 2), nullable=False))
    invoices: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    sent_at: datetime = timestamp()


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
    shipment_id: str
    lines: list[dict[str, Any]]
    tax_rate: Decimal
    tax_amount: Decimal
    reminder_level: int


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
    payer: str
    reference: str
    order_ref: str
    value_date: date | None
    credit_kept: Decimal


class ReminderPublic(SQLModel):
    """A reminder as the API shows it."""

    id: str
    customer: str
    currency: str
    level: int
    total: Decimal
    invoices: list[dict[str, Any]]
    sent_at: datetime


class AgingRow(SQLModel):
    """Open receivables of one customer (or all) in one currency, by days past due."""

    customer: str
    currency: str
    current: Decimal
    days_1_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    days_90_plus: Decimal
    open_amount: Decimal
    credit_balance: Decimal = Field(description="Customer credit not yet applied.")


class AgingPublic(SQLModel):
    """Receivables aging as of a date, per customer and in total per currency, with days sales outstanding."""

    as_of: date
    customers: list[AgingRow]
    totals: list[AgingRow]
    dso_window_days: int
    dso: dict[str, Decimal | None] = Field(description="Days sales outstanding per currency (none: no sales).")


class TermsPreset(SQLModel):
    """A named payment-terms preset."""

    name: str
    description: str
    holds_shipment: bool
    terms: dict[str, Any]
