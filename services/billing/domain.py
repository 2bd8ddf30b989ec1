"""Billing rules: installment amounts, per-shipment parts, tax, numbering, payment matching, shipment hold,
settlement, changes and cancellation, receivables, aging and dunning. Pure."""

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from shared.contracts import Installment, InstallmentTrigger, PaymentTerms

CENT = Decimal("0.01")


# ISO 4217 currencies without minor units: their amounts are whole.
WHOLE_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)


def unit(currency: str) -> Decimal:
    """The smallest amount of a currency that invoices use (cents, or whole units)."""
    return Decimal(1) if currency in WHOLE_CURRENCIES else CENT


def installment_amounts(
    terms: PaymentTerms, total: Decimal, smallest: Decimal = CENT
) -> list[tuple[Installment, Decimal]]:
    """Each installment with its amount; the last one takes the remainder, so they sum to the total.

    The others are rounded down to the currency's `smallest` amount, so the remainder is never negative."""
    amounts = [(i, (total * i.percent / 100).quantize(smallest, ROUND_DOWN)) for i in terms.installments]
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


def settled(
    terms: PaymentTerms,
    invoices: Sequence[Billed],
    *,
    cancelled: bool = False,
    complete: Collection[int] | None = None,
    delivered: bool = True,
) -> bool:
    """Nothing is owed either way any more.

    An order: delivered, every installment invoiced in full (`complete`; by default each one invoiced at all) and
    each invoice paid what it asks for after its credit notes (more is an overpayment, raised on its own). A
    cancelled order: nothing left open and nothing paid, since what was paid for goods that will not come is
    owed back."""
    if cancelled:
        return all(i.open == 0 and i.paid == 0 for i in invoices)
    invoiced = set(complete) if complete is not None else {i.installment for i in invoices}
    everything = set(range(len(terms.installments)))
    return delivered and invoiced >= everything and all(i.paid >= i.net for i in invoices)


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


# --- per-shipment parts and invoice lines ------------------------------------------------------------

PER_SHIPMENT = (InstallmentTrigger.SHIPMENT, InstallmentTrigger.DELIVERY)  # invoiced part by part


@dataclass(frozen=True)
class Priced:
    """An order line as billing prices it."""

    line_no: int
    product: str
    quantity: int
    unit_price: Decimal


def unbilled(lines: Sequence[Priced], carried: Mapping[int, int], invoiced: Mapping[int, int]) -> dict[int, int]:
    """Of what a shipment carries (line -> quantity), what this installment has not invoiced yet: an installment
    never invoices a line past its ordered quantity (a reshipment replaces goods, it does not add to them)."""
    ordered = {line.line_no: line.quantity for line in lines}
    parts = {n: min(q, ordered[n] - invoiced.get(n, 0)) for n, q in carried.items() if n in ordered}
    return {n: q for n, q in parts.items() if q > 0}


def fully_invoiced(lines: Sequence[Priced], invoiced: Mapping[int, int]) -> bool:
    """Every line's ordered quantity is invoiced."""
    return all(invoiced.get(line.line_no, 0) >= line.quantity for line in lines)


def value(lines: Sequence[Priced], quantities: Mapping[int, int]) -> Decimal:
    """What these quantities of the lines are worth at their unit prices."""
    return sum((line.unit_price * quantities.get(line.line_no, 0) for line in lines), Decimal(0))


def part_amount(
    target: Decimal, billed: Decimal, worth: Decimal, percent: Decimal, smallest: Decimal, *, last: bool
) -> Decimal:
    """The amount of one shipment's invoice of an installment of `target`, `billed` so far: its percent of what the
    shipment is worth (rounded down), never past the target; the last part takes the remainder."""
    rest = target - billed
    if last:
        return max(rest, Decimal(0))
    return max(min((worth * percent / 100).quantize(smallest, ROUND_DOWN), rest), Decimal(0))


def tax_included(amount: Decimal, rate: Decimal, smallest: Decimal = CENT) -> Decimal:
    """The VAT inside an amount that includes it at `rate` percent (prices are quoted with tax)."""
    return (amount * rate / (100 + rate)).quantize(smallest, ROUND_HALF_UP)


