"""The exceptions board: every service's exceptions in one read model, what people do with them, escalation."""

from datetime import datetime
from typing import Any

from sqlmodel import col, select

from services.order import domain, webhooks
from services.order.models import BoardAction, BoardEntry, Order
from shared.contracts import (
    ExceptionAction,
    ExceptionRaised,
    ExceptionResolved,
    ExceptionUpdated,
    OrderExceptionActed,
    OrderExceptionEscalated,
)
from shared.errors import Invalid
from shared.exceptions import raise_exception, resolve_exception
from shared.kinds import KINDS, Severity
from shared.unit_of_work import UnitOfWork
from shared.watcher import Rule

ESCALATION = "escalate"


class NotOnBoard(LookupError):
    """No exception with that id."""


class AlreadyResolved(Invalid):
    """The exception is resolved; nothing more can be done to it."""


async def record(
    uow: UnitOfWork, data: ExceptionRaised | ExceptionResolved, *, service: str, order_id: str
) -> BoardEntry | None:
    """Bring the board up to date with a service's exception event (raised, updated or resolved)."""
    entry = await uow.get(BoardEntry, data.exception_id, lock=True)
    fresh = entry is None or not entry.open
    if isinstance(data, ExceptionResolved):
        if entry is None or not entry.open:
            return None
        entry.open, entry.resolved_at, entry.resolved_by = False, data.resolved_at, data.by
        entry.resolution = data.reason
    elif entry is None:
        order = await uow.get(Order, order_id)
        entry = BoardEntry(id=data.exception_id, service=service, order_id=order_id, **_state(data))
        entry.customer = order.customer if order else None
        uow.session.add(entry)
    elif not entry.open and isinstance(data, ExceptionUpdated):
        return None  # an update that crossed a person's resolve: it stays resolved
    elif not entry.open:  # back after it had cleared: a fresh start
        entry.level, entry.resolved_at, entry.resolved_by, entry.resolution = 0, None, None, None
        entry.acknowledged_at, entry.acknowledged_by, entry.snoozed_until = None, None, None
        for name, value in _state(data).items():
            setattr(entry, name, value)
    else:  # an update of an open one: what escalation did (severity, deadline) stands
        state = _state(data)
        state["severity"] = domain.worst([entry.severity, data.severity])
        state["due_by"] = max(entry.due_by, data.due_by)
        for name, value in state.items():
            setattr(entry, name, value)
    entry.updated_at = uow.clock.now()
    await _summarise(uow, entry.order_id)
    await webhooks.enqueue(uow, entry, _change(data, reopened=fresh))
    return entry


def _change(data: ExceptionRaised | ExceptionResolved, *, reopened: bool) -> str:
    if isinstance(data, ExceptionResolved):
        return "resolved"
    return "raised" if reopened or not isinstance(data, ExceptionUpdated) else "updated"


def _state(data: ExceptionRaised) -> dict[str, Any]:
    """The board columns an exception event sets."""
    return {
        "stage": data.stage,
        "kind": data.kind,
        "severity": data.severity,
        "owner_role": data.owner,
        "subject_type": data.subject_type,
        "subject_id": data.subject_id,
        "title": data.title,
        "facts": {k: v if v is None or isinstance(v, str | int | bool) else str(v) for k, v in data.facts.items()},
        "action": data.action,
        "cause": data.cause,
        "open": True,
        "raised_at": data.raised_at,
        "due_by": data.due_by,
    }


async def raise_own(uow: UnitOfWork, *, order_id: str, **condition: Any) -> None:
    """Raise one of the order service's own exceptions; it is on the board in the same transaction."""
    if raised := await raise_exception(uow, order_id=order_id, **condition):
        await record(uow, raised, service=uow.source, order_id=order_id)


async def resolve_own(uow: UnitOfWork, *, order_id: str, **condition: Any) -> None:
    """Resolve one of the order service's own exceptions, on the board too."""
    if resolved := await resolve_exception(uow, **condition):
        await record(uow, resolved, service=uow.source, order_id=order_id)


