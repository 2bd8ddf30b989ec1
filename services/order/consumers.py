"""Order service subscriptions: ERP intake and every other service's lifecycle events."""

from services.order import handlers
from shared import topics
from shared.contracts import LIFECYCLE_EVENTS, RAISED, RESOLVED, UPDATED, ErpOrder
from shared.subscriptions import Subscription, on_events, on_partner

EXCEPTION_EVENTS = {*RAISED.values(), *UPDATED.values(), *RESOLVED.values()}
FOREIGN_EVENTS = {
    e: handlers.on_exception_event if e in EXCEPTION_EVENTS else handlers.on_lifecycle_event
    for e in LIFECYCLE_EVENTS
    if not e.event_type.startswith("order.")
}

SUBSCRIPTIONS: list[Subscription] = [
    on_partner(topics.ERP_ORDERS, ErpOrder, handlers.on_erp_order),
    on_events(topics.PRODUCTION_EVENTS, FOREIGN_EVENTS),
    on_events(topics.LOGISTICS_EVENTS, FOREIGN_EVENTS),
    on_events(topics.BILLING_EVENTS, FOREIGN_EVENTS),
]