def invoice_lines(
    lines: Sequence[Priced], quantities: Mapping[int, int], amount: Decimal, rate: Decimal, smallest: Decimal = CENT
) -> list[dict[str, Any]]:
    """The lines of an invoice of `amount` for these quantities: each line's share of the amount by its value (the
    last takes the rounding), with the VAT it includes. JSON-ready (amounts as text)."""
    chosen = [line for line in lines if quantities.get(line.line_no, 0) > 0]
    worth = value(chosen, quantities)
    rows, left = [], amount
    for k, line in enumerate(chosen):
        line_value = line.unit_price * quantities[line.line_no]
        last = k == len(chosen) - 1
        share = left if last else (amount * line_value / worth if worth else Decimal(0)).quantize(smallest, ROUND_DOWN)
        left -= share
        rows.append(
            {
                "line_no": line.line_no,
                "product": line.product,
                "quantity": quantities[line.line_no],
                "unit_price": str(line.unit_price),
                "amount": str(share),
                "tax": str(tax_included(share, rate, smallest)),
            }
        )
    return rows


def invoiced_quantities(lines: Iterable[Sequence[Mapping[str, Any]]]) -> dict[int, int]:
    """The quantities per order line that these invoices' lines carry."""
    total: dict[int, int] = {}
    for rows in lines:
        for row in rows:
            total[int(row["line_no"])] = total.get(int(row["line_no"]), 0) + int(row["quantity"])
    return total


def document_number(scheme: str, *, order_id: str, part: str, year: int, seq: int) -> str:
    """An invoice or credit note number by the configured scheme."""
    return scheme.format(order_id=order_id, part=part, year=year, seq=seq)


def part_label(installment: int, count: int) -> str:
    """The {part} of an installment's `count`-th invoice (1-based): `2`, then `2-2`, `2-3`."""
    return str(installment + 1) if count == 1 else f"{installment + 1}-{count}"


# --- matching, customer credit and the shipment hold ------------------------------------------------


def allocate(amount: Decimal, owing: Sequence[tuple[str, Decimal]]) -> tuple[list[tuple[str, Decimal]], Decimal]:
    """A payment spread over invoices (number, open amount), in the order given; and what is left over."""
    taken, left = [], amount
    for number, open_amount in owing:
        take = min(open_amount, left)
        if take > 0:
            taken.append((number, take))
            left -= take
    return taken, left


def holding(terms: PaymentTerms) -> set[int]:
    """The installments that must be paid before the goods leave."""
    return {n for n, i in enumerate(terms.installments) if i.holds_shipment}


def due_before_shipment(terms: PaymentTerms, invoices: Sequence[Billed]) -> tuple[Decimal, list[str], bool]:
    """What must still be paid before shipping: the open amount, the invoices asking for it, and whether every
    holding installment is invoiced (one not invoiced yet holds the goods too)."""
    held = holding(terms)
    mine = [i for i in invoices if i.installment in held]
    owing = [i for i in mine if i.open > 0]
    return sum((i.open for i in owing), Decimal(0)), [i.number for i in owing], held <= {i.installment for i in mine}


def may_ship(terms: PaymentTerms, invoices: Sequence[Billed]) -> bool:
    """Every installment due before shipping is invoiced and paid."""
    amount, _, all_invoiced = due_before_shipment(terms, invoices)
    return all_invoiced and amount == 0


# --- dunning, aging, days sales outstanding ---------------------------------------------------------


def reminder_level(due: date, today: date, schedule: Sequence[int]) -> int:
    """An unpaid invoice's escalation level: how many reminder days (relative to its due date) have come."""
    days = (today - due).days
    return sum(1 for day in schedule if day <= days)


AGING_BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


def aging_bucket(due: date, today: date) -> str:
    """Which aging bucket an open invoice is in: not yet due, or by days past its due date."""
    days = (today - due).days
    if days <= 0:
        return "current"
    return "1-30" if days <= 30 else "31-60" if days <= 60 else "61-90" if days <= 90 else "90+"


def aging(invoices: Iterable[tuple[Billed, date]], today: date) -> dict[str, Decimal]:
    """Open amounts by aging bucket."""
    buckets = dict.fromkeys(AGING_BUCKETS, Decimal(0))
    for invoice, due in invoices:
        buckets[aging_bucket(due, today)] += invoice.open
    return buckets


def days_sales_outstanding(open_amount: Decimal, sales: Decimal, days: int) -> Decimal | None:
    """DSO: open receivables over the sales of the last `days`, in days; None without sales."""
    if sales <= 0:
        return None
    return (open_amount / sales * days).quantize(Decimal("0.1"), ROUND_HALF_UP)
