"""Production service subscriptions."""

from services.production import handlers
from shared import topics
from shared.contracts import MesEvent, OrderAccepted, OrderExceptionActed
from shared.exceptions import on_person_acted
from shared.subscriptions import Subscription, on_events, on_partner

SUBSCRIPTIONS: list[Subscription] = [
    on_events(topics.ORDER_EVENTS, {OrderAccepted: handlers.on_order_accepted, OrderExceptionActed: on_person_acted}),
    on_partner(topics.MES_EVENTS, MesEvent, handlers.on_mes_event),
]
