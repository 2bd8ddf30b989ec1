"""Order rules: what can be taken in, how lifecycle events move an order's status, when it closes. Pure."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from shared.contracts import (
    Event,
    EventData,
    LineDates,
    MessageRejected,
    OrderAccepted,
    OrderClosed,
    OrderLine,
    OrderReviewRequested,
    OrderSettled,
    OrderTerms,
    ProductionCompleted,
    ProductionFeasibilityAssessed,
    ProductionOrderCreated,
    ProductionOrderReady,
    ProductionStarted,
    ShipmentDelivered,
    ShipmentDispatched,
    ShipmentPlanned,
    ShipmentTracked,
)
from shared.kinds import Severity


class OrderStatus(StrEnum):
    """The fulfilment stages, in the order an order passes them; then the two ends an order can meet
    instead (rejected in review, cancelled after acceptance), which nothing moves it out of."""

    IN_REVIEW = "in_review"
    ACCEPTED = "accepted"
    IN_PRODUCTION = "in_production"
    PRODUCED = "produced"
    SHIPPING = "shipping"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    CLOSED = "closed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


ENDED = (OrderStatus.CLOSED, OrderStatus.REJECTED, OrderStatus.CANCELLED)
STAGES = tuple(s for s in OrderStatus if s not in (OrderStatus.REJECTED, OrderStatus.CANCELLED))

STAGE_OF_EVENT: dict[type[EventData], OrderStatus] = {
    OrderReviewRequested: OrderStatus.IN_REVIEW,
    OrderAccepted: OrderStatus.ACCEPTED,
    ProductionOrderCreated: OrderStatus.IN_PRODUCTION,
    ProductionStarted: OrderStatus.IN_PRODUCTION,
    ProductionCompleted: OrderStatus.IN_PRODUCTION,
    ProductionOrderReady: OrderStatus.PRODUCED,
    ShipmentPlanned: OrderStatus.SHIPPING,
    ShipmentTracked: OrderStatus.IN_TRANSIT,
    ShipmentDispatched: OrderStatus.IN_TRANSIT,
    ShipmentDelivered: OrderStatus.DELIVERED,
    OrderClosed: OrderStatus.CLOSED,
}


def advance(status: str, data: EventData) -> OrderStatus:
    """The furthest fulfilment stage reached: events of different services may arrive in any order.

    Receivables do not move the status (a deposit is invoiced before production starts); the
    order records when it was settled separately."""
    current = OrderStatus(status)
    if current not in STAGES:  # rejected or cancelled: the events that follow (work orders stopped...) are history
        return current
    reached = STAGE_OF_EVENT.get(type(data), current)
    if isinstance(data, ShipmentDelivered) and not data.order_delivered:
        reached = OrderStatus.IN_TRANSIT  # one part delivered, others still out
    return max(current, reached, key=STAGES.index)


@dataclass(frozen=True)
class Facts:
    """What an event tells about an order besides its stage."""

    delivered_at: datetime | None = None
    settled_at: datetime | None = None


def facts(event: Event[EventData]) -> Facts:
    """The facts an event of another service brings: delivery or settlement."""
    data = event.data
    if isinstance(data, ShipmentDelivered) and data.order_delivered:
        return Facts(delivered_at=event.occurred_at)
    if isinstance(data, OrderSettled):
        return Facts(settled_at=event.occurred_at)
    return Facts()


def cleared_by(found: Facts, event_type: str) -> list[tuple[str, str]]:
    """The order's own exceptions an event clears, with why: any event ends a stall, delivery a lateness."""
    cleared = [("order.stalled", f"moved again: {event_type}")]
    if found.delivered_at:
        cleared.append(("order.past_due", "delivered"))
    return cleared


def can_close(*, delivered: bool, settled: bool, closed: bool) -> bool:
    """An order closes once the goods are delivered and every invoice is paid."""
    return delivered and settled and not closed


# Making, packing and shipping take at least this long; an order due sooner cannot be promised.
MIN_LEAD_TIME = timedelta(days=7)
# Further out than this is a typing error, not a plan.
MAX_HORIZON = timedelta(days=3 * 365)


def intake_problem(terms: OrderTerms, *, today: date) -> str | None:
    """Why an order cannot be taken in as stated, or None."""
    if terms.delivery_date < today:
        return f"delivery date {terms.delivery_date} is in the past"
    if terms.delivery_date < today + MIN_LEAD_TIME:
        return (
            f"delivery date {terms.delivery_date} leaves no time to make and ship the goods:"
            f" the earliest is {today + MIN_LEAD_TIME}"
        )
    if terms.delivery_date > today + MAX_HORIZON:
        return f"delivery date {terms.delivery_date} is more than {MAX_HORIZON.days} days ahead"
    return None


def attention(rejected: MessageRejected, source: str) -> str:
    """What the order shows when another service could not apply one of its events."""
    what = rejected.rejected_type or f"an event on {rejected.rejected_topic}"
    return f"{source} could not apply {what}: {rejected.reason}"[:1000]


