"""Order rules: what can be taken in, how lifecycle events move an order's status, when it closes. Pure."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from shared.contracts import (
    Event,
    EventData,
    MessageRejected,
    OrderAccepted,
    OrderClosed,
    OrderSettled,
    OrderTerms,
    ProductionCompleted,
    ProductionOrderCreated,
    ProductionOrderReady,
    ProductionStarted,
    ShipmentDelivered,
    ShipmentPlanned,
    ShipmentTracked,
)
from shared.kinds import Severity


class OrderStatus(StrEnum):
    """The fulfilment stages, in the order an order passes them."""

    ACCEPTED = "accepted"
    IN_PRODUCTION = "in_production"
    PRODUCED = "produced"
    SHIPPING = "shipping"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    CLOSED = "closed"


STAGES = tuple(OrderStatus)

STAGE_OF_EVENT: dict[type[EventData], OrderStatus] = {
    OrderAccepted: OrderStatus.ACCEPTED,
    ProductionOrderCreated: OrderStatus.IN_PRODUCTION,
    ProductionStarted: OrderStatus.IN_PRODUCTION,
    ProductionCompleted: OrderStatus.IN_PRODUCTION,
    ProductionOrderReady: OrderStatus.PRODUCED,
    ShipmentPlanned: OrderStatus.SHIPPING,
    ShipmentTracked: OrderStatus.IN_TRANSIT,
    ShipmentDelivered: OrderStatus.DELIVERED,
    OrderClosed: OrderStatus.CLOSED,
}


def advance(status: str, data: EventData) -> OrderStatus:
    """The furthest fulfilment stage reached: events of different services may arrive in any order.

    Receivables do not move the status (a deposit is invoiced before production starts); the
    order records when it was settled separately."""
    current = OrderStatus(status)
    return max(current, STAGE_OF_EVENT.get(type(data), current), key=STAGES.index)


@dataclass(frozen=True)
class Facts:
    """What an event tells about an order besides its stage."""

    delivered_at: datetime | None = None
    settled_at: datetime | None = None


def facts(event: Event[EventData]) -> Facts:
    """The facts an event of another service brings: delivery or settlement."""
    data = event.data
    if isinstance(data, ShipmentDelivered):
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
