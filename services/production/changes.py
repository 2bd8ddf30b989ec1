"""Review and changes: production's feasibility of an order under review, its impact assessment of a requested
change, and work orders adjusted to an accepted change or stopped by a cancellation."""

from collections.abc import Callable
from functools import partial

from sqlalchemy import func
from sqlmodel import col, select

from services.production import domain, masters, plans, settings
from services.production.handlers import WATCHED, open_work_order, order_ready
from services.production.models import WorkOrder
from shared.contracts import (
    ASSESSED,
    Envelope,
    Event,
    EventData,
    LineFeasibility,
    OrderCancelled,
    OrderChangeAccepted,
    OrderChangeRequested,
    OrderReviewRequested,
    ProductionFeasibilityAssessed,
    WorkOrderCancelled,
    WorkOrderChanged,
)
from shared.exceptions import resolve_exceptions
from shared.fields import scrub
from shared.unit_of_work import UnitOfWork

Emit = Callable[[EventData], Envelope]


async def on_order_review_requested(
    event: Event[OrderReviewRequested], uow: UnitOfWork, *, plant: domain.Plant | None = None
) -> None:
    """Answer the review with the date each line could be complete at the earliest, given the plant's load;
    nothing is kept, the order may still be refused or amended."""
    order, plant = event.data, plant or settings.plant()
    products = await masters.find(uow, order.lines)
    demands = [
        domain.demand(line.line_no, line.quantity, line.make_or_buy, products.get(line.line_no)) for line in order.lines
    ]
    earliest = domain.earliest_completions(demands, load=await _load(uow), today=uow.clock.now().date(), plant=plant)
    lines = [
        LineFeasibility(
            line_no=line.line_no,
            earliest_completion=earliest[line.line_no],
            feasible=domain.feasible(earliest[line.line_no], line.requested_date or order.delivery_date),
        )
        for line in order.lines
    ]
    late = [str(line.line_no) for line in lines if not line.feasible]
    note = f"line {', '.join(late)} cannot be complete in time to ship by the date asked" if late else ""
    assessed = ProductionFeasibilityAssessed(order_version=order.order_version, lines=lines, note=scrub(note, 500))
    uow.emit(assessed, order_id=event.order_id, cause=event.envelope)


async def on_order_change_requested(
    event: Event[OrderChangeRequested], uow: UnitOfWork, *, plant: domain.Plant | None = None
) -> None:
    """Tell the merchandiser what a change would cost production before anyone decides; nothing changes yet.
    An order production does not know yet is answered too (nothing made, nothing stranded)."""
    change, plant = event.data, plant or settings.plant()
    products = await masters.find(uow, change.lines)
    assessment = domain.assess_change(
        await _work_orders(uow, event.order_id),
        [
            domain.demand(line.line_no, line.quantity, line.make_or_buy, products.get(line.line_no))
            for line in change.lines
        ],
        change.cancelled_lines,
        delivery_date=change.delivery_date,
        load=await _load(uow),
        today=uow.clock.now().date(),
        plant=plant,
    )
    assessed = ASSESSED["production"](
        change_id=change.change_id,
        feasible=assessment.feasible,
        new_date=assessment.new_date,
        material_bought=assessment.material_bought,
        work_in_progress=assessment.work_in_progress,
        made=assessment.made,
        note=scrub(assessment.note, 500),
    )
    uow.emit(assessed, order_id=event.order_id, cause=event.envelope)