def worst(severities: Iterable[str]) -> Severity | None:
    """The worst of some severities, or None when there are none."""
    return max((Severity(s) for s in severities), key=lambda s: s.rank, default=None)


MAX_ESCALATIONS = 10  # past this an exception stays at the top level; its history shows every escalation
DEFAULT_DEADLINE = timedelta(hours=4)  # for a kind this service does not know (a newer producer's)


def due_for_escalation(*, due_by: datetime, snoozed_until: datetime | None, now: datetime) -> bool:
    """An open exception past its deadline escalates, unless a person snoozed it until later."""
    return due_by < now and (snoozed_until is None or snoozed_until <= now)


# How long an order may sit in a stage without any lifecycle event before it is "stalled".
STALL_LIMITS = {
    OrderStatus.IN_REVIEW: timedelta(hours=72),
    OrderStatus.ACCEPTED: timedelta(hours=24),
    OrderStatus.IN_PRODUCTION: timedelta(hours=72),
    OrderStatus.PRODUCED: timedelta(hours=24),
    OrderStatus.SHIPPING: timedelta(hours=24),
    OrderStatus.IN_TRANSIT: timedelta(hours=72),
    OrderStatus.DELIVERED: timedelta(days=45),  # waiting for payment
}


def stalled_for(status: str, quiet: timedelta, limits: dict[OrderStatus, timedelta]) -> bool:
    """Whether an open order has been quiet in its stage for longer than the stage's limit."""
    limit = limits.get(OrderStatus(status))
    return limit is not None and quiet > limit


# --- review -----------------------------------------------------------------------------------------


