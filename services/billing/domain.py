"""Billing rules: installment amounts, payment matching, settlement, changes and cancellation, receivables. Pure."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from shared.contracts import Installment, InstallmentTrigger, PaymentTerms

CENT = Decimal("0.01")


def installment_amounts(terms: PaymentTerms, total: Decimal) -> list[tuple[Installment, Decimal]]:
    """Each installment with its amount; the last one takes the remainder, so they sum to the total.

    The others are rounded down, so the remainder is never negative."""
    amounts = [(i, (total * i.percent / 100).quantize(CENT, ROUND_DOWN)) for i in terms.installments]
    *head, (last, _) = amounts
    return [*head, (last, total - sum(a for _, a in head))]


def due_on(terms: PaymentTerms, total: Decimal, trigger: InstallmentTrigger) -> list[tuple[int, Installment, Decimal]]:
    """The installments (index, terms, amount) that fall due when `trigger` happens."""
    return [(n, i, a) for n, (i, a) in enumerate(installment_amounts(terms, total)) if i.trigger == trigger]


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PARTLY_PAID = "partly_paid"
    PAID = "paid"
    CREDITED = "credited"  # credit notes took all of it off: nothing was ever owed on it


UNPAID = (InvoiceStatus.OPEN, InvoiceStatus.PARTLY_PAID)  # something is still owed on these


class PaymentStatus(StrEnum):
    APPLIED = "applied"
    UNAPPLIED = "unapplied"


class PaymentProblem(StrEnum):
    """Why a payment is not applied yet."""

    UNMATCHED = "unmatched"
    CURRENCY_MISMATCH = "currency_mismatch"


class Match(StrEnum):
    EXACT = "exact"
    PARTIAL = "partial"
    OVER = "over"


def invoice_number(order_id: str, installment: int) -> str:
    """The invoice number of an installment (0-based): one per order and installment, so never issued twice."""
    return f"INV-{order_id}-{installment + 1}"


def supplementary_number(order_id: str, installment: int, sequence: int) -> str:
    """The number of the installment's `sequence`-th invoice (2 for the first supplementary one)."""
    return f"{invoice_number(order_id, installment)}-{sequence}"


def credit_note_number(order_id: str, sequence: int) -> str:
    """The number of the order's `sequence`-th credit note (1-based)."""
    return f"CN-{order_id}-{sequence}"


def due_date(issued: date, installment: Installment) -> date:
    """When an installment's invoice falls due: its net days after issue."""
    return issued + timedelta(days=installment.net_days)


def match(outstanding: Decimal, amount: Decimal) -> Match:
    """How a payment matches what is still owed on its invoice."""
    if amount == outstanding:
        return Match.EXACT
    return Match.PARTIAL if amount < outstanding else Match.OVER


def invoice_status(amount: Decimal, paid: Decimal, credited: Decimal = Decimal(0)) -> InvoiceStatus:
    """Where an invoice stands after payments and credit notes: what it owes is `amount - credited`."""
    if credited > 0 and credited >= amount:
        return InvoiceStatus.CREDITED
    if paid >= amount - credited:
        return InvoiceStatus.PAID
    return InvoiceStatus.PARTLY_PAID if paid > 0 else InvoiceStatus.OPEN


@dataclass(frozen=True)
class Billed:
    """An invoice as the rules see it: what it asked for, what credit notes took off, what was paid."""

    installment: int
    number: str
    amount: Decimal
    credited: Decimal = Decimal(0)
    paid: Decimal = Decimal(0)

    @property
    def net(self) -> Decimal:
        """What the invoice asks for after its credit notes."""
        return self.amount - self.credited

    @property
    def open(self) -> Decimal:
        """What is still to be paid on it; an overpaid invoice owes nothing (the rest is owed back)."""
        return max(self.net - self.paid, Decimal(0))

    @property
    def owed_back(self) -> Decimal:
        """What was paid beyond what it asks for."""
        return max(self.paid - self.net, Decimal(0))


def settled(terms: PaymentTerms, invoices: Sequence[Billed], *, cancelled: bool = False) -> bool:
    """Nothing is owed either way any more.

    An order: every installment invoiced and each invoice paid what it asks for after its credit notes
    (more is an overpayment, raised on its own). A cancelled order: nothing left open and nothing paid,
    since what was paid for goods that will not come is owed back."""
    if cancelled:
        return all(i.open == 0 and i.paid == 0 for i in invoices)
    invoiced = {i.installment for i in invoices}
    return invoiced == set(range(len(terms.installments))) and all(i.paid >= i.net for i in invoices)


# --- changes and cancellation ------------------------------------------------------------------------


@dataclass(frozen=True)
class Adjustment:
    """What brings an invoiced installment to its amount on a changed total."""

    supplement: Decimal = Decimal(0)  # a supplementary invoice for this much (0: none)
    credits: tuple[tuple[str, Decimal], ...] = ()  # credit notes: (invoice number, amount)


def adjust(target: Decimal, invoices: Sequence[Billed]) -> Adjustment:
    """An installment's invoices (oldest first) brought to `target`, its amount on the new total: invoice the
    difference when it went up, credit it when it went down. Afterwards what they ask for sums to `target`."""
    billed = sum((i.net for i in invoices), Decimal(0))
    if target >= billed:
        return Adjustment(supplement=target - billed)
    return Adjustment(credits=credit(invoices, billed - target))


def credit(invoices: Sequence[Billed], amount: Decimal) -> tuple[tuple[str, Decimal], ...]:
    """Credit notes taking `amount` off these invoices: their unpaid part first, then what was paid, each
    newest invoice first, so that as little money as possible has to go back to the customer."""
    taken: dict[str, Decimal] = {}
    left = amount
    for room in (lambda i: i.open, lambda i: i.net):
        for invoice in reversed(invoices):
            take = min(room(invoice) - taken.get(invoice.number, Decimal(0)), left)
            if take > 0:
                taken[invoice.number] = taken.get(invoice.number, Decimal(0)) + take
                left -= take
    return tuple(taken.items())


def credited(invoice: Billed, amount: Decimal) -> Billed:
    """The invoice after a credit note of `amount`."""
    return Billed(invoice.installment, invoice.number, invoice.amount, invoice.credited + amount, invoice.paid)


@dataclass(frozen=True)
class Cancellation:
    """What cancelling an order does to its invoices."""

    credits: tuple[tuple[str, Decimal], ...]  # the unpaid remainder of each invoice: (invoice number, amount)
    refunds: tuple[tuple[str, Decimal], ...]  # money already paid, owed back: (invoice number, amount)


def cancel(invoices: Sequence[Billed]) -> Cancellation:
    """Nothing more is asked for (each invoice's unpaid remainder is credited) and what was paid is owed back;
    the paid part is left on the invoice, for a person to refund or keep as credit with the customer."""
    return Cancellation(
        credits=tuple((i.number, i.open) for i in invoices if i.open > 0),
        refunds=tuple((i.number, i.paid) for i in invoices if i.paid > 0),
    )


# --- receivables ------------------------------------------------------------------------------------


def receivables(invoices: Iterable[tuple[Billed, date]], today: date) -> tuple[Decimal, Decimal]:
    """A customer's open and overdue amounts over its invoices (with their due dates) as of `today`.

    Each invoice counts what is still to be paid on it; an overpaid one counts nothing rather than less than
    nothing, since that money is owed back on its own and is not a payment of the customer's other invoices."""
    open_amount = overdue = Decimal(0)
    for invoice, due in invoices:
        open_amount += invoice.open
        if due < today:
            overdue += invoice.open
    return open_amount, overdue
