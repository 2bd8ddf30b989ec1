"""Production service subscriptions."""

from services.production import changes, handlers, purchasing, remedies
from shared import topics
from shared.contracts import (
    MesEvent,
    OrderAccepted,
    OrderCancelled,
    OrderChangeAccepted,
    OrderChangeRequested,
    OrderExceptionActed,
    OrderRemedyRequested,
    OrderReviewRequested,
    SupplierEvent,
)
from shared.exceptions import on_person_acted
from shared.subscriptions import Subscription, on_events, on_partner

SUBSCRIPTIONS: list[Subscription] = [
    on_events(
        topics.ORDER_EVENTS,
        {
            OrderReviewRequested: changes.on_order_review_requested,
            OrderAccepted: handlers.on_order_accepted,
            OrderChangeRequested: changes.on_order_change_requested,
            OrderChangeAccepted: changes.on_order_change_accepted,
            OrderCancelled: changes.on_order_cancelled,
            OrderExceptionActed: on_person_acted,
            OrderRemedyRequested: remedies.on_remedy_requested,
        },
    ),
    on_partner(topics.MES_EVENTS, MesEvent, handlers.on_mes_event),
    on_partner(topics.SUPPLIER_EVENTS, SupplierEvent, purchasing.on_supplier_event),
]