class Decision(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


# Packing and transport after production completes (production plans its completion this far ahead).
SHIPPING_ALLOWANCE = timedelta(days=5)
CLARIFICATION_DEADLINE = timedelta(hours=48)
REVIEW_DEADLINE = timedelta(hours=24)
CHANGE_DEADLINE = timedelta(hours=24)


@dataclass(frozen=True)
class ProductFacts:
    """What the product master says about one product."""

    sku: str
    name: str
    unit: str
    list_price: Decimal
    currency: str
    lead_time_days: int
    price_tolerance_percent: Decimal


@dataclass(frozen=True)
class CustomerFacts:
    name: str
    credit_limit: Decimal
    currency: str


@dataclass(frozen=True)
class Question:
    """Something review will not guess: it is asked, and the order waits for the written answer."""

    code: str
    field: str
    question: str


def find_product(line: OrderLine, products: Mapping[str, ProductFacts]) -> ProductFacts | None:
    """The master entry of a line: by SKU when the customer gave one, else by product name (any case)."""
    if line.sku:
        return products.get(line.sku.lower())
    return products.get(line.product.lower())


def review_questions(terms: OrderTerms, products: Mapping[str, ProductFacts], *, today: date) -> list[Question]:
    """The automatic checks of an order against the product master and itself; each failure is a question.

    `products` is keyed by lower-case SKU and name."""
    questions = []
    if terms.export and terms.incoterm is None:
        questions.append(Question("missing_incoterm", "incoterm", "Export order without an incoterm: FOB, CIF, DAP?"))
    for i, line in enumerate(terms.lines):
        where = f"lines.{i}"
        product = find_product(line, products)
        if product is None:
            what = f"SKU {line.sku}" if line.sku else f"product {line.product!r}"
            questions.append(
                Question(
                    "unknown_product",
                    f"{where}.product",
                    f"Line {line.line_no}: {what} is not in the product master; which article is meant?",
                )
            )
            continue
        if line.unit != product.unit:
            questions.append(
                Question(
                    "unit_mismatch",
                    f"{where}.unit",
                    f"Line {line.line_no}: ordered in {line.unit}, {product.sku} is sold in {product.unit}.",
                )
            )
        if terms.currency == product.currency and product.list_price > 0:
            off = (line.unit_price - product.list_price) / product.list_price * 100
            if abs(off) > product.price_tolerance_percent:
                questions.append(
                    Question(
                        "price_off_list",
                        f"{where}.unit_price",
                        f"Line {line.line_no}: unit price {line.unit_price} is {abs(off):.1f} %"
                        f" {'below' if off < 0 else 'above'} the list price {product.list_price}"
                        f" (tolerance {product.price_tolerance_percent} %).",
                    )
                )
        wanted = line.requested_date or terms.delivery_date
        earliest = today + timedelta(days=product.lead_time_days)
        if wanted < earliest:
            questions.append(
                Question(
                    "date_before_lead_time",
                    f"{where}.requested_date",
                    f"Line {line.line_no}: wanted {wanted}, but {product.sku} needs {product.lead_time_days} days:"
                    f" {earliest} at the earliest.",
                )
            )
        if line.requested_date and line.requested_date > terms.delivery_date:
            questions.append(
                Question(
                    "inconsistent_dates",
                    f"{where}.requested_date",
                    f"Line {line.line_no}: requested {line.requested_date},"
                    f" after the order's delivery date {terms.delivery_date}.",
                )
            )
    return questions


def credit_review(
    customer: CustomerFacts | None, *, open_amount: Decimal, overdue_amount: Decimal, total: Decimal, currency: str
) -> tuple[Decision, str]:
    """Finance's automatic review: within the credit limit and nothing overdue approves; anything else waits
    for a person in finance, with the reason."""
    if customer is None:
        return Decision.PENDING, "customer not in the customer master: no credit limit to check against"
    if customer.currency != currency:
        return Decision.PENDING, f"credit limit is in {customer.currency}, the order in {currency}"
    if overdue_amount > 0:
        return Decision.PENDING, f"customer has {overdue_amount} {currency} overdue"
    if open_amount + total > customer.credit_limit:
        return (
            Decision.PENDING,
            f"open receivables {open_amount} + this order {total} exceed the credit limit"
            f" {customer.credit_limit} {currency}",
        )
    return (
        Decision.APPROVED,
        f"open receivables {open_amount} + this order {total} within {customer.credit_limit} {currency}",
    )


def production_review(
    terms: OrderTerms, feasibility: ProductionFeasibilityAssessed
) -> tuple[list[LineDates], list[Question]]:
    """Confirmed date per line from production's earliest completion; a line that cannot make its requested
    date is confirmed later, and the customer is asked to accept that date."""
    earliest = {f.line_no: f.earliest_completion for f in feasibility.lines}
    confirmed, questions = [], []
    for i, line in enumerate(terms.lines):
        wanted = line.requested_date or terms.delivery_date
        possible = earliest.get(line.line_no, wanted - SHIPPING_ALLOWANCE) + SHIPPING_ALLOWANCE
        date_ = max(wanted, possible)
        confirmed.append(LineDates(line_no=line.line_no, requested_date=wanted, confirmed_date=date_))
        if date_ > wanted:
            questions.append(
                Question(
                    "date_not_feasible",
                    f"lines.{i}.requested_date",
                    f"Line {line.line_no}: production can deliver on {date_} at the earliest, not {wanted};"
                    f" does the customer accept {date_}?",
                )
            )
    return confirmed, questions


def verdict(decisions: Iterable[str], open_questions: int) -> Decision:
    """All departments approved and every question answered: accepted; any rejection: rejected."""
    decided = [Decision(d) for d in decisions]
    if Decision.REJECTED in decided:
        return Decision.REJECTED
    if open_questions or Decision.PENDING in decided:
        return Decision.PENDING
    return Decision.APPROVED


# --- changes and cancellation -------------------------------------------------------------------------


class ChangeStatus(StrEnum):
    REQUESTED = "requested"  # waiting for the assessments
    ASSESSED = "assessed"  # every assessing service answered; waiting for the merchandiser
    ACCEPTED = "accepted"
    REJECTED = "rejected"


CHANGEABLE = (OrderStatus.ACCEPTED, OrderStatus.IN_PRODUCTION, OrderStatus.PRODUCED, OrderStatus.SHIPPING)
CANCELLABLE = (OrderStatus.ACCEPTED, OrderStatus.IN_PRODUCTION, OrderStatus.PRODUCED)


def change_problem(status: str, *, cancel: bool) -> str | None:
    """Why an order in this status cannot be changed or cancelled, or None: nothing after shipment."""
    allowed = CANCELLABLE if cancel else CHANGEABLE
    if OrderStatus(status) in allowed:
        return None
    if OrderStatus(status) == OrderStatus.IN_REVIEW:
        return "the order is still in review: amend its terms instead"
    what = "cancelled" if cancel else "changed"
    return f"an order that is {status} can no longer be {what}"


def produced_lines(progress: Iterable[tuple[int, str]]) -> set[int]:
    """Lines with a work order already completed (from (line_no, work order status) pairs)."""
    return {line_no for line_no, status in progress if status == "completed"}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What changed between two versions of an order's terms: order fields, then lines by line number."""
    changes: list[dict[str, Any]] = []
    for key in sorted(set(before) | set(after) - {"lines"}):
        if key != "lines" and before.get(key) != after.get(key):
            changes.append({"field": key, "before": before.get(key), "after": after.get(key)})
    old = {line["line_no"]: line for line in before.get("lines", [])}
    new = {line["line_no"]: line for line in after.get("lines", [])}
    for no in sorted(set(old) | set(new)):
        if no not in new:
            changes.append({"field": f"line {no}", "before": old[no], "after": None})
        elif no not in old:
            changes.append({"field": f"line {no}", "before": None, "after": new[no]})
        else:
            for key in sorted(set(old[no]) | set(new[no])):
                if old[no].get(key) != new[no].get(key):
                    changes.append({"field": f"line {no}.{key}", "before": old[no].get(key), "after": new[no].get(key)})
    return changes
