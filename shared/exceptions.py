"""Raising and resolving exceptions: what every service does when something goes wrong with an order.

A condition is identified by (service, kind, subject): raising it again while it is open changes
nothing (or publishes an update when its severity, sentence or facts changed); a condition that
clears by itself is resolved in the same transaction as the fact that cleared it; one a person
resolved on the board is not raised again.
"""

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, TypeVar

from sqlmodel import col, func, select

from shared.contracts import (
    RAISED,
    RESOLVED,
    UNASSIGNED,
    UPDATED,
    Event,
    ExceptionAction,
    ExceptionRaised,
    ExceptionResolved,
    FactValue,
    OrderExceptionActed,
    SubjectType,
    exception_id,
)
from shared.db import DeadLetterAction, DeadLetterCount, ExceptionRecord, ParkedMessage
from shared.fields import scrub
from shared.kinds import Cause, Severity, kind
from shared.unit_of_work import UnitOfWork
from shared.watcher import Rule

SYSTEM = "system"
E = TypeVar("E", ExceptionRaised, ExceptionResolved)


async def raise_exception(
    uow: UnitOfWork,
    *,
    kind_name: str,
    order_id: str,
    subject_type: SubjectType,
    subject_id: str,
    title: str,
    facts: dict[str, FactValue] | None = None,
    severity: Severity | None = None,
    cause: Cause | None = None,
    deadline: timedelta | None = None,
) -> ExceptionRaised | None:
    """Raise (or update) the exception of a condition; returns the event published, if any."""
    spec, now = kind(kind_name), uow.clock.now()
    ident = exception_id(uow.source, kind_name, subject_type, subject_id)
    record = await uow.get(ExceptionRecord, ident, lock=True)
    if record is not None and record.closed_by_person:
        return None  # a person resolved it: it is not raised again
    facts = {k: scrub(v, 500) if isinstance(v, str) else v for k, v in (facts or {}).items()}
    severity = severity or spec.severity
    raised = {
        "exception_id": ident,
        "stage": spec.stage,
        "kind": kind_name,
        "severity": severity,
        "owner": spec.owner,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "title": scrub(title, 500),
        "facts": facts,
        "action": spec.action,
        "cause": cause or spec.cause,
        "raised_at": now,
        "due_by": now + (deadline or spec.deadline),
    }
    if record is not None and record.open:
        if (record.severity, record.title, record.facts) == (severity, raised["title"], _json(facts)):
            return None  # the same condition again: one exception
        raised |= {"raised_at": record.raised_at, "due_by": record.due_by}
        _keep(record, raised)
        return _emit(uow, UPDATED[uow.source].model_validate(raised), order_id)
    if record is None:
        record = ExceptionRecord(id=ident, order_id=order_id, kind=kind_name, subject_type=subject_type)
        record.subject_id = subject_id
        uow.session.add(record)
    _keep(record, raised)  # new, or back after it cleared by itself: raised (again)
    record.open, record.resolved_at = True, None
    return _emit(uow, RAISED[uow.source].model_validate(raised), order_id)


async def resolve_exception(
    uow: UnitOfWork, *, kind_name: str, subject_type: SubjectType, subject_id: str, reason: str, by: str = SYSTEM
) -> ExceptionResolved | None:
    """Resolve the condition's exception if it is open; returns the event published, if any."""
    resolved = await resolve_exceptions(
        uow, kinds=[kind_name], subject_type=subject_type, subject_id=subject_id, reason=reason, by=by
    )
    return resolved[0] if resolved else None


async def resolve_exceptions(
    uow: UnitOfWork,
    *,
    kinds: Sequence[str],
    subject_type: SubjectType,
    subject_id: str,
    reason: str,
    by: str = SYSTEM,
) -> list[ExceptionResolved]:
    """Resolve whichever of these kinds are open on one subject, with one query (this runs on every message
    that can clear something, so it costs one round trip, not one per kind)."""
    ids = {exception_id(uow.source, k, subject_type, subject_id): k for k in kinds}
    query = select(ExceptionRecord).where(col(ExceptionRecord.id).in_(ids), col(ExceptionRecord.open))
    resolved = []
    for record in await uow.all(query, lock=True):
        record.open, record.resolved_at, record.closed_by_person = False, uow.clock.now(), by != SYSTEM
        event = RESOLVED[uow.source](
            exception_id=record.id,
            kind=ids[record.id],
            subject_type=subject_type,
            subject_id=subject_id,
            resolved_at=record.resolved_at,
            by=scrub(by, 200),
            reason=scrub(reason, 500),
        )
        resolved.append(_emit(uow, event, record.order_id))
    return resolved


