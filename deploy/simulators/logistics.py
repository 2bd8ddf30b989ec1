"""The logistics partners: the WMS packing finished goods, the carriers moving shipments leg by leg.

The carriers answer only shipments released to them (`logistics.shipment_dispatched`): a shipment held for
payment waits until billing releases it. An order whose requirements notes say `[sim:manual]` is left to
whoever drives it by hand (an end-to-end test packing in parts, scanning through the signed webhook)."""

import math
from decimal import Decimal

from faststream.kafka import KafkaBroker

from deploy.simulators.base import Partner, Routes, SimulatorSettings, clock, message_id
from shared import topics
from shared.contracts import (
    CarrierStatus,
    CarrierTracking,
    Envelope,
    OrderAccepted,
    ProductionOrderReady,
    ShipmentDispatched,
    ShipmentPlanned,
    WmsEvent,
)

MANUAL = "[sim:manual]"
# The carriers' own codes for each step, as their data files map them (deploy/seed/logistics/carriers/).
CODES = {
    "sf-express": {CarrierStatus.PICKED_UP: "50", CarrierStatus.IN_TRANSIT: "30", CarrierStatus.DELIVERED: "80"},
    "dhl-express": {CarrierStatus.PICKED_UP: "PU", CarrierStatus.IN_TRANSIT: "DF", CarrierStatus.DELIVERED: "OK"},
    "cosco": {CarrierStatus.PICKED_UP: "GTIN", CarrierStatus.IN_TRANSIT: "DEPA", CarrierStatus.DELIVERED: "DROP"},
}


class Logistics(Partner):
    """The WMS and the carriers."""

    def __init__(self, broker: KafkaBroker, settings: SimulatorSettings) -> None:
        super().__init__(broker, settings)
        self.manual: set[str] = set()
        self.planned: dict[str, ShipmentPlanned] = {}

    async def accepted(self, event: Envelope) -> None:
        if MANUAL in event.payload(OrderAccepted).requirements.notes:
            self.manual.add(event.order_id)

    async def wms(self, event: Envelope) -> None:
        if event.order_id in self.manual:
            return
        ready = event.payload(ProductionOrderReady)
        packages = max(1, math.ceil(ready.quantity / 100))
        for step in ("received", "packed"):
            await self.pause()
            message = WmsEvent(
                message_id=message_id(event.order_id, step),
                occurred_at=clock.now(),
                type=step,
                order_id=event.order_id,
                quantity=ready.quantity,
                packages=packages if step == "packed" else 0,
                weight_kg=Decimal(ready.quantity) / 10 if step == "packed" else Decimal(0),
                net_weight_kg=(Decimal(ready.quantity) / 12).quantize(Decimal("0.001")) if step == "packed" else None,
            )
            await self.send(topics.WMS_EVENTS, event.order_id, message)

    async def plan(self, event: Envelope) -> None:
        shipment = event.payload(ShipmentPlanned)
        self.planned[shipment.shipment_id] = shipment

    async def carrier(self, event: Envelope) -> None:
        """Each leg picked up, in transit and delivered by its own carrier; the last delivery counts every piece."""
        dispatched = event.payload(ShipmentDispatched)
        shipment = self.planned.pop(dispatched.shipment_id, None)
        if shipment is None or event.order_id in self.manual:
            return
        legs = [(leg.carrier, leg.tracking_number) for leg in shipment.legs] or [
            (shipment.carrier, shipment.tracking_number)
        ]
        pieces = sum(line.quantity for line in dispatched.lines)
        for n, (carrier, tracking) in enumerate(legs, 1):
            for status in (CarrierStatus.PICKED_UP, CarrierStatus.IN_TRANSIT, CarrierStatus.DELIVERED):
                await self.pause()
                last = n == len(legs) and status == CarrierStatus.DELIVERED
                message = CarrierTracking(
                    message_id=message_id(tracking, status),
                    occurred_at=clock.now(),
                    carrier=carrier,
                    tracking_number=tracking,
                    status=status,
                    carrier_code=CODES.get(carrier, {}).get(status, ""),
                    location="destination" if status == CarrierStatus.DELIVERED else "hub",
                    received_quantity=pieces if last else None,
                    signed_by="receiving dock" if last else "",
                )
                await self.send(topics.CARRIER_TRACKING, tracking, message)

    def routes(self) -> Routes:
        routes = super().routes()
        routes.setdefault(topics.ORDER_EVENTS, {})[OrderAccepted] = self.accepted
        routes.setdefault(topics.PRODUCTION_EVENTS, {})[ProductionOrderReady] = self.wms
        logistics = routes.setdefault(topics.LOGISTICS_EVENTS, {})
        logistics[ShipmentPlanned] = self.plan
        logistics[ShipmentDispatched] = self.carrier
        return routes
