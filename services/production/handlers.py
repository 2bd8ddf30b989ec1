"""Production handlers: one small function per message."""

from datetime import date, timedelta
from typing import Any

from sqlmodel import col, select

from services.production import domain
from services.production.models import WorkOrder
from services.production.settings import ProductionSettings
from shared.contracts import (
    Event,
    MesEvent,
    OrderAccepted,
    OrderLine,
    ProductionCompleted,
    ProductionOrderCreated,
    ProductionOrderReady,
    ProductionStarted,
)
from shared.exceptions import raise_exception, resolve_exception
from shared.ids import new_id
from shared.unit_of_work import UnitOfWork
from shared.watcher import Rule


async def on_order_accepted(event: Event[OrderAccepted], uow: UnitOfWork) -> None:
    """Open one work order per order line, planned back from the date confirmed for the line (else the
    order's delivery date)."""
    order = event.data
    confirmed = {dates.line_no: dates.confirmed_date for dates in order.confirmed}
    for line in order.lines:
        due = confirmed.get(line.line_no, order.delivery_date)
        open_work_order(uow, event, line, quantity=line.quantity, delivery_date=order.delivery_date, planned_from=due)


def open_work_order(
    uow: UnitOfWork,
    event: Event[Any],
    line: OrderLine,
    *,
    quantity: int,
    delivery_date: date,
    planned_from: date,
    change_id: str = "",
) -> WorkOrder:
    """A new work order for (part of) a line, announced so the MES starts it and waiting reports replay."""
    work_order = WorkOrder(
        id=new_id("WO"),
        order_id=event.order_id,
        line_no=line.line_no,
        change_id=change_id,
        product=line.product,
        quantity=quantity,
        unit_price=line.unit_price,
        kind=line.make_or_buy,
        status=domain.WorkOrderStatus.PLANNED,
        delivery_date=delivery_date,
        planned_completion=domain.planned_completion(planned_from),
        correlation_id=event.correlation_id,
        created_at=uow.clock.now(),
    )
    uow.session.add(work_order)
    created = ProductionOrderCreated(
        work_order_id=work_order.id,
        line_no=line.line_no,
        product=line.product,
        quantity=quantity,
        kind=line.make_or_buy,
        planned_completion=work_order.planned_completion,
    )
    uow.emit(created, order_id=event.order_id, cause=event.envelope)
    uow.release(work_order.id)
    return work_order


async def on_mes_event(message: MesEvent, uow: UnitOfWork) -> None:
    """MES progress on a work order; the last completed work order makes the order ready."""
    found = await uow.require(WorkOrder, message.work_order_id, why=f"MES {message.type} for unknown work order")
    siblings_query = select(WorkOrder).where(WorkOrder.order_id == found.order_id).order_by(col(WorkOrder.id))
    siblings = await uow.all(siblings_query, lock=True)  # the order's work orders, one MES event at a time
    work_order = next(w for w in siblings if w.id == message.work_order_id)
    if work_order.status == domain.WorkOrderStatus.CANCELLED:
        return  # stopped by a cancellation: what the MES still reports changes nothing here
    await _reported(work_order, uow)
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
    if shortfall := domain.shortfall(work_order.quantity, message.good_quantity):
        await raise_exception(
            uow,
            kind_name="production.short_quantity",
            order_id=work_order.order_id,
            subject_type="work_order",
            subject_id=work_order.id,
            title=f"Work order {work_order.id} ({work_order.product}) completed {shortfall} short"
            f" of {work_order.quantity}",
            facts={"ordered": work_order.quantity, "good": message.good_quantity, "scrap": message.scrap_quantity},
        )
    if domain.order_ready(w.status for w in siblings):
        emit(order_ready(siblings))


def order_ready(work_orders: list[WorkOrder]) -> ProductionOrderReady:
    """The order's goods are ready for the warehouse: what its work orders (not cancelled) made."""
    done = [w for w in work_orders if w.status == domain.WorkOrderStatus.COMPLETED]
    return ProductionOrderReady(work_order_ids=[w.id for w in done], quantity=sum(w.good_quantity for w in done))


async def _reported(work_order: WorkOrder, uow: UnitOfWork) -> None:
    """Any MES report shows the work order is followed: a 'no report' exception clears."""
    work_order.last_report_at = uow.clock.now()
    await resolve_exception(
        uow,
        kind_name="production.no_mes_report",
        subject_type="work_order",
        subject_id=work_order.id,
        reason="the MES reported again",
    )


def silent_work_orders(limit: timedelta) -> Rule:
    """Watch rule: a started work order with no MES report for longer than `limit`."""

    async def silent_work_orders(uow: UnitOfWork) -> None:
        now = uow.clock.now()
        query = select(WorkOrder).where(
            WorkOrder.status == domain.WorkOrderStatus.STARTED, col(WorkOrder.last_report_at) < now - limit
        )
        for work_order in await uow.all(query, lock=True):
            assert work_order.last_report_at is not None
            await raise_exception(
                uow,
                kind_name="production.no_mes_report",
                order_id=work_order.order_id,
                subject_type="work_order",
                subject_id=work_order.id,
                title=f"No MES report on work order {work_order.id} ({work_order.product}) since"
                f" {work_order.last_report_at:%Y-%m-%d %H:%M} UTC",
                facts={"last_report_at": work_order.last_report_at.isoformat(), "product": work_order.product},
            )

    return silent_work_orders


def rules(settings: ProductionSettings) -> list[Rule]:
    """The production service's time-based exception rules."""
    return [silent_work_orders(timedelta(hours=settings.no_mes_report_hours))]