async def on_person_acted(event: Event[OrderExceptionActed], uow: UnitOfWork) -> None:
    """A person resolved one of this service's exceptions on the board: it stays resolved."""
    acted = event.data
    if acted.service != uow.source or acted.action != ExceptionAction.RESOLVE:
        return
    record = await uow.get(ExceptionRecord, acted.exception_id, lock=True)
    if record is None:
        return
    if record.open:  # said here too, so whoever follows this service's topic knows it is over
        await resolve_exception(
            uow,
            kind_name=record.kind,
            subject_type=record.subject_type,  # type: ignore[arg-type]
            subject_id=record.subject_id,
            reason=acted.note or "resolved on the board",
            by=acted.by,
        )
    record.open, record.closed_by_person = False, True
    record.resolved_at = record.resolved_at or acted.at


def _keep(record: ExceptionRecord, raised: dict[str, Any]) -> None:
    record.severity, record.title, record.facts = raised["severity"], raised["title"], _json(raised["facts"])
    record.raised_at, record.due_by = raised["raised_at"], raised["due_by"]


def _json(facts: dict[str, FactValue]) -> dict[str, Any]:
    """Facts as stored (JSON): amounts as strings."""
    return {k: v if v is None or isinstance(v, str | int | bool) else str(v) for k, v in facts.items()}


def _emit(uow: UnitOfWork, event: E, order_id: str) -> E:
    uow.emit(event, order_id=order_id)
    return event


def messages_waiting(limit: timedelta) -> Rule:
    """Watch rule: a message parked longer than `limit` for something this service does not know is an exception."""

    async def messages_waiting(uow: UnitOfWork) -> None:
        since = uow.clock.now() - limit
        query = (
            select(
                ParkedMessage.waits_for, func.min(ParkedMessage.parked_at), func.count(), func.min(ParkedMessage.topic)
            )
            .where(col(ParkedMessage.parked_at) < since)
            .group_by(col(ParkedMessage.waits_for))
        )
        for waits_for, first, count, topic in (await uow.session.exec(query)).all():
            await raise_exception(
                uow,
                kind_name=f"{uow.source}.message_waiting",
                order_id=UNASSIGNED,
                subject_type="message",
                subject_id=scrub(waits_for, 100),
                title=f"{count} message(s) on {topic} wait for {waits_for}, unknown here since {first:%Y-%m-%d %H:%M}",
                facts={"waits_for": waits_for, "messages": count, "topic": topic},
            )

    return messages_waiting


def dead_letters_open() -> Rule:
    """Watch rule: dead letters of a consumed topic not yet replayed or discarded are an operational exception
    (per topic), resolved once a person has worked every one."""

    async def dead_letters_open(uow: UnitOfWork) -> None:
        counts = await uow.all(select(DeadLetterCount))
        if not counts:
            return
        worked = select(DeadLetterAction.topic, func.count()).group_by(col(DeadLetterAction.topic))
        handled = {topic: n for topic, n in (await uow.session.exec(worked)).all()}
        kind_name = f"{uow.source}.dead_letters_open"
        for count in counts:
            waiting = count.total - handled.get(count.topic, 0)
            if waiting > 0:
                await raise_exception(
                    uow,
                    kind_name=kind_name,
                    order_id=UNASSIGNED,
                    subject_id=count.topic,
                    title=f"{waiting} dead letter(s) of {count.topic} wait for a person to replay or discard them",
                    facts={"topic": count.topic, "open": waiting, "latest_reason": count.last_reason},
                    subject_type="message",
                )
            else:
                await resolve_exception(
                    uow,
                    kind_name=kind_name,
                    subject_type="message",
                    subject_id=count.topic,
                    reason="every dead letter was worked",
                )

    return dead_letters_open


async def stopped_waiting(uow: UnitOfWork, waits_for: str, reason: str = "") -> None:
    """A parked message was applied or dead-lettered: when nothing waits for its key any more, the waiting is over."""
    still = select(func.count()).select_from(ParkedMessage).where(ParkedMessage.waits_for == waits_for)
    if (await uow.session.exec(still)).one() == 0:
        subject = scrub(waits_for, 100)
        reason = reason or f"{waits_for} is known now; the waiting messages were applied"
        await resolve_exception(
            uow, kind_name=f"{uow.source}.message_waiting", subject_type="message", subject_id=subject, reason=reason
        )
