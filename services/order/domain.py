"""Order rules: what can be taken in, how lifecycle events move an order's status, when it closes. Pure."""

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
    attention: str | None = None


def facts(event: Event[EventData]) -> Facts:
    """The facts an event of another service brings: delivery, settlement, or an event it could not apply."""
    data = event.data
    if isinstance(data, ShipmentDelivered):
        return Facts(delivered_at=event.occurred_at)
    if isinstance(data, OrderSettled):
        return Facts(settled_at=event.occurred_at)
    if isinstance(data, MessageRejected):
        return Facts(attention=attention(data, event.source))
    return Facts()


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
