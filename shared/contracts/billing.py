"""Billing contracts: payment-term presets, invoices, payments, credit notes, reminders, receivables; the finance
partner message."""

from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field

from shared.contracts.base import (
    Contract,
    EventData,
    PartnerMessage,
)
from shared.contracts.order import NET_30_AFTER_DELIVERY, Installment, InstallmentTrigger, PaymentTerms
from shared.fields import (
    BusinessDate,
    Count,
    Currency,
    MessageId,
    Money,
    Name,
    OptionalText,
    PositiveMoney,
    Rate,
    Ref,
    Text,
    Timestamp,
    Total,
    clean_text,
)

# --- payment-term presets ----------------------------------------------------------------------

TT_30_70 = PaymentTerms(
    installments=[
        Installment(trigger=InstallmentTrigger.ACCEPTANCE, percent=Decimal(30), hold_shipment=True),
        Installment(trigger=InstallmentTrigger.BEFORE_SHIPMENT, percent=Decimal(70)),
    ]
)
"""T/T: 30 % deposit on acceptance and 70 % before shipment; the goods leave only when both are paid."""
ADVANCE_100 = PaymentTerms(
    installments=[Installment(trigger=InstallmentTrigger.ACCEPTANCE, percent=Decimal(100), hold_shipment=True)]
)
"""100 % in advance: invoiced on acceptance, nothing ships before it is paid."""
LC_AT_SIGHT = PaymentTerms(installments=[Installment(trigger=InstallmentTrigger.SHIPMENT, percent=Decimal(100))])
"""Letter of credit at sight: the bank pays on the shipping documents, so each shipment is invoiced as it leaves,
due at once; the L/C secures payment, so nothing is held (the documents themselves are presented outside Gendan)."""
PAYMENT_TERMS_PRESETS: dict[str, PaymentTerms] = {
    "tt_30_70": TT_30_70,
    "net_30_after_delivery": NET_30_AFTER_DELIVERY,
    "advance_100": ADVANCE_100,
    "lc_at_sight": LC_AT_SIGHT,
}
"""The named payment terms an order may use as they are (billing lists them at GET /payment-terms)."""
PAYMENT_TERMS_DESCRIPTIONS: dict[str, str] = {
    "tt_30_70": "T/T: 30 % deposit on acceptance, 70 % before shipment; the goods leave when both are paid.",
    "net_30_after_delivery": "100 % on delivery, net 30 days.",
    "advance_100": "100 % in advance, on acceptance; nothing ships before it is paid.",
    "lc_at_sight": "Letter of credit at sight: each shipment invoiced as it leaves, due at once; nothing held.",
}

_MaybeRef = Annotated[str, Field(max_length=64), AfterValidator(clean_text)]
"""An identifier that may be left out (empty)."""

# --- billing ----------------------------------------------------------------------------


class InvoiceIssued(EventData):
    event_type: ClassVar[str] = "billing.invoice_issued"
    invoice_id: Ref
    invoice_number: Ref
    amount: Money
    currency: Currency
    due_date: BusinessDate
    trigger: InstallmentTrigger
    customer: OptionalText = Field(default="", description="Who the invoice is addressed to.")
    shipment_id: _MaybeRef = Field(default="", description="The shipment whose part it invoices (per-shipment terms).")
    tax_rate: Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)] = Field(
        default=Decimal(0), description="VAT rate in percent, included in the amount."
    )
    tax_amount: Money = Field(default=Decimal(0), description="Of the amount, the VAT.")
    pdf_checksum: _MaybeRef = Field(default="", description="SHA-256 of its PDF (GET /invoices/{number}/pdf).")


class PaymentReceived(EventData):
    event_type: ClassVar[str] = "billing.payment_received"
    payment_id: MessageId
    invoice_number: Ref
    amount: Money
    match: Literal["exact", "partial", "over"]
    credit_kept: Money = Field(default=Decimal(0), description="Of an overpayment, what is kept as customer credit.")


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
    pdf_checksum: _MaybeRef = Field(default="", description="SHA-256 of its PDF (GET /credit-notes/{number}/pdf).")


class CreditApplied(EventData):
    """Customer credit (from an overpayment, or a payment no invoice was open for) paid part of an invoice."""

    event_type: ClassVar[str] = "billing.credit_applied"
    customer: Name
    invoice_number: Ref
    amount: Money
    currency: Currency
    balance: Total = Field(description="The customer's credit left in this currency.")


class ReminderLine(Contract):
    """One invoice a reminder asks for."""

    invoice_number: Ref
    order_id: Ref
    open_amount: Money
    due_date: BusinessDate
    level: Count = Field(description="Its escalation level: how many steps of the reminder schedule it passed.")


class ReminderSent(EventData):
    """One reminder to a customer covering all their invoices due or about to be (keyed by the order of the oldest)."""

    event_type: ClassVar[str] = "billing.reminder_sent"
    reminder_id: Ref
    customer: Name
    currency: Currency
    level: Count = Field(description="The highest escalation level among its invoices.")
    total: Total
    invoices: Annotated[list[ReminderLine], Field(min_length=1, max_length=500)]


class ReceivablesChanged(EventData):
    """A customer's open receivables after an invoice, payment or credit note (keyed by the order that moved
    them); the order service's credit review reads them."""

    event_type: ClassVar[str] = "billing.receivables_changed"
    customer: Name
    currency: Currency
    open_amount: Total = Field(description="Invoiced and not yet paid or credited.")
    overdue_amount: Total = Field(description="Of that, past its due date.")
    credit_balance: Total = Field(default=Decimal(0), description="Customer credit kept from overpayments, unused.")


class ShipmentHeld(EventData):
    """The terms want payment before the goods leave and it has not all come: the order's shipments wait."""

    event_type: ClassVar[str] = "billing.shipment_held"
    amount_due: Money = Field(description="What must still be paid before shipping.")
    currency: Currency
    invoice_numbers: Annotated[list[Ref], Field(max_length=12)] = Field(default_factory=list)
    reason: Text


class ShipmentReleased(EventData):
    """Everything due before shipping is paid: the order's shipments may leave."""

    event_type: ClassVar[str] = "billing.shipment_released"
    released_at: Timestamp
    by: Name = Field(default="system", description="`system` on payment, else the person who released it.")


class FinancePayment(PartnerMessage):
    """A payment seen by the finance system on `finance.payments`; message_id is the payment id.

    Billing matches it by `invoice_number`; else by the order named in `order_ref` or `reference` (our order id or
    the customer's own order number); else by `payer` and an open invoice of exactly this amount; else a person
    matches it."""

    invoice_number: _MaybeRef = Field(default="", description="The invoice it pays, when the payer named one.")
    amount: PositiveMoney
    currency: Currency
    payer: OptionalText = Field(default="", description="Who paid, as the bank statement names them (the customer).")
    reference: OptionalText = Field(default="", description="The payer's remittance text.")
    order_ref: _MaybeRef = Field(default="", description="The order it pays: our order id or the customer's PO.")
    value_date: BusinessDate | None = Field(default=None, description="When the money was credited to our account.")
    fx_rate: Rate | None = Field(
        default=None, description="Foreign currency: the bank's rate, home-currency units per unit received."
    )


BILLING_EVENTS: tuple[type[EventData], ...] = (
    InvoiceIssued,
    PaymentReceived,
    CreditNoteIssued,
    ReceivablesChanged,
    OrderSettled,
    ShipmentHeld,
    ShipmentReleased,
    CreditApplied,
    ReminderSent,
)
