"""Change requests and cancellation after acceptance: a saga across services.

The merchandiser records the customer's request; production and logistics each assess its impact
(`<service>.change_assessed`); the merchandiser accepts it with the customer's written confirmation
or rejects it. Nothing changes anywhere until it is accepted, and then every service adjusts to one
event (`order.change_accepted`, or `order.cancelled` for the whole order), each in its own transaction.
"""

from datetime import date

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from services.order import board, domain
from services.order.models import ChangeRequest, LineProgress, Order, OrderVersion
from services.order.review import announce, record
from shared.contracts import (
    ASSESSED,
    ChangeAssessed,
    ChangeKind,
    Event,
    EventData,
    MilestonesChanged,
    OrderCancelled,
    OrderChangeAccepted,
    OrderChangeRejected,
    OrderChangeRequested,
    OrderLine,
    OrderTerms,
    ProductionCompleted,
    ProductionOrderCreated,
    ProductionStarted,
    WorkOrderCancelled,
    WorkOrderChanged,
)
from shared.errors import Invalid, NotFound
from shared.fields import scrub
from shared.ids import new_id
from shared.unit_of_work import UnitOfWork
from shared.watcher import Rule

ASSESSORS = tuple(sorted(ASSESSED))  # the services whose assessment a change waits for


class ChangeRefused(Invalid):
    """The change or cancellation cannot be requested, accepted or rejected in the order's state."""


async def _order(uow: UnitOfWork, order_id: str) -> Order:
    order = await uow.get(Order, order_id, lock=True)
    if order is None:
        raise NotFound(order_id)
    return order


async def request(
    uow: UnitOfWork,
    order_id: str,
    *,
    lines: list[OrderLine] | None,
    delivery_date: date | None,
    cancel_lines: list[int],
    cancel_all: bool,
    reason: str,
    by: str,
) -> ChangeRequest:
    """Record a customer's change or cancellation and ask production and logistics for its impact."""
    order = await _order(uow, order_id)
    cancel = cancel_all or bool(cancel_lines)
    if problem := domain.change_problem(order.status, cancel=cancel):
        raise ChangeRefused(problem)
    pending = select(ChangeRequest).where(
        ChangeRequest.order_id == order_id,
        col(ChangeRequest.status).in_([domain.ChangeStatus.REQUESTED, domain.ChangeStatus.ASSESSED]),
    )
    if open_change := await uow.first(pending):
        raise ChangeRefused(f"change {open_change.id} of this order is still open: accept or reject it first")
    current = OrderTerms.model_validate(order.terms)
    numbers = {line.line_no for line in current.lines}
    if unknown := sorted(set(cancel_lines) - numbers):
        raise ChangeRefused(f"the order has no line {', '.join(map(str, unknown))}")
    cancelled = sorted(numbers) if cancel_all else sorted(set(cancel_lines))
    if cancelled:
        progress = await uow.all(select(LineProgress).where(LineProgress.order_id == order_id))
        if made := sorted(domain.produced_lines((p.line_no, p.status) for p in progress) & set(cancelled)):
            raise ChangeRefused(
                f"line {', '.join(map(str, made))} is already produced and cannot be cancelled;"
                " change its quantity or ship it"
            )
    new_lines = [line for line in (lines or current.lines) if line.line_no not in cancelled]
    if not cancel_all:
        if not new_lines:
            raise ChangeRefused("a change must leave at least one line; cancel the order instead")
        terms = current.model_copy(update={"lines": new_lines, "delivery_date": delivery_date or current.delivery_date})
        terms = OrderTerms.model_validate(terms.model_dump())  # every rule of intake holds for the new version
        if terms == current:
            raise ChangeRefused("the requested terms are the order's current terms")
    else:
        terms = current
    now = uow.clock.now()
    change = ChangeRequest(
        id=new_id("CR"),
        order_id=order_id,
        kind=ChangeKind.CANCEL if cancel else ChangeKind.CHANGE,
        status=domain.ChangeStatus.REQUESTED,
        order_version=order.version + 1,
        terms=terms.model_dump(mode="json"),
        cancelled_lines=cancelled,
        reason=scrub(reason, 2000),
        requested_by=scrub(by, 200),
        requested_at=now,
        respond_by=now + domain.CHANGE_DEADLINE,
    )
    uow.session.add(change)
    requested = OrderChangeRequested(
        change_id=change.id,
        kind=ChangeKind(change.kind),
        order_version=change.order_version,
        lines=[] if cancel_all else terms.lines,
        cancelled_lines=cancelled,
        delivery_date=terms.delivery_date,
        reason=change.reason,
        respond_by=change.respond_by,
    )
    record(uow, uow.emit(requested, order_id=order_id))
    return change


