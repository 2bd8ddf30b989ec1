"""Billing rules: installment amounts, payment matching, settlement. Pure."""

from collections.abc import Iterable
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


def due_date(issued: date, installment: Installment) -> date:
    """When an installment's invoice falls due: its net days after issue."""
    return issued + timedelta(days=installment.net_days)


def match(outstanding: Decimal, amount: Decimal) -> Match:
    """How a payment matches what is still owed on its invoice."""
    if amount == outstanding:
        return Match.EXACT
    return Match.PARTIAL if amount < outstanding else Match.OVER


def invoice_status(amount: Decimal, paid: Decimal) -> InvoiceStatus:
    """Where an invoice stands after payments."""
    if paid >= amount:
        return InvoiceStatus.PAID
    return InvoiceStatus.PARTLY_PAID if paid > 0 else InvoiceStatus.OPEN


def settled(terms: PaymentTerms, invoice_states: Iterable[tuple[Decimal, Decimal]]) -> bool:
    """Every installment is invoiced and each invoice is paid in full: (amount, paid) pairs."""
    states = list(invoice_states)
    return len(states) == len(terms.installments) and all(paid >= amount for amount, paid in states)
