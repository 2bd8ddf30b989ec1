"""Billing service subscriptions."""

from services.billing import changes, handlers
from shared import topics
from shared.contracts import (
    FinancePayment,
    OrderAccepted,
    OrderCancelled,
    OrderChangeAccepted,
    OrderExceptionActed,
    OrderRemedyRequested,
    ShipmentDelivered,
    ShipmentDispatched,
    ShipmentPlanned,
)
from shared.exceptions import on_person_acted
from shared.subscriptions import Subscription, on_events, on_partner

SUBSCRIPTIONS: list[Subscription] = [
    on_events(
        topics.ORDER_EVENTS,
        {
            OrderAccepted: handlers.on_order_accepted,
            OrderChangeAccepted: changes.on_order_change_accepted,
            OrderCancelled: changes.on_order_cancelled,
            OrderExceptionActed: on_person_acted,
            OrderRemedyRequested: changes.on_remedy_requested,
        },
    ),
    on_events(
        topics.LOGISTICS_EVENTS,
        {
            ShipmentPlanned: handlers.on_shipment_planned,
            ShipmentDispatched: handlers.on_shipment_dispatched,
            ShipmentDelivered: handlers.on_shipment_delivered,
        },
    ),
    on_partner(topics.FINANCE_PAYMENTS, FinancePayment, handlers.on_finance_payment),
]