async def on_assessed(event: Event[ChangeAssessed], uow: UnitOfWork) -> None:
    """A service's impact assessment: kept on the change; the last one makes it ready for a decision."""
    change = await uow.get(ChangeRequest, event.data.change_id, lock=True)
    record(uow, event.envelope)
    if change is None or change.order_id != event.order_id:
        return
    change.assessments = {**change.assessments, event.source: event.data.model_dump(mode="json")}
    if change.status == domain.ChangeStatus.REQUESTED and all(s in change.assessments for s in ASSESSORS):
        change.status = domain.ChangeStatus.ASSESSED
    await board.resolve_own(
        uow,
        order_id=change.order_id,
        kind_name="order.change_unanswered",
        subject_type="order",
        subject_id=change.id,
        reason="every service assessed it" if change.status == domain.ChangeStatus.ASSESSED else "assessed",
    )


async def _decidable(uow: UnitOfWork, order_id: str, change_id: str) -> tuple[Order, ChangeRequest]:
    order = await _order(uow, order_id)
    change = await uow.get(ChangeRequest, change_id, lock=True)
    if change is None or change.order_id != order_id:
        raise NotFound(change_id)
    if change.status in (domain.ChangeStatus.ACCEPTED, domain.ChangeStatus.REJECTED):
        raise ChangeRefused(f"change {change_id} was already {change.status}")
    return order, change


async def accept(uow: UnitOfWork, order_id: str, change_id: str, *, confirmation: str, by: str) -> ChangeRequest:
    """Carry the change out, with the customer's written confirmation: a new version, one event every
    service adjusts to. Only once every service assessed it and none said it cannot be done."""
    order, change = await _decidable(uow, order_id, change_id)
    if missing := [s for s in ASSESSORS if s not in change.assessments]:
        raise ChangeRefused(f"waiting for the impact assessment of {', '.join(missing)}")
    if blocked := [
        f"{s}: {a.get('note') or 'not feasible'}" for s, a in change.assessments.items() if not a["feasible"]
    ]:
        raise ChangeRefused("not feasible: " + "; ".join(blocked))
    cancel = change.kind == ChangeKind.CANCEL
    if problem := domain.change_problem(order.status, cancel=cancel):
        raise ChangeRefused(problem)  # the order moved on (shipped) while the change was assessed
    now = uow.clock.now()
    change.status, change.decided_by, change.decided_at = domain.ChangeStatus.ACCEPTED, scrub(by, 200), now
    change.confirmation = scrub(confirmation, 4000)
    previous = OrderTerms.model_validate(order.terms)
    everything = cancel and set(change.cancelled_lines) >= {line.line_no for line in previous.lines}
    if everything:
        order.status, order.updated_at = domain.OrderStatus.CANCELLED, now
        event: EventData = OrderCancelled(change_id=change.id, reason=change.reason, cancelled_at=now)
        await announce(uow, order, uow.emit(event, order_id=order_id))
        return change
    terms = OrderTerms.model_validate(change.terms)
    previous_total = order.total_amount
    order.version, order.terms, order.updated_at = change.order_version, terms.model_dump(mode="json"), now
    order.delivery_date, order.total_amount = terms.delivery_date, terms.compute_total()
    uow.session.add(
        OrderVersion(
            order_id=order_id,
            version=order.version,
            terms=change.terms,
            total_amount=order.total_amount,
            reason=change.reason,
            change_id=change.id,
            created_at=now,
            created_by=change.decided_by or by,
        )
    )
    accepted = OrderChangeAccepted(
        change_id=change.id,
        kind=ChangeKind(change.kind),
        order_version=order.version,
        lines=terms.lines,
        cancelled_lines=change.cancelled_lines,
        delivery_date=terms.delivery_date,
        total_amount=order.total_amount,
        previous_total=previous_total,
    )
    await announce(uow, order, uow.emit(accepted, order_id=order_id))
    return change


