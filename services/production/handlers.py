"""Production handlers: one small function per message."""

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from services.production import domain, masters, plans, schedule, settings
from services.production.models import MilestoneRow, OperationProgress, ProductRouting, WorkOrder
from services.production.settings import ProductionSettings
from shared.contracts import (
    REMEDIED,
    Event,
    MesEvent,
    MilestoneName,
    OrderAccepted,
    OrderLine,
    ProductionCompleted,
    ProductionOrderCreated,
    ProductionOrderReady,
    ProductionStarted,
    ProgressReported,
    PurchaseOrderCreated,
    Remedy,
)
from shared.exceptions import raise_exception, resolve_exception, resolve_exceptions
from shared.ids import new_id
from shared.kinds import Cause
from shared.unit_of_work import Emitter, UnitOfWork
from shared.watcher import Rule

M = MilestoneName
WATCHED = ("production.delay_risk", "production.machine_down", "production.scrap_high")
"""Conditions of a running work order that are over once it is complete or stopped."""


async def on_order_accepted(event: Event[OrderAccepted], uow: UnitOfWork) -> None:
    """Open one work order per line made in-house and one purchase order per line bought, each with its
    milestone plan back-scheduled from the line's confirmed date (else its requested date, else the order's)."""
    order = event.data
    confirmed = {dates.line_no: dates.confirmed_date for dates in order.confirmed}
    products = await masters.find(uow, order.lines)
    for line in order.lines:
        due = confirmed.get(line.line_no) or line.requested_date or order.delivery_date
        await open_work_order(
            uow,
            event,
            line,
            quantity=line.quantity,
            delivery_date=order.delivery_date,
            planned_from=due,
            final_inspection=order.requirements.inspection == "customer",
            product=products.get(line.line_no),
        )


async def open_work_order(
    uow: UnitOfWork,
    event: Event[Any],
    line: OrderLine,
    *,
    quantity: int,
    delivery_date: date,
    planned_from: date,
    change_id: str = "",
    final_inspection: bool = False,
    product: ProductRouting | None = None,
) -> WorkOrder:
    """A new work (or purchase) order for (part of) a line, announced so the MES or the supplier starts it and
    waiting reports replay; gated by the customer's approvals when its product needs them."""
    if product is None:
        product = (await masters.find(uow, [line])).get(line.line_no)
    kind = domain.make_or_buy(line.make_or_buy, product)
    plant = settings.plant()
    made = kind == "make"
    work_order = WorkOrder(
        id=new_id("WO" if made else "PO"),
        order_id=event.order_id,
        line_no=line.line_no,
        change_id=change_id,
        product=line.product,
        quantity=quantity,
        unit_price=line.unit_price,
        kind=kind,
        status=domain.WorkOrderStatus.PLANNED,
        delivery_date=delivery_date,
        planned_completion=domain.planned_completion(planned_from),
        correlation_id=event.correlation_id,
        created_at=uow.clock.now(),
        sku=line.sku or (product.sku if product else ""),
        supplier=(product.supplier if product else "") or ("" if made else "supplier of record"),
        operations=list(product.operations) if product and made else [],
        daily_capacity=product.daily_capacity if product else plant.daily_capacity,
        material_lead_days=product.material_lead_days if product else plant.lead(kind).days,
        sample_days=product.sample_days if product and made and product.sample_required else None,
        pre_production_days=product.pre_production_days
        if product and made and product.pre_production_required
        else None,
        qc_days=product.qc_days if product else 1,
        final_inspection=final_inspection and made,
    )
    work_order.released = work_order.sample_days is None and work_order.pre_production_days is None
    uow.session.add(work_order)
    rows = plans.make(uow, work_order)
    created = ProductionOrderCreated(
        work_order_id=work_order.id,
        line_no=line.line_no,
        product=line.product,
        quantity=quantity,
        kind=kind,
        planned_completion=work_order.planned_completion,
        operations=work_order.operations,
        released=work_order.released,
    )
    uow.emit(created, order_id=event.order_id, cause=event.envelope)
    if not made:
        needed = schedule.find(rows, M.MATERIALS_READY)
        purchase = PurchaseOrderCreated(
            purchase_order_id=work_order.id,
            line_no=line.line_no,
            product=line.product,
            sku=work_order.sku or None,
            quantity=quantity,
            supplier=work_order.supplier,
            needed_by=needed.planned if needed else work_order.planned_completion,
        )
        uow.emit(purchase, order_id=event.order_id, cause=event.envelope)
    uow.release(work_order.id)
    return work_order


