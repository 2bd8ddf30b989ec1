"""Production handlers: one small function per message."""

from sqlmodel import col, select

from services.production import domain
from services.production.models import WorkOrder
from shared.contracts import (
    Event,
    MesEvent,
    OrderAccepted,
    ProductionCompleted,
    ProductionOrderCreated,
    ProductionOrderReady,
    ProductionStarted,
)
from shared.ids import new_id
from shared.unit_of_work import UnitOfWork


async def on_order_accepted(event: Event[OrderAccepted], uow: UnitOfWork) -> None:
    """Open one work order per order line, planned back from the delivery date."""
    order = event.data
    for line in order.lines:
        work_order = WorkOrder(
            id=new_id("WO"),
            order_id=event.order_id,
            line_no=line.line_no,
            product=line.product,
            quantity=line.quantity,
            kind=line.make_or_buy,
            status=domain.WorkOrderStatus.PLANNED,
            planned_completion=domain.planned_completion(order.delivery_date),
            correlation_id=event.correlation_id,
            created_at=uow.clock.now(),
        )
        uow.session.add(work_order)
        created = ProductionOrderCreated(
            work_order_id=work_order.id,
            line_no=line.line_no,
            product=line.product,
            quantity=line.quantity,
            kind=line.make_or_buy,
            planned_completion=work_order.planned_completion,
        )
        uow.emit(created, order_id=event.order_id, cause=event.envelope)
        uow.release(work_order.id)


async def on_mes_event(message: MesEvent, uow: UnitOfWork) -> None:
    """MES progress on a work order; the last completed work order makes the order ready."""
    found = await uow.require(WorkOrder, message.work_order_id, why=f"MES {message.type} for unknown work order")
    siblings_query = select(WorkOrder).where(WorkOrder.order_id == found.order_id).order_by(col(WorkOrder.id))
    siblings = await uow.all(siblings_query, lock=True)  # the order's work orders, one MES event at a time
    work_order = next(w for w in siblings if w.id == message.work_order_id)
    emit = uow.emitter(order_id=work_order.order_id, correlation_id=work_order.correlation_id)
    if domain.late_start(work_order.status, message.type, start_known=work_order.started_at is not None):
        work_order.started_at = message.occurred_at
        emit(ProductionStarted(work_order_id=work_order.id), occurred_at=message.occurred_at)
        return
    status = domain.next_status(work_order.status, message.type)
    if status is None:
        return
    work_order.status = status
    if status == domain.WorkOrderStatus.STARTED:
        work_order.started_at = message.occurred_at
        emit(ProductionStarted(work_order_id=work_order.id), occurred_at=message.occurred_at)
        return
    work_order.completed_at = message.occurred_at
    work_order.good_quantity, work_order.scrap_quantity = message.good_quantity, message.scrap_quantity
    completed = ProductionCompleted(
        work_order_id=work_order.id, good_quantity=message.good_quantity, scrap_quantity=message.scrap_quantity
    )
    emit(completed, occurred_at=message.occurred_at)
    if domain.order_ready(w.status for w in siblings):
        ready = ProductionOrderReady(
            work_order_ids=[w.id for w in siblings], quantity=sum(w.good_quantity for w in siblings)
        )
        emit(ready)
