"""Order rules: how lifecycle events move an order's status, and when it closes. Pure."""

STAGES = (
    "accepted",
    "in_production",
    "produced",
    "shipping",
    "in_transit",
    "delivered",
    "invoiced",
    "paid",
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
    "billing.invoice_issued": "invoiced",
    "billing.payment_received": "invoiced",
    "billing.order_settled": "paid",
    "order.closed": "closed",
}


def advance(status: str, event_type: str) -> str:
    """The furthest stage reached: events of different services may arrive in any order."""
    stage = STAGE_OF_EVENT.get(event_type, status)
    return max(status, stage, key=STAGES.index)


def can_close(*, delivered: bool, settled: bool, closed: bool) -> bool:
    """An order closes once the goods are delivered and every invoice is paid."""
    return delivered and settled and not closed