# --- MES --------------------------------------------------------------------------------


async def on_mes_event(message: MesEvent, uow: UnitOfWork) -> None:
    """MES progress on a work order, applied by the MES's time: never backwards; the last completed work order
    makes the order ready."""
    found = await uow.require(WorkOrder, message.work_order_id, why=f"MES {message.type} for unknown work order")
    siblings = await order_work_orders(uow, found.order_id)  # locked: one MES event of an order at a time
    work_order = next(w for w in siblings if w.id == message.work_order_id)
    if work_order.status == domain.WorkOrderStatus.CANCELLED or work_order.kind == "buy":
        return  # stopped by a cancellation, or bought (its supplier reports it): the MES changes nothing here
    await _reported(work_order, uow)
    rows = await plans.load(uow, work_order.id)
    if message.type == "started":
        await _started(uow, work_order, rows, message.occurred_at)
    elif message.type == "operation_reported":
        await _operation(uow, work_order, rows, message, siblings)
    elif message.type in ("machine_down", "machine_up"):
        await _machine(uow, work_order, message)
    else:
        await _produced(uow, work_order, rows, siblings, message)


async def _started(uow: UnitOfWork, work_order: WorkOrder, rows: list[MilestoneRow], at: datetime) -> None:
    """Started: once; a start reported later than it happened (after an operation, even after completion) still
    records when it began."""
    emit = emitter(uow, work_order)
    if not work_order.released:
        await raise_exception(
            uow,
            kind_name="production.started_unreleased",
            order_id=work_order.order_id,
            subject_type="work_order",
            subject_id=work_order.id,
            title=f"Work order {work_order.id} ({work_order.product}) started before the customer's approval",
            facts={"stage": "sample approval", "product": work_order.product},
        )
    if work_order.started_at is None:
        work_order.started_at = at
        if work_order.status == domain.WorkOrderStatus.PLANNED:
            work_order.status = domain.WorkOrderStatus.STARTED
        emit(ProductionStarted(work_order_id=work_order.id), occurred_at=at)
    elif at < work_order.started_at:
        work_order.started_at = at  # an operation report came first: the start is earlier than we thought
    for name in (M.MATERIALS_READY, M.PRODUCTION_STARTED):
        if schedule.reach(rows, name, at.date()):
            plans.changed(uow, work_order, rows)
    await resolve_exception(
        uow,
        kind_name="production.material_shortage",
        subject_type="work_order",
        subject_id=work_order.id,
        reason="production started: the material is there",
    )


