"""The factory's partners: the MES reporting work orders."""

from faststream.kafka import KafkaBroker

from deploy.simulators.base import Partner, Routes, SimulatorSettings, clock, message_id
from shared import topics
from shared.contracts import (
    Envelope,
    MesEvent,
    ProductionOrderCreated,
    WorkOrderCancelled,
    WorkOrderChanged,
)


class Factory(Partner):
    """The MES: starts and completes each work order."""

    def __init__(self, broker: KafkaBroker, settings: SimulatorSettings) -> None:
        super().__init__(broker, settings)
        self.work_orders: dict[str, int] = {}  # the quantity of each work order still to complete (not cancelled)

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

    def routes(self) -> Routes:
        routes = super().routes()
        routes.setdefault(topics.PRODUCTION_EVENTS, {}).update(
            {
                ProductionOrderCreated: self.mes,
                WorkOrderChanged: self.mes_changed,
                WorkOrderCancelled: self.mes_cancelled,
            }
        )
        return routes
