"""The factory's partners: the MES reporting work orders, and the suppliers of purchase orders."""

from faststream.kafka import KafkaBroker

from deploy.simulators.base import Partner, Routes, SimulatorSettings, clock, message_id
from shared import topics
from shared.contracts import (
    Envelope,
    MesEvent,
    ProductionOrderCreated,
    PurchaseOrderCreated,
    SupplierEvent,
    WorkOrderCancelled,
    WorkOrderChanged,
    WorkOrderReleased,
)

HAND_REPORTED = "manual"
"""A routing with this operation is reported by people (a test, a demo), not by the simulated MES."""


class Factory(Partner):
    """The MES: starts each released work order, reports its routing's operations and completes it; the
    suppliers: confirm, ship and deliver each purchase order, which passes incoming inspection. Approvals are
    the customer's: the MES waits for a gated work order's release and approves nothing itself."""

    def __init__(self, broker: KafkaBroker, settings: SimulatorSettings) -> None:
        super().__init__(broker, settings)
        self.work_orders: dict[str, int] = {}  # the quantity of each work order still to complete (not cancelled)
        self.waiting: dict[str, ProductionOrderCreated] = {}  # work orders waiting for the customer's approval

    async def mes(self, event: Envelope) -> None:
        wo = event.payload(ProductionOrderCreated)
        if wo.kind == "buy" or HAND_REPORTED in wo.operations:
            return  # a supplier delivers it, or people report it
        self.work_orders.setdefault(wo.work_order_id, wo.quantity)
        if not wo.released:
            self.waiting[wo.work_order_id] = wo
            return
        await self.produce(wo)

    async def mes_released(self, event: Envelope) -> None:
        """The customer approved the samples: the MES may start the work order now."""
        if wo := self.waiting.pop(event.payload(WorkOrderReleased).work_order_id, None):
            await self.produce(wo)

    async def produce(self, wo: ProductionOrderCreated) -> None:
        steps = [("started", "")]
        if self.settings.sim_mes_completes:
            steps += [("operation_reported", op) for op in wo.operations] + [("completed", "")]
        for step, operation in steps:
            await self.pause()
            if wo.work_order_id not in self.work_orders:
                return  # cancelled: a stopped work order is not finished
            quantity = self.work_orders[wo.work_order_id]
            good = 0 if step == "started" else quantity
            if step == "completed":
                self.work_orders.pop(wo.work_order_id)
            message = MesEvent(
                message_id=message_id(wo.work_order_id, step, operation),
                occurred_at=clock.now(),
                type=step,
                work_order_id=wo.work_order_id,
                operation=operation,
                good_quantity=good,
            )
            await self.send(topics.MES_EVENTS, wo.work_order_id, message)

    async def mes_changed(self, event: Envelope) -> None:
        """A change before completion: the MES makes the new quantity."""
        changed = event.payload(WorkOrderChanged)
        if changed.work_order_id in self.work_orders:
            self.work_orders[changed.work_order_id] = changed.quantity

    async def mes_cancelled(self, event: Envelope) -> None:
        """A cancellation before completion: the MES (or the supplier) stops the work order."""
        stopped = event.payload(WorkOrderCancelled).work_order_id
        self.work_orders.pop(stopped, None)
        self.waiting.pop(stopped, None)

    async def supplier(self, event: Envelope) -> None:
        """A supplier confirms the date asked, ships, delivers the quantity, and it passes incoming inspection
        (with `sim_mes_completes` off it only confirms, as the MES only starts: a test delivers by hand)."""
        po = event.payload(PurchaseOrderCreated)
        self.work_orders.setdefault(po.purchase_order_id, po.quantity)
        steps = ("confirmed", "shipped", "received", "inspected") if self.settings.sim_mes_completes else ("confirmed",)
        for step in steps:
            await self.pause()
            if po.purchase_order_id not in self.work_orders:
                return  # cancelled
            quantity = self.work_orders[po.purchase_order_id]
            message = SupplierEvent(
                message_id=message_id(po.purchase_order_id, step),
                occurred_at=clock.now(),
                type=step,
                purchase_order_id=po.purchase_order_id,
                confirmed_date=po.needed_by if step == "confirmed" else None,
                quantity=0 if step == "confirmed" else quantity,
                passed=True if step == "inspected" else None,
            )
            await self.send(topics.SUPPLIER_EVENTS, po.purchase_order_id, message)
        self.work_orders.pop(po.purchase_order_id, None)

    def routes(self) -> Routes:
        routes = super().routes()
        routes.setdefault(topics.PRODUCTION_EVENTS, {}).update(
            {
                ProductionOrderCreated: self.mes,
                WorkOrderReleased: self.mes_released,
                WorkOrderChanged: self.mes_changed,
                WorkOrderCancelled: self.mes_cancelled,
                PurchaseOrderCreated: self.supplier,
            }
        )
        return routes