async def reject(uow: UnitOfWork, order_id: str, change_id: str, *, reason: str, by: str) -> ChangeRequest:
    """The customer withdrew the request or will not pay for its impact: nothing changes anywhere."""
    _, change = await _decidable(uow, order_id, change_id)
    change.status, change.decided_by, change.decided_at = domain.ChangeStatus.REJECTED, scrub(by, 200), uow.clock.now()
    change.decision_note = scrub(reason, 2000)
    record(uow, uow.emit(OrderChangeRejected(change_id=change.id, reason=change.decision_note), order_id=order_id))
    await board.resolve_own(
        uow,
        order_id=order_id,
        kind_name="order.change_unanswered",
        subject_type="order",
        subject_id=change.id,
        reason="change rejected",
        by=by,
    )
    return change


PROGRESS = {ProductionStarted: "started", ProductionCompleted: "completed", WorkOrderCancelled: "cancelled"}


async def follow_production(event: Event[EventData], uow: UnitOfWork) -> None:
    """Where each line's work orders stand, so cancelling a line already produced is refused.

    On the message path of every production event: one statement each, nothing loaded."""
    data = event.data
    if isinstance(data, ProductionOrderCreated):
        row = {
            "work_order_id": data.work_order_id,
            "order_id": event.order_id,
            "line_no": data.line_no,
            "quantity": data.quantity,
            "status": "planned",
            "planned_completion": data.planned_completion,
        }
        stmt = insert(LineProgress).values(row)
        # a plan published first (a bought line's milestones) made the row: the work order fills it in
        filled = {k: stmt.excluded[k] for k in ("line_no", "quantity", "planned_completion")}
        await uow.session.exec(stmt.on_conflict_do_update(index_elements=["work_order_id"], set_=filled))
        return
    if isinstance(data, MilestonesChanged):
        plan = [m.model_dump(mode="json") for m in data.milestones]
        row = {
            "work_order_id": data.work_order_id,
            "order_id": event.order_id,
            "line_no": data.line_no,
            "quantity": 0,
            "status": "planned",
            "milestones": plan,
        }
        stmt = insert(LineProgress).values(row)
        await uow.session.exec(stmt.on_conflict_do_update(index_elements=["work_order_id"], set_={"milestones": plan}))
        return
    if isinstance(data, WorkOrderChanged):
        changed = update(LineProgress).where(col(LineProgress.work_order_id) == data.work_order_id)
        await uow.session.exec(changed.values(quantity=data.quantity, planned_completion=data.planned_completion))
    elif isinstance(data, ProductionStarted | ProductionCompleted | WorkOrderCancelled):
        moved = update(LineProgress).where(
            col(LineProgress.work_order_id) == data.work_order_id,
            col(LineProgress.status) != "completed",  # a completed work order stays completed
        )
        await uow.session.exec(moved.values(status=PROGRESS[type(data)]))


def unanswered_changes() -> Rule:
    """Watch rule: a service that has not assessed a change by its deadline."""

    async def unanswered_changes(uow: UnitOfWork) -> None:
        now = uow.clock.now()
        query = select(ChangeRequest).where(
            ChangeRequest.status == domain.ChangeStatus.REQUESTED, col(ChangeRequest.respond_by) < now
        )
        for change in await uow.all(query):
            silent = [s for s in ASSESSORS if s not in change.assessments]
            await board.raise_own(
                uow,
                order_id=change.order_id,
                kind_name="order.change_unanswered",
                subject_type="order",
                subject_id=change.id,
                title=f"{' and '.join(silent)} did not assess {change.kind} {change.id} of order {change.order_id}"
                f" by {change.respond_by:%Y-%m-%d %H:%M} UTC",
                facts={"silent": ", ".join(silent), "kind": change.kind},
            )

    return unanswered_changes
