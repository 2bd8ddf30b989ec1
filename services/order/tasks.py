"""Tasks across departments: what an order of its type needs done by whom, by when, chased when late.

Templates (a table, seeded with the defaults below, managed over HTTP) say, per order type, which task
a department owns and when it is due relative to the order's plan: acceptance, one of production's
milestones (the earliest expected over the order's lines), the promised date. On acceptance the order
gets its tasks; when production moves its plan, open tasks anchored on a milestone move with it.
People add tasks by hand, assign, finish or reopen them. A task past its due date and not done is
`order.task_overdue` until it is done.
"""

from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from services.order import board
from services.order.files import order_type
from services.order.models import Order, Task, TaskTemplate
from services.order.tracking import expected, plans_of, promised
from shared.contracts import Milestone, MilestoneName, OrderTerms
from shared.ids import new_id
from shared.unit_of_work import UnitOfWork
from shared.watcher import Rule

if TYPE_CHECKING:
    from shared.service import Runtime

OPEN, DONE = "open", "done"
MILESTONES = {m.value for m in MilestoneName}
ANCHORS = ("accepted", "promised", "shipment", *MILESTONES)

# When production has not planned yet: how far before the promised date each milestone usually falls.
DAYS_BEFORE_PROMISE = {
    "materials_ready": 21,
    "sample_approved": 18,
    "pre_production_approved": 16,
    "production_started": 14,
    "final_qc_passed": 7,
    "completed": 6,
    "shipment": 5,
}

DEFAULT_TEMPLATES = (
    TaskTemplate(
        code="confirm_order",
        title="Send the order confirmation and get the customer's signed copy",
        department="merchandising",
        anchor="accepted",
        offset_days=2,
    ),
    TaskTemplate(
        code="supplier_order",
        title="Place the purchase order and get the supplier's confirmed date",
        department="purchasing",
        applies_to="buy",
        anchor="accepted",
        offset_days=2,
    ),
    TaskTemplate(
        code="materials",
        title="Confirm materials are in stock for production",
        department="purchasing",
        applies_to="make",
        anchor="materials_ready",
    ),
    TaskTemplate(
        code="book_inspection",
        title="Book the final inspection with the customer or inspector",
        department="quality",
        applies_to="inspection",
        anchor="final_qc_passed",
        offset_days=-3,
    ),
    TaskTemplate(
        code="commodity_inspection",
        title="Book the commodity inspection (CIQ) for export",
        department="quality",
        applies_to="export",
        anchor="final_qc_passed",
        offset_days=-5,
    ),
    TaskTemplate(
        code="customs_documents",
        title="Prepare the customs declaration documents",
        department="documents",
        applies_to="export",
        anchor="completed",
    ),
    TaskTemplate(
        code="shipping_space",
        title="Book and confirm the shipping space",
        department="logistics",
        anchor="completed",
        offset_days=-2,
    ),
    TaskTemplate(
        code="send_documents",
        title="Send the shipping documents to the customer",
        department="merchandising",
        anchor="shipment",
        offset_days=1,
    ),
    TaskTemplate(
        code="fx_receipt",
        title="Register the foreign-currency receipt and its settlement",
        department="finance",
        applies_to="export",
        anchor="promised",
        offset_days=30,
    ),
)


async def seed_templates(uow: UnitOfWork) -> None:
    """The default templates, where the table is still empty (a person's changes are kept)."""
    if (await uow.session.exec(select(TaskTemplate.code).limit(1))).first() is None:
        for template in DEFAULT_TEMPLATES:
            uow.session.add(TaskTemplate.model_validate(template.model_dump()))


async def seed(runtime: "Runtime") -> None:
    """At start: the default task templates."""
    async with runtime.units() as uow:
        await seed_templates(uow)


def anchor_date(anchor: str, *, accepted: date, promise: date, plans: Iterable[list[Milestone]]) -> date:
    """The date a task's anchor falls on: the earliest expected date of that milestone over the lines,
    else an estimate from the promised date."""
    if anchor == "accepted":
        return accepted
    if anchor == "promised":
        return promise
    found = [m.actual or expected(m) for plan in plans for m in plan if m.name.value == anchor]
    if found:
        return min(found)
    return promise - timedelta(days=DAYS_BEFORE_PROMISE.get(anchor, 0))


async def create_for(uow: UnitOfWork, order: Order) -> list[Task]:
    """The order's tasks from the active templates for its type (on acceptance; once)."""
    if (await uow.session.exec(select(Task.id).where(Task.order_id == order.id).limit(1))).first() is not None:
        return []
    types = order_type(OrderTerms.model_validate(order.terms))
    templates = await uow.all(select(TaskTemplate).where(col(TaskTemplate.active)).order_by(col(TaskTemplate.code)))
    now, plans = uow.clock.now(), await plans_of(uow, order.id)
    made = []
    for template in templates:
        if template.applies_to != "all" and template.applies_to not in types:
            continue
        due = anchor_date(template.anchor, accepted=now.date(), promise=promised(order), plans=plans)
        task = Task(
            id=new_id("TK"),
            order_id=order.id,
            template=template.code,
            title=template.title,
            department=template.department,
            anchor=template.anchor,
            offset_days=template.offset_days,
            due_date=max(due + timedelta(days=template.offset_days), now.date()),  # never due before it exists
            created_at=now,
            created_by="system",
        )
        uow.session.add(task)
        made.append(task)
    return made


async def follow_plan(uow: UnitOfWork, order: Order, plans: list[list[Milestone]]) -> None:
    """Production moved its plan (`plans`, as tracking read them): open tasks anchored on a milestone move with it."""
    query = select(Task).where(
        Task.order_id == order.id, Task.status == OPEN, col(Task.anchor).in_(list(MILESTONES | {"shipment"}))
    )
    tasks = await uow.all(query)
    if not tasks:
        return
    accepted = (order.decided_at or uow.clock.now()).date()
    for task in tasks:
        anchor = anchor_date(task.anchor or "accepted", accepted=accepted, promise=promised(order), plans=plans)
        task.due_date = max(anchor + timedelta(days=task.offset_days), task.created_at.date())


async def finish(uow: UnitOfWork, task: Task, *, by: str, note: str) -> Task:
    now = uow.clock.now()
    task.status, task.done_at, task.done_by = DONE, now, by
    task.note = note or task.note
    await board.resolve_own(
        uow,
        order_id=task.order_id,
        kind_name="order.task_overdue",
        subject_type="task",
        subject_id=task.id,
        reason=f"done by {by}",
        by=by,
    )
    return task


def reopen(task: Task) -> Task:
    task.status, task.done_at, task.done_by = OPEN, None, None
    return task


def overdue_tasks() -> Rule:
    """Watch rule: a task past its due date and not done."""

    async def overdue_tasks(uow: UnitOfWork) -> None:
        today = uow.clock.now().date()
        query = select(Task).where(Task.status == OPEN, col(Task.due_date) < today).order_by(col(Task.due_date))
        for task in await uow.all(query.limit(500)):
            facts: dict[str, Any] = {"department": task.department, "due": task.due_date.isoformat()}
            if task.owner:
                facts["owner"] = task.owner
            await board.raise_own(
                uow,
                order_id=task.order_id,
                kind_name="order.task_overdue",
                subject_type="task",
                subject_id=task.id,
                title=f"{task.department}: {task.title} (order {task.order_id}) was due {task.due_date}",
                facts=facts,
            )

    return overdue_tasks