async def _operation(
    uow: UnitOfWork, work_order: WorkOrder, rows: list[MilestoneRow], message: MesEvent, siblings: list[WorkOrder]
) -> None:
    """An operation's totals so far: a report older than the last applied one changes nothing; the finished
    pieces roll up to the line; scrap and the projected completion are checked."""
    operation = message.operation or "production"
    query = select(OperationProgress).where(OperationProgress.work_order_id == work_order.id)
    progress = {p.operation: p for p in await uow.all(query.order_by(col(OperationProgress.seq)))}
    known = progress.get(operation)
    if known is not None and message.occurred_at <= known.reported_at:
        return  # out of order: a newer report of this operation was applied already
    if known is None:
        known = OperationProgress(work_order_id=work_order.id, operation=operation, seq=len(progress))
        uow.session.add(known)
        progress[operation] = known
    known.good_quantity, known.scrap_quantity = message.good_quantity, message.scrap_quantity
    known.reported_at = message.occurred_at
    if work_order.status == domain.WorkOrderStatus.PLANNED:
        await _started(uow, work_order, rows, message.occurred_at)  # reported work has started, whatever came first
    if work_order.status == domain.WorkOrderStatus.STARTED:
        counts = [(p.operation, p.good_quantity) for p in sorted(progress.values(), key=lambda p: p.seq)]
        work_order.good_quantity = domain.finished(counts, work_order.operations)
        work_order.scrap_quantity = sum(p.scrap_quantity for p in progress.values())
    live = [w for w in siblings if w.line_no == work_order.line_no and w.status != domain.WorkOrderStatus.CANCELLED]
    emitter(uow, work_order)(
        ProgressReported(
            work_order_id=work_order.id,
            line_no=work_order.line_no,
            operation=operation[:500],
            good_quantity=known.good_quantity,
            scrap_quantity=known.scrap_quantity,
            line_good_quantity=sum(w.good_quantity for w in live),
            line_scrap_quantity=sum(w.scrap_quantity for w in live),
        ),
        occurred_at=message.occurred_at,
    )
    if work_order.status == domain.WorkOrderStatus.STARTED:  # a report after production is only recorded
        await _check_scrap(uow, work_order, known)
        await check_rate(uow, work_order, rows, list(progress.values()))


async def _check_scrap(uow: UnitOfWork, work_order: WorkOrder, op: OperationProgress) -> None:
    """An operation scrapping more than the threshold is an exception until its share falls back."""
    share, limit = schedule.scrap_share(op.good_quantity, op.scrap_quantity), settings.policy().scrap_threshold
    subject = f"{work_order.id}:{op.operation}"[:100]
    if share <= limit:
        await resolve_exception(
            uow, kind_name="production.scrap_high", subject_type="work_order", subject_id=subject, reason="scrap fell"
        )
        return
    await raise_exception(
        uow,
        kind_name="production.scrap_high",
        order_id=work_order.order_id,
        subject_type="work_order",
        subject_id=subject,
        title=f"{op.operation} on work order {work_order.id} ({work_order.product}) scraps {share:.0%}"
        f" of its pieces (limit {limit:.0%})",
        facts={"stage": op.operation, "good": op.good_quantity, "scrap": op.scrap_quantity, "share": f"{share:.3f}"},
    )


async def _machine(uow: UnitOfWork, work_order: WorkOrder, message: MesEvent) -> None:
    """A machine or line down raises an exception until the MES says it is up (by the MES's time)."""
    if work_order.machine_event_at is not None and message.occurred_at <= work_order.machine_event_at:
        return  # older than the machine state already applied
    if work_order.produced_at is not None and message.type == "machine_down":
        return  # made already: a breakdown now holds up other work, not this
    work_order.machine_event_at = message.occurred_at
    if message.type == "machine_up":
        await resolve_exception(
            uow,
            kind_name="production.machine_down",
            subject_type="work_order",
            subject_id=work_order.id,
            reason=f"{message.operation or 'the machine'} is up again",
        )
        return
    machine = message.operation or "a machine"
    await raise_exception(
        uow,
        kind_name="production.machine_down",
        order_id=work_order.order_id,
        subject_type="work_order",
        subject_id=work_order.id,
        title=f"{machine} is down on work order {work_order.id} ({work_order.product})",
        facts={"stage": machine, "reason": message.reason, "since": message.occurred_at.isoformat()},
    )


async def _produced(
    uow: UnitOfWork, work_order: WorkOrder, rows: list[MilestoneRow], siblings: list[WorkOrder], message: MesEvent
) -> None:
    """The MES completed the work order: complete, or waiting for the customer's final inspection."""
    if work_order.status not in domain.OPEN or work_order.produced_at is not None:
        return  # completed already: a second completion changes nothing
    # completed reached us before started: the start is not known yet, but production did start
    if work_order.started_at is None and schedule.reach(rows, M.PRODUCTION_STARTED, message.occurred_at.date()):
        plans.changed(uow, work_order, rows)
    work_order.produced_at = message.occurred_at
    work_order.good_quantity, work_order.scrap_quantity = message.good_quantity, message.scrap_quantity
    await resolve_exceptions(
        uow, kinds=WATCHED, subject_type="work_order", subject_id=work_order.id, reason="production complete"
    )
    status = domain.after_production(work_order.final_inspection, work_order.final_passed)
    if status == domain.WorkOrderStatus.AWAITING_QC:
        work_order.status = status
        if schedule.project(rows, M.FINAL_QC_PASSED, None):
            plans.changed(uow, work_order, rows)
        return
    await complete(uow, work_order, rows, siblings, message.occurred_at)


