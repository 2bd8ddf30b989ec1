"""Logistics service subscriptions."""

from services.logistics import changes, handlers, remedies
from shared import topics
from shared.contracts import (
    CarrierTracking,
    OrderAccepted,
    OrderCancelled,
    OrderChangeAccepted,
    OrderChangeRequested,
    OrderExceptionActed,
    OrderRemedyRequested,
    ShipmentHeld,
    ShipmentReleased,
    WmsEvent,
)
from shared.exceptions import on_person_acted
from shared.subscriptions import Subscription, on_events, on_partner

SUBSCRIPTIONS: list[Subscription] = [
    on_events(
        topics.ORDER_EVENTS,
        {
            OrderAccepted: handlers.on_order_accepted,
            OrderChangeRequested: changes.on_order_change_requested,
            OrderChangeAccepted: changes.on_order_change_accepted,
            OrderCancelled: changes.on_order_cancelled,
            OrderExceptionActed: on_person_acted,
            OrderRemedyRequested: remedies.on_remedy_requested,
        },
    ),
    on_events(
        topics.BILLING_EVENTS,
        {ShipmentHeld: handlers.on_shipment_held, ShipmentReleased: handlers.on_shipment_released},
    ),
    on_partner(topics.WMS_EVENTS, WmsEvent, handlers.on_wms_event),
    on_partner(topics.CARRIER_TRACKING, CarrierTracking, handlers.on_carrier_tracking),
]
