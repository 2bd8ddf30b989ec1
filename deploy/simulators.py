"""Simulated partners: an MES, a WMS, a carrier and a finance system answering Gendan's events.

They speak only over the partner topics and contracts a real partner uses, with configurable
delays. Message ids are derived from what they answer, so a replayed answer is a duplicate.
"""

import asyncio
import logging
import math
import random
from collections.abc import Callable, Coroutine, Mapping
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import Field

from shared import topics
from shared.broker import make_broker
from shared.clock import SystemClock
from shared.contracts import (
    CarrierStatus,
    CarrierTracking,
    Envelope,
    EventData,
    FinancePayment,
    InvoiceIssued,
    MesEvent,
    PartnerMessage,
    ProductionOrderCreated,
    ProductionOrderReady,
    ShipmentPlanned,
    WmsEvent,
    WorkOrderCancelled,
    WorkOrderChanged,
)
from shared.logs import setup_logging
from shared.settings import ServiceSettings
from shared.topics import physical

log = logging.getLogger("gendan.simulators")
Answer = Callable[[Envelope], Coroutine[Any, Any, None]]
clock = SystemClock()


class SimulatorSettings(ServiceSettings):
    service_name: str = "simulators"
    sim_delay_seconds: float = Field(default=0.05, ge=0, description="Pause before each partner answer.")
    sim_jitter_seconds: float = Field(default=0.05, ge=0)
    sim_mes_completes: bool = Field(default=True, description="False: the MES reports work orders started, never done.")
    sim_finance_pays: bool = Field(default=True, description="False: finance never pays (a test pays by hand).")


def message_id(*parts: object) -> str:
    """A partner's message id, stable for the same answer."""
    return str(uuid5(NAMESPACE_URL, "gendan-sim:" + ":".join(map(str, parts))))


class Partners:
    """All four simulated partners on one broker."""

    def __init__(self, broker: KafkaBroker, settings: SimulatorSettings) -> None:
        self.broker, self.settings = broker, settings
        self.quantities: dict[str, int] = {}
        self.work_orders: dict[str, int] = {}  # the quantity of each work order still to complete (not cancelled)
        self.pending: set[asyncio.Task[None]] = set()

    async def pause(self) -> None:
        s = self.settings
        await asyncio.sleep(s.sim_delay_seconds + random.uniform(0, s.sim_jitter_seconds))

    async def send(self, topic: str, key: str, message: PartnerMessage) -> None:
        await self.broker.publish(
            message.model_dump_json().encode(), physical(topic, self.settings.topic_prefix), key=key.encode()
        )

    def later(self, steps: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Answer in the background so one slow partner conversation does not hold up the others."""
        task = asyncio.create_task(steps())
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def mes(self, event: Envelope) -> None:
        wo = event.payload(ProductionOrderCreated)
        self.work_orders.setdefault(wo.work_order_id, wo.quantity)
        for step in ("started", "completed") if self.settings.sim_mes_completes else ("started",):
            await self.pause()
            if wo.work_order_id not in self.work_orders:
                return  # cancelled: a stopped work order is not finished
            good = self.work_orders.pop(wo.work_order_id) if step == "completed" else 0
            message = MesEvent(
                message_id=message_id(wo.work_order_id, step),
                occurred_at=clock.now(),
                type=step,
                work_order_id=wo.work_order_id,
                good_quantity=good,
            )
            await self.send(topics.MES_EVENTS, wo.work_order_id, message)

    async def mes_changed(self, event: Envelope) -> None:
        """A change before completion: the MES makes the new quantity."""
        changed = event.payload(WorkOrderChanged)
        if changed.work_order_id in self.work_orders:
            self.work_orders[changed.work_order_id] = changed.quantity

    async def mes_cancelled(self, event: Envelope) -> None:
        """A cancellation before completion: the MES stops the work order."""
        self.work_orders.pop(event.payload(WorkOrderCancelled).work_order_id, None)

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

    async def finance(self, event: Envelope) -> None:
        if not self.settings.sim_finance_pays:
            return
        invoice = event.payload(InvoiceIssued)
        await self.pause()
        message = FinancePayment(
            message_id=message_id(invoice.invoice_number, "paid"),
            occurred_at=clock.now(),
            invoice_number=invoice.invoice_number,
            amount=invoice.amount,
            currency=invoice.currency,
        )
        await self.send(topics.FINANCE_PAYMENTS, invoice.invoice_number, message)

    def register(self) -> None:
        """Subscribe each partner to the events it answers."""
        routes: dict[str, dict[type[EventData], Answer]] = {
            topics.PRODUCTION_EVENTS: {
                ProductionOrderCreated: self.mes,
                WorkOrderChanged: self.mes_changed,
                WorkOrderCancelled: self.mes_cancelled,
                ProductionOrderReady: self.wms,
            },
            topics.LOGISTICS_EVENTS: {ShipmentPlanned: self.carrier},
            topics.BILLING_EVENTS: {InvoiceIssued: self.finance},
        }
        for topic, answers in routes.items():
            self._subscribe(topic, {model.event_type: answer for model, answer in answers.items()})

    def _subscribe(self, topic: str, answers: Mapping[str, Answer]) -> None:
        prefix = self.settings.topic_prefix

        @self.broker.subscriber(
            physical(topic, prefix),
            group_id=f"{prefix}gendan-simulators.{topic}",
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.ACK,
        )
        async def on_event(msg: KafkaMessage) -> None:
            event = Envelope.model_validate_json(msg.body)
            if answer := answers.get(event.type):
                self.later(lambda: answer(event))


def build(settings: SimulatorSettings | None = None) -> FastStream:
    """The simulators as a FastStream app."""
    settings = settings or SimulatorSettings()
    broker = make_broker(settings)
    Partners(broker, settings).register()
    return FastStream(broker)


if __name__ == "__main__":
    setup_logging("gendan.simulators")
    asyncio.run(build().run())