async def on_order_change_accepted(event: Event[OrderChangeAccepted], uow: UnitOfWork) -> None:
    """Bring the order's work orders to the new version: open ones resized or replanned, lines grown beyond
    what is complete get a new work order, cancelled lines stop. Applying the same change again does nothing."""
    change = event.data
    work_orders = await _work_orders(uow, event.order_id, lock=True)
    was_ready = domain.order_ready(w.status for w in work_orders)
    emit: Emit = partial(uow.emit, order_id=event.order_id, cause=event.envelope)
    for line in change.lines:
        on_line = [w for w in work_orders if w.line_no == line.line_no]
        plan = domain.change_line(on_line, line.quantity)
        for work_order in on_line:
            if work_order.id in plan.cancel:
                await _cancel(uow, emit, work_order, change.change_id)
            elif work_order.status in domain.OPEN:
                await _adjust(uow, emit, work_order, change, quantity=plan.resize or work_order.quantity)
        if plan.add and not any(w.change_id == change.change_id for w in on_line):
            work_orders.append(
                await open_work_order(
                    uow,
                    event,
                    line,
                    quantity=plan.add,
                    delivery_date=change.delivery_date,
                    planned_from=change.delivery_date,
                    change_id=change.change_id,
                    final_inspection=any(w.final_inspection for w in work_orders),
                )
            )
    cancelled = set(change.cancelled_lines)
    for work_order in work_orders:
        if work_order.line_no in cancelled and work_order.status in domain.OPEN:
            await _cancel(uow, emit, work_order, change.change_id)
    if not was_ready and domain.order_ready(w.status for w in work_orders):
        emit(order_ready(work_orders))  # the change stopped the last work order still open


async def on_order_cancelled(event: Event[OrderCancelled], uow: UnitOfWork) -> None:
    """Stop every work order of the order not yet complete; what is complete stays, for a person to decide."""
    emit: Emit = partial(uow.emit, order_id=event.order_id, cause=event.envelope)
    for work_order in await _work_orders(uow, event.order_id, lock=True):
        if work_order.status in domain.OPEN:
            await _cancel(uow, emit, work_order, event.data.change_id)


async def _adjust(
    uow: UnitOfWork, emit: Emit, work_order: WorkOrder, change: OrderChangeAccepted, *, quantity: int
) -> None:
    """An open work order resized, replanned when the change moved the delivery date; announced if it moved,
    with its milestones planned again."""
    planned = domain.replanned(work_order.planned_completion, work_order.delivery_date, change.delivery_date)
    line = next(line for line in change.lines if line.line_no == work_order.line_no)
    work_order.unit_price, work_order.delivery_date = line.unit_price, change.delivery_date
    if (quantity, planned) == (work_order.quantity, work_order.planned_completion):
        return
    work_order.quantity, work_order.planned_completion = quantity, planned
    emit(
        WorkOrderChanged(
            work_order_id=work_order.id,
            line_no=work_order.line_no,
            quantity=quantity,
            planned_completion=planned,
            change_id=change.change_id,
        )
    )
    await plans.replan(uow, work_order)


async def _cancel(uow: UnitOfWork, emit: Emit, work_order: WorkOrder, change_id: str) -> None:
    """Stop a work order; a silence of the MES about it is no longer anyone's concern."""
    work_order.status = domain.WorkOrderStatus.CANCELLED
    cancelled = WorkOrderCancelled(
        work_order_id=work_order.id,
        line_no=work_order.line_no,
        made_quantity=work_order.good_quantity,
        change_id=change_id,
    )
    emit(cancelled)
    await resolve_exceptions(
        uow,
        kinds=("production.no_mes_report", "production.started_unreleased", *WATCHED),
        subject_type="work_order",
        subject_id=work_order.id,
        reason="work order cancelled",
    )
    await resolve_exceptions(
        uow,
        kinds=("production.material_shortage",),
        subject_type="purchase_order" if work_order.kind == "buy" else "work_order",
        subject_id=work_order.id,
        reason="work order cancelled",
    )


async def _work_orders(uow: UnitOfWork, order_id: str, *, lock: bool = False) -> list[WorkOrder]:
    """The order's work orders by line; locked, one change or MES report at a time (in the order MES reports
    lock them, by id)."""
    query = select(WorkOrder).where(WorkOrder.order_id == order_id).order_by(col(WorkOrder.id))
    return sorted(await uow.all(query, lock=lock), key=lambda w: (w.line_no, w.change_id))


async def _load(uow: UnitOfWork) -> int:
    """Pieces the plant still has to finish: every work order not complete or cancelled."""
    query = select(func.coalesce(func.sum(WorkOrder.quantity), 0)).where(col(WorkOrder.status).in_(domain.OPEN))
    return int((await uow.session.exec(query)).one())
