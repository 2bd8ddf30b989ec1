"""Order rules: what can be taken in, how lifecycle events move an order's status, when it closes. Pure."""

from datetime import date, timedelta

from shared.contracts import MessageRejected, OrderTerms

STAGES = (
    "accepted",
    "in_production",
    "produced",
    "shipping",
    "in_transit",
    "delivered",
    "closed",
)

STAGE_OF_EVENT = {
    "order.accepted": "accepted",
    "production.order_created": "in_production",
    "production.started": "in_production",
    "production.completed": "in_production",
    "production.order_ready": "produced",
    "logistics.shipment_planned": "shipping",
    "logistics.shipment_tracked": "in_transit",
    "logistics.shipment_delivered": "delivered",
    "order.closed": "closed",
}


def advance(status: str, event_type: str) -> str:
    """The furthest fulfilment stage reached: events of different services may arrive in any order.

    Receivables do not move the status (a deposit is invoiced before production starts); the
    order records when it was settled separately."""
    stage = STAGE_OF_EVENT.get(event_type, status)
    return max(status, stage, key=STAGES.index)


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
