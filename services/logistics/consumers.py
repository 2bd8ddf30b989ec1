"""Logistics service subscriptions."""

from services.logistics import handlers
from shared import topics
from shared.contracts import CarrierTracking, OrderAccepted, OrderExceptionActed, WmsEvent
from shared.exceptions import on_person_acted
from shared.subscriptions import Subscription, on_events, on_partner

SUBSCRIPTIONS: list[Subscription] = [
    on_events(topics.ORDER_EVENTS, {OrderAccepted: handlers.on_order_accepted, OrderExceptionActed: on_person_acted}),
    on_partner(topics.WMS_EVENTS, WmsEvent, handlers.on_wms_event),
    on_partner(topics.CARRIER_TRACKING, CarrierTracking, handlers.on_carrier_tracking),
]