async def _attended(uow: UnitOfWork, order_id: str) -> None:
    """A person dealt with an event a service could not apply: once none is left, the order is no longer marked."""
    query = select(BoardEntry.id).where(
        BoardEntry.order_id == order_id, BoardEntry.kind == "order.event_rejected", col(BoardEntry.open)
    )
    order = await uow.get(Order, order_id, lock=True)
    if order is not None and not (await uow.session.exec(query)).first():
        order.attention, order.attention_at = None, None


async def _summarise(uow: UnitOfWork, order_id: str) -> None:
    """The order's row in the tracking table shows how many exceptions are open and the worst severity."""
    order = await uow.get(Order, order_id, lock=True)  # writers of one order's summary take turns
    if order is None:
        return
    query = select(BoardEntry.severity).where(BoardEntry.order_id == order_id, col(BoardEntry.open))
    severities = list((await uow.session.exec(query)).all())
    order.open_exceptions, order.worst_severity = len(severities), domain.worst(severities)


async def act(
    uow: UnitOfWork,
    exception_id: str,
    action: ExceptionAction,
    *,
    by: str,
    note: str = "",
    owner: str | None = None,
    until: datetime | None = None,
) -> BoardEntry:
    """A person acts on an exception: recorded with who and when, and published for the owning service."""
    entry = await uow.get(BoardEntry, exception_id, lock=True)
    if entry is None:
        raise NotOnBoard(exception_id)
    if not entry.open and action != ExceptionAction.COMMENT:
        raise AlreadyResolved(f"exception {exception_id} was resolved by {entry.resolved_by}")
    now = uow.clock.now()
    uow.session.add(
        BoardAction(exception_id=entry.id, action=action, by=by, at=now, note=note, owner=owner, until=until)
    )
    if action == ExceptionAction.ACKNOWLEDGE:
        entry.acknowledged_at, entry.acknowledged_by = now, by
    elif action == ExceptionAction.ASSIGN:
        entry.assignee = owner
    elif action == ExceptionAction.SNOOZE:
        entry.snoozed_until = until
    elif action == ExceptionAction.RESOLVE:
        entry.open, entry.resolved_at, entry.resolved_by, entry.resolution = False, now, by, note
        if entry.kind == "order.event_rejected":
            await _attended(uow, entry.order_id)
        if entry.service == uow.source:  # our own: it must not be raised again
            subject: dict[str, Any] = {"subject_type": entry.subject_type, "subject_id": entry.subject_id}
            await resolve_exception(uow, kind_name=entry.kind, reason=note or "resolved on the board", by=by, **subject)
    entry.updated_at = now
    acted = OrderExceptionActed(
        exception_id=entry.id, service=entry.service, action=action, by=by, at=now, owner=owner, note=note, until=until
    )
    uow.emit(acted, order_id=entry.order_id)
    await _summarise(uow, entry.order_id)
    await webhooks.enqueue(uow, entry, "resolved" if action == ExceptionAction.RESOLVE else action.value)
    return entry


def escalations() -> Rule:
    """Watch rule: an open exception past its deadline goes up one level, once per deadline."""

    async def escalations(uow: UnitOfWork) -> None:
        now = uow.clock.now()
        query = select(BoardEntry).where(
            col(BoardEntry.open), col(BoardEntry.due_by) < now, col(BoardEntry.level) < domain.MAX_ESCALATIONS
        )
        for entry in await uow.all(query, lock=True):
            if not domain.due_for_escalation(due_by=entry.due_by, snoozed_until=entry.snoozed_until, now=now):
                continue
            entry.level += 1
            entry.severity = Severity(entry.severity).raised()
            known = KINDS.get(entry.kind)  # a newer producer's kind: the default deadline
            entry.due_by, entry.updated_at = now + (known.deadline if known else domain.DEFAULT_DEADLINE), now
            note = f"open past its deadline: level {entry.level}, now {entry.severity}"
            uow.session.add(BoardAction(exception_id=entry.id, action=ESCALATION, by="system", at=now, note=note))
            escalated = OrderExceptionEscalated(
                exception_id=entry.id, kind=entry.kind, level=entry.level, severity=entry.severity, due_by=entry.due_by
            )
            uow.emit(escalated, order_id=entry.order_id)
            await _summarise(uow, entry.order_id)
            await webhooks.enqueue(uow, entry, "escalated")

    return escalations