async def complete(
    uow: UnitOfWork, work_order: WorkOrder, rows: list[MilestoneRow], siblings: list[WorkOrder], at: datetime
) -> None:
    """The work or purchase order is complete (made or received, and inspected when it had to be): announced,
    measured against what was ordered, and the order ready when it was the last."""
    work_order.status, work_order.completed_at = domain.WorkOrderStatus.COMPLETED, at
    emit = emitter(uow, work_order)
    completed = ProductionCompleted(
        work_order_id=work_order.id,
        good_quantity=work_order.good_quantity,
        scrap_quantity=work_order.scrap_quantity,
    )
    emit(completed, occurred_at=at)
    for name in (M.MATERIALS_READY, M.FINAL_QC_PASSED, M.COMPLETED):
        schedule.reach(rows, name, at.date())
    plans.changed(uow, work_order, rows)
    if shortfall := domain.shortfall(work_order.quantity, work_order.good_quantity):
        await raise_exception(
            uow,
            kind_name="production.short_quantity",
            order_id=work_order.order_id,
            subject_type="work_order",
            subject_id=work_order.id,
            title=f"Work order {work_order.id} ({work_order.product}) completed {shortfall} short"
            f" of {work_order.quantity}",
            facts={
                "ordered": work_order.quantity,
                "good": work_order.good_quantity,
                "scrap": work_order.scrap_quantity,
            },
        )
    if domain.is_rework(work_order.change_id):  # a complaint's rework: answered; the order is not readied again
        emit(REMEDIED["production"](complaint_id=work_order.change_id, remedy=Remedy.REWORK, reference=work_order.id))
    else:
        ordered = [w for w in siblings if not domain.is_rework(w.change_id)]
        if domain.order_ready(w.status for w in ordered):
            emit(order_ready(ordered))


def order_ready(work_orders: list[WorkOrder]) -> ProductionOrderReady:
    """The order's goods are ready for the warehouse: what its work orders (not cancelled) made."""
    done = [w for w in work_orders if w.status == domain.WorkOrderStatus.COMPLETED]
    return ProductionOrderReady(work_order_ids=[w.id for w in done], quantity=sum(w.good_quantity for w in done))


async def order_work_orders(uow: UnitOfWork, order_id: str) -> list[WorkOrder]:
    """Every work order of an order, locked (in id order, as every writer locks them)."""
    query = select(WorkOrder).where(WorkOrder.order_id == order_id).order_by(col(WorkOrder.id))
    return await uow.all(query, lock=True)


def emitter(uow: UnitOfWork, work_order: WorkOrder) -> Emitter:
    return uow.emitter(order_id=work_order.order_id, correlation_id=work_order.correlation_id)


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


# --- early warning ----------------------------------------------------------------------


