"""The logistics partners: the WMS packing finished goods, the carrier moving shipments."""

import math
from decimal import Decimal

from faststream.kafka import KafkaBroker

from deploy.simulators.base import Partner, Routes, SimulatorSettings, clock, message_id
from shared import topics
from shared.contracts import CarrierStatus, CarrierTracking, Envelope, ProductionOrderReady, ShipmentPlanned, WmsEvent


class Logistics(Partner):
    """The WMS and a carrier."""

    def __init__(self, broker: KafkaBroker, settings: SimulatorSettings) -> None:
        super().__init__(broker, settings)
        self.quantities: dict[str, int] = {}

    async def wms(self, event: Envelope) -> None:
        ready = event.payload(ProductionOrderReady)
        self.quantities[event.order_id] = ready.quantity
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
            )
            await self.send(topics.WMS_EVENTS, event.order_id, message)

    async def carrier(self, event: Envelope) -> None:
        shipment = event.payload(ShipmentPlanned)
        for status in (CarrierStatus.PICKED_UP, CarrierStatus.IN_TRANSIT, CarrierStatus.DELIVERED):
            await self.pause()
            message = CarrierTracking(
                message_id=message_id(shipment.tracking_number, status),
                occurred_at=clock.now(),
                carrier=shipment.carrier,
                tracking_number=shipment.tracking_number,
                status=status,
                location="destination" if status == CarrierStatus.DELIVERED else "hub",
                received_quantity=self.quantities.get(event.order_id) if status == CarrierStatus.DELIVERED else None,
            )
            await self.send(topics.CARRIER_TRACKING, shipment.tracking_number, message)

    def routes(self) -> Routes:
        routes = super().routes()
        routes.setdefault(topics.PRODUCTION_EVENTS, {})[ProductionOrderReady] = self.wms
        routes.setdefault(topics.LOGISTICS_EVENTS, {})[ShipmentPlanned] = self.carrier
        return routes
