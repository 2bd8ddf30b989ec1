"""Order service subscriptions: ERP intake and every other service's lifecycle events."""

from services.order import handlers
from shared import topics
from shared.contracts import EVENT_TYPES, ErpOrder
from shared.subscriptions import Subscription, on_events, on_partner

FOREIGN_EVENTS = {t: handlers.on_lifecycle_event for t in EVENT_TYPES if not t.startswith("order.")}

SUBSCRIPTIONS: list[Subscription] = [
    on_partner(topics.ERP_ORDERS, ErpOrder, handlers.on_erp_order),
    on_events(topics.PRODUCTION_EVENTS, FOREIGN_EVENTS),
    on_events(topics.LOGISTICS_EVENTS, FOREIGN_EVENTS),
    on_events(topics.BILLING_EVENTS, FOREIGN_EVENTS),
]