async def check_rate(
    uow: UnitOfWork, work_order: WorkOrder, rows: list[MilestoneRow], progress: list[OperationProgress]
) -> None:
    """Project completion from each operation's observed rate; past the plan plus the tolerance is a delay
    risk, attributed to the slowest operation, resolved once the projection is back within it."""
    policy = settings.policy()
    assert work_order.started_at is not None
    projection = schedule.projected_completion(
        work_order.quantity,
        [schedule.Observed(p.operation, p.good_quantity) for p in progress],
        started_at=work_order.started_at,
        now=uow.clock.now(),
        min_hours=policy.risk_min_hours,
    )
    work_order.projected_completion = projection.completion if projection else None
    if schedule.project(rows, M.FINAL_QC_PASSED, work_order.projected_completion):
        plans.changed(uow, work_order, rows)
    if projection is None or not schedule.at_risk(
        projection.completion, work_order.planned_completion, policy.delay_tolerance_days
    ):
        await resolve_exception(
            uow,
            kind_name="production.delay_risk",
            subject_type="work_order",
            subject_id=work_order.id,
            reason="back on track with the plan",
        )
        return
    await raise_exception(
        uow,
        kind_name="production.delay_risk",
        order_id=work_order.order_id,
        subject_type="work_order",
        subject_id=work_order.id,
        title=f"Work order {work_order.id} ({work_order.product}) projected to complete {projection.completion},"
        f" planned {work_order.planned_completion}: {projection.operation} makes {projection.per_day:g} a day",
        facts={
            "stage": projection.operation,
            "projected": projection.completion.isoformat(),
            "planned": work_order.planned_completion.isoformat(),
            "per_day": f"{projection.per_day:g}",
            "good": work_order.good_quantity,
            "ordered": work_order.quantity,
        },
    )


def silent_work_orders(limit: timedelta) -> Rule:
    """Watch rule: a started work order with no MES report for longer than `limit`."""

    async def silent_work_orders(uow: UnitOfWork) -> None:
        now = uow.clock.now()
        query = select(WorkOrder).where(
            WorkOrder.status == domain.WorkOrderStatus.STARTED,
            WorkOrder.kind == "make",
            col(WorkOrder.last_report_at) < now - limit,
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


async def slow_work_orders(uow: UnitOfWork) -> None:
    """Watch rule: a running work order's projection as time passes (a line that stops reporting slows down)."""
    query = select(WorkOrder).where(
        WorkOrder.status == domain.WorkOrderStatus.STARTED,
        WorkOrder.kind == "make",
        col(WorkOrder.started_at).is_not(None),
    )
    for work_order in await uow.all(query.order_by(col(WorkOrder.id)), lock=True):
        progress = await uow.all(select(OperationProgress).where(OperationProgress.work_order_id == work_order.id))
        if progress:
            await check_rate(uow, work_order, await plans.load(uow, work_order.id), progress)


async def materials_late(uow: UnitOfWork) -> None:
    """Watch rule: material not ready by its planned date on a work or purchase order not started (nor
    confirmed by its supplier in time)."""
    today = uow.clock.now().date()
    query = (
        select(WorkOrder, MilestoneRow)
        .join(MilestoneRow, col(MilestoneRow.work_order_id) == col(WorkOrder.id))
        .where(
            col(WorkOrder.status).in_([domain.WorkOrderStatus.PLANNED, domain.WorkOrderStatus.STARTED]),
            MilestoneRow.name == M.MATERIALS_READY,
            col(MilestoneRow.actual).is_(None),
            col(MilestoneRow.planned) < today,
        )
    )
    for work_order, milestone in (await uow.session.exec(query)).all():
        if work_order.kind == "make" and work_order.started_at is not None:
            continue
        await raise_material_shortage(uow, work_order, milestone.planned, why="not ready by its planned date")


async def raise_material_shortage(uow: UnitOfWork, work_order: WorkOrder, needed: date, *, why: str) -> None:
    """Material for a work order (or a bought line) is late: attributed to the supplier."""
    await raise_exception(
        uow,
        kind_name="production.material_shortage",
        order_id=work_order.order_id,
        subject_type="purchase_order" if work_order.kind == "buy" else "work_order",
        subject_id=work_order.id,
        title=f"Material for {work_order.id} ({work_order.product}) {why}: needed {needed}",
        facts={"stage": "material", "needed": needed.isoformat(), "supplier": work_order.supplier},
        cause=Cause.SUPPLIER,
    )


def rules(settings: ProductionSettings) -> list[Rule]:
    """The production service's time-based exception rules."""
    return [silent_work_orders(timedelta(hours=settings.no_mes_report_hours)), slow_work_orders, materials_late]
