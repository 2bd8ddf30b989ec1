"""Billing rules: installment amounts, payment matching, settlement. Pure."""

from collections.abc import Iterable
from decimal import ROUND_DOWN, Decimal

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


def match(outstanding: Decimal, amount: Decimal) -> str:
    """How a payment matches what is still owed on its invoice."""
    if amount == outstanding:
        return "exact"
    return "partial" if amount < outstanding else "over"


def invoice_status(amount: Decimal, paid: Decimal) -> str:
    """Where an invoice stands after payments."""
    if paid >= amount:
        return "paid"
    return "partly_paid" if paid > 0 else "open"


def settled(terms: PaymentTerms, invoice_states: Iterable[tuple[Decimal, Decimal]]) -> bool:
    """Every installment is invoiced and each invoice is paid in full: (amount, paid) pairs."""
    states = list(invoice_states)
    return len(states) == len(terms.installments) and all(paid >= amount for amount, paid in states)
