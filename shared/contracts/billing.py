"""Billing contracts: invoices, payments, credit notes, receivables; the finance partner message."""

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from shared.contracts.base import (
    EventData,
    PartnerMessage,
)
from shared.contracts.order import InstallmentTrigger
from shared.fields import (
    BusinessDate,
    Currency,
    MessageId,
    Money,
    Name,
    PositiveMoney,
    Ref,
    Text,
    Timestamp,
    Total,
)

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
    """A payment seen by the finance system on `finance.payments`; message_id is the payment id."""

    invoice_number: Ref
    amount: PositiveMoney
    currency: Currency


BILLING_EVENTS: tuple[type[EventData], ...] = (
    InvoiceIssued,
    PaymentReceived,
    CreditNoteIssued,
    ReceivablesChanged,
    OrderSettled,
    ShipmentHeld,
    ShipmentReleased,
)
