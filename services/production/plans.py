"""The milestone plans of work orders as stored: made from the product master, loaded, and announced
(production.milestones_changed) once per transaction whenever a date in them moved."""

from datetime import date

from sqlmodel import col, select

from services.production import schedule
from services.production.models import MilestoneRow, WorkOrder
from shared.contracts import MilestonesChanged
from shared.unit_of_work import UnitOfWork


def route(work_order: WorkOrder) -> schedule.Route:
    """What the work order's plan is built from (the master's facts as copied onto it)."""
    return schedule.Route(
        kind=work_order.kind,
        quantity=work_order.quantity,
        daily_capacity=work_order.daily_capacity,
        material_lead_days=work_order.material_lead_days,
        sample_days=work_order.sample_days,
        pre_production_days=work_order.pre_production_days,
        qc_days=work_order.qc_days,
    )


def make(uow: UnitOfWork, work_order: WorkOrder) -> list[MilestoneRow]:
    """A new work order's plan, back-scheduled from its planned completion, stored and announced."""
    plan = schedule.back_schedule(work_order.planned_completion, route(work_order), today=uow.clock.now().date())
    work_order.compressed = plan.compressed
    rows = [
        MilestoneRow(work_order_id=work_order.id, name=step.name, seq=seq, planned=step.planned)
        for seq, step in enumerate(plan.steps)
    ]
    uow.session.add_all(rows)
    changed(uow, work_order, rows)
    return rows


async def replan(uow: UnitOfWork, work_order: WorkOrder) -> None:
    """A work order whose quantity or date changed: the milestones not reached yet are planned again."""
    rows = await load(uow, work_order.id)
    plan = schedule.back_schedule(work_order.planned_completion, route(work_order), today=uow.clock.now().date())
    planned: dict[str, date] = {step.name: step.planned for step in plan.steps}
    for row in rows:
        if row.actual is None and row.name in planned:
            row.planned, row.projected = planned[row.name], None
    work_order.compressed = plan.compressed
    changed(uow, work_order, rows)


async def load(uow: UnitOfWork, work_order_id: str) -> list[MilestoneRow]:
    """The work order's plan, in order (the work order's lock serialises its writers)."""
    query = select(MilestoneRow).where(MilestoneRow.work_order_id == work_order_id).order_by(col(MilestoneRow.seq))
    return await uow.all(query)


def changed(uow: UnitOfWork, work_order: WorkOrder, rows: list[MilestoneRow]) -> None:
    """Announce the plan as it stands when the transaction ends (once, however often it moved)."""

    async def announce() -> None:
        if rows:
            plan = MilestonesChanged(
                work_order_id=work_order.id, line_no=work_order.line_no, milestones=schedule.published(rows)
            )
            uow.emit(plan, order_id=work_order.order_id, correlation_id=work_order.correlation_id)

    uow.once(("plan", work_order.id), announce)
