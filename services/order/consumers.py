"""Order service subscriptions: ERP intake and every other service's lifecycle events."""

from typing import Any

from services.order import changes, handlers, review
from shared import topics
from shared.contracts import (
    ASSESSED,
    LIFECYCLE_EVENTS,
    RAISED,
    RESOLVED,
    UPDATED,
    ErpOrder,
    EventData,
    ProductionFeasibilityAssessed,
    ReceivablesChanged,
)
from shared.subscriptions import Subscription, on_events, on_partner

EXCEPTION_EVENTS = {*RAISED.values(), *UPDATED.values(), *RESOLVED.values()}
# Events that mean more to the order than a timeline entry and a stage (each handler records it too).
SPECIFIC: dict[type[EventData], Any] = {
    ProductionFeasibilityAssessed: review.on_feasibility,
    **{assessed: changes.on_assessed for assessed in ASSESSED.values()},
}
FOREIGN_EVENTS = {
    e: handlers.on_exception_event if e in EXCEPTION_EVENTS else SPECIFIC.get(e, handlers.on_lifecycle_event)
    for e in LIFECYCLE_EVENTS
    if not e.event_type.startswith("order.") and e is not ReceivablesChanged
}
# A customer's receivables are not a step of the order that moved them: kept for credit review only.
BILLING_EVENTS: dict[type[EventData], Any] = {**FOREIGN_EVENTS, ReceivablesChanged: review.on_receivables}

SUBSCRIPTIONS: list[Subscription] = [
    on_partner(topics.ERP_ORDERS, ErpOrder, review.on_erp_order),
    on_events(topics.PRODUCTION_EVENTS, FOREIGN_EVENTS),
    on_events(topics.LOGISTICS_EVENTS, FOREIGN_EVENTS),
    on_events(topics.BILLING_EVENTS, BILLING_EVENTS),
]
