"""Billing service subscriptions."""

from services.billing import handlers
from shared import topics
from shared.contracts import FinancePayment, OrderAccepted, OrderExceptionActed, ShipmentDelivered
from shared.exceptions import on_person_acted
from shared.subscriptions import Subscription, on_events, on_partner

SUBSCRIPTIONS: list[Subscription] = [
    on_events(topics.ORDER_EVENTS, {OrderAccepted: handlers.on_order_accepted, OrderExceptionActed: on_person_acted}),
    on_events(topics.LOGISTICS_EVENTS, {ShipmentDelivered: handlers.on_shipment_delivered}),
    on_partner(topics.FINANCE_PAYMENTS, FinancePayment, handlers.on_finance_payment),
]
