"""Production exceptions on a real database and the injected clock: silent work orders, short quantities,
messages waiting too long; raised once, resolved with the fact that clears them, not re-raised after a person."""

from datetime import timedelta
from typing import TypeVar
from uuid import uuid4

import pytest
from sqlmodel import col, delete, select

from services.production import handlers
from services.production.models import WorkOrder
from services.production.settings import ProductionSettings
from shared import topics
from shared.clock import FixedClock
from shared.contracts import (
    Envelope,
    Event,
    ExceptionRaised,
    ExceptionResolved,
    MesEvent,
    OrderAccepted,
    OrderExceptionActed,
    OrderTerms,
    exception_id,
)
from shared.db import ParkedMessage
from shared.exceptions import messages_waiting, on_person_acted, stopped_waiting
from shared.unit_of_work import UnitOfWorkFactory
from tests.e2e.flows import order_body
from tests.integration.journal import handle, outbox, record, watch
from tests.integration.journal import types as all_types

pytestmark = pytest.mark.integration
SERVICE = "production"
RULES = handlers.rules(ProductionSettings(no_mes_report_hours=4))
SILENT = "production.no_mes_report"
SHORT = "production.short_quantity"
WAITING = "production.message_waiting"
M = TypeVar("M")


def types(events: list[Envelope]) -> list[str]:
    """The events' types, without plans and progress (followed in test_production_progress.py)."""
    return [t for t in all_types(events) if t not in ("production.milestones_changed", "production.progress_reported")]


def accepted(clock: FixedClock, *quantities: int) -> Event[OrderAccepted]:
    """Order SO1 with one make line per quantity."""
    body = order_body(1, today=clock.now().date())
    body["lines"] = [
        {"line_no": n, "product": f"GX-{n}", "quantity": q, "unit_price": "2"} for n, q in enumerate(quantities, 1)
    ]
    terms = OrderTerms.model_validate(body)
    payload = OrderAccepted(**terms.model_dump(), total_amount=terms.compute_total())
    return Event.new(payload, source="order", order_id="SO1", clock=clock)


def mes(clock: FixedClock, work_order: str, kind: str, good: int = 0, scrap: int = 0) -> MesEvent:
    """An MES report happening now, with a message id of its own."""
    return MesEvent(
        message_id=uuid4().hex,
        occurred_at=clock.now(),
        type=kind,
        work_order_id=work_order,
        good_quantity=good,
        scrap_quantity=scrap,
    )


def acted(clock: FixedClock, ident: str, action: str = "resolve", service: str = SERVICE) -> Event[OrderExceptionActed]:
    """A person's action on the board, as the order service publishes it."""
    payload = OrderExceptionActed(exception_id=ident, service=service, action=action, by="li.wei", at=clock.now())
    return Event.new(payload, source="order", order_id="SO1", clock=clock)


async def started(units: UnitOfWorkFactory, clock: FixedClock, *quantities: int) -> list[WorkOrder]:
    """Order SO1 accepted and each of its work orders started now."""
    await handle(units, handlers.on_order_accepted, accepted(clock, *quantities))
    async with units() as uow:
        work_orders = list((await uow.session.exec(select(WorkOrder).order_by(col(WorkOrder.line_no)))).all())
    for work_order in work_orders:
        await handle(units, handlers.on_mes_event, mes(clock, work_order.id, "started"))
    return work_orders


def silent_id(work_order: WorkOrder) -> str:
    """The id of the work order's no-MES-report exception."""
    return exception_id(SERVICE, SILENT, "work_order", work_order.id)


async def test_a_silent_work_order_raises_no_mes_report_once(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    [wo] = await started(units, clock, 12)
    clock.advance(timedelta(hours=3, minutes=59))
    assert await watch(units, RULES) == []  # within the limit

    clock.advance(timedelta(hours=1, minutes=1))
    [raised] = await watch(units, RULES)
    assert (raised.type, raised.order_id) == ("production.exception_raised", "SO1")
    data = raised.payload(ExceptionRaised)
    assert (data.exception_id, data.kind, data.subject_type, data.subject_id) == (
        silent_id(wo),
        SILENT,
        "work_order",
        wo.id,
    )
    assert (data.severity, data.owner, data.cause, data.stage) == (
        "medium",
        "production_planner",
        "internal",
        "production",
    )
    assert data.facts == {"last_report_at": "2027-01-04T08:00:00+00:00", "product": "GX-1"}
    assert data.title == f"No MES report on work order {wo.id} (GX-1) since 2027-01-04 08:00 UTC"
    assert (data.raised_at, data.due_by) == (clock.now(), clock.now() + timedelta(hours=4))

    assert await watch(units, RULES) == []  # the same condition again: one exception
    stored = await record(units, silent_id(wo))
    assert (stored.open, stored.closed_by_person, stored.order_id, stored.kind) == (True, False, "SO1", SILENT)
    assert types(await outbox(units)).count("production.exception_raised") == 1


async def test_a_longer_silence_is_the_same_news(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    """The watcher runs every minute: a silence that merely goes on publishes nothing more."""
    await started(units, clock, 12)
    clock.advance(timedelta(hours=5))
    assert types(await watch(units, RULES)) == ["production.exception_raised"]
    for _ in range(3):
        clock.advance(timedelta(minutes=30))
        assert types(await watch(units, RULES)) == []


async def test_the_next_mes_report_resolves_it_in_the_same_commit(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    [wo] = await started(units, clock, 12)
    clock.advance(timedelta(hours=5))
    await watch(units, RULES)

    clock.advance(timedelta(minutes=10))
    events = await handle(units, handlers.on_mes_event, mes(clock, wo.id, "completed", good=12))
    assert types(events) == ["production.exception_resolved", "production.completed", "production.order_ready"]
    resolved = events[0].payload(ExceptionResolved)
    assert (resolved.exception_id, resolved.kind, resolved.by) == (silent_id(wo), SILENT, "system")
    assert (resolved.reason, resolved.resolved_at) == ("the MES reported again", clock.now())
    stored = await record(units, silent_id(wo))
    assert (stored.open, stored.closed_by_person, stored.resolved_at) == (False, False, clock.now())

    clock.advance(timedelta(hours=10))
    assert await watch(units, RULES) == []  # a completed work order is not watched


async def test_a_report_that_changes_no_status_still_resolves_it(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    [wo] = await started(units, clock, 12)
    clock.advance(timedelta(hours=5))
    await watch(units, RULES)
    events = await handle(units, handlers.on_mes_event, mes(clock, wo.id, "operation_reported"))
    assert types(events) == ["production.exception_resolved"]
    assert not (await record(units, silent_id(wo))).open


async def test_a_short_completion_raises_short_quantity_with_the_facts(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    within, beyond = await started(units, clock, 100, 100)
    events = await handle(units, handlers.on_mes_event, mes(clock, within.id, "completed", good=98, scrap=2))
    assert types(events) == ["production.completed"]  # 2 short of 100: within the 2 % tolerance

    events = await handle(units, handlers.on_mes_event, mes(clock, beyond.id, "completed", good=97, scrap=3))
    assert types(events) == ["production.completed", "production.exception_raised", "production.order_ready"]
    data = events[1].payload(ExceptionRaised)
    ident = exception_id(SERVICE, SHORT, "work_order", beyond.id)
    assert (data.exception_id, data.kind, data.severity, data.cause) == (ident, SHORT, "high", "internal")
    assert data.facts == {"ordered": 100, "good": 97, "scrap": 3}
    assert data.title == f"Work order {beyond.id} (GX-2) completed 3 short of 100"
    stored = await record(units, ident)
    assert (stored.open, stored.subject_id, stored.facts) == (True, beyond.id, {"ordered": 100, "good": 97, "scrap": 3})

    again = mes(clock, beyond.id, "completed", good=97, scrap=3)  # the MES sends it again, new message id
    assert await handle(units, handlers.on_mes_event, again) == []


async def test_a_person_resolving_it_stops_re_raising(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    [wo] = await started(units, clock, 12)
    clock.advance(timedelta(hours=5))
    await watch(units, RULES)

    await handle(units, on_person_acted, acted(clock, silent_id(wo), action="acknowledge"))
    await handle(units, on_person_acted, acted(clock, silent_id(wo), service="logistics"))
    assert (await record(units, silent_id(wo))).open  # neither is a resolve of ours

    [said] = await handle(units, on_person_acted, acted(clock, silent_id(wo)))  # followers of this topic hear it
    assert (said.type, said.data["by"]) == ("production.exception_resolved", "li.wei")
    stored = await record(units, silent_id(wo))
    assert (stored.open, stored.closed_by_person, stored.resolved_at) == (False, True, clock.now())

    clock.advance(timedelta(hours=1))
    assert await watch(units, RULES) == []
    assert types(await handle(units, handlers.on_mes_event, mes(clock, wo.id, "operation_reported"))) == []
    clock.advance(timedelta(hours=8))
    assert await watch(units, RULES) == []  # silent again: still a person's call
    assert not (await record(units, silent_id(wo))).open


async def test_a_silence_that_cleared_and_came_back_is_raised_again_with_the_same_id(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    [wo] = await started(units, clock, 12)
    clock.advance(timedelta(hours=5))
    [first] = await watch(units, RULES)
    await handle(units, handlers.on_mes_event, mes(clock, wo.id, "operation_reported"))

    clock.advance(timedelta(hours=4, minutes=30))
    [second] = await watch(units, RULES)
    assert second.type == "production.exception_raised"
    again, before = second.payload(ExceptionRaised), first.payload(ExceptionRaised)
    assert again.exception_id == before.exception_id == silent_id(wo)
    assert (again.raised_at, again.due_by) == (clock.now(), clock.now() + timedelta(hours=4))  # raised afresh
    stored = await record(units, silent_id(wo))
    assert (stored.open, stored.resolved_at, stored.raised_at) == (True, None, clock.now())
    assert all_types(await outbox(units)).count("production.exception_raised") == 2


def parked(clock: FixedClock, waits_for: str, offset: int) -> ParkedMessage:
    """An MES message parked now, waiting for a work order this service does not know."""
    return ParkedMessage(
        waits_for=waits_for,
        topic=topics.MES_EVENTS,
        partition=0,
        offset=offset,
        key=waits_for,
        body=b"{}",
        headers={},
        reason="MES started for unknown work order",
        parked_at=clock.now(),
    )


async def unpark(units: UnitOfWorkFactory, waits_for: str, *offsets: int) -> list[Envelope]:
    """Apply parked messages: delete them and say so, in one transaction, as the intake does."""
    before = len(await outbox(units))
    async with units() as uow:
        await uow.session.exec(delete(ParkedMessage).where(col(ParkedMessage.offset).in_(offsets)))
        await stopped_waiting(uow, waits_for)
    return (await outbox(units))[before:]


async def test_a_message_waiting_too_long_raises_message_waiting_once(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    rules = [messages_waiting(timedelta(hours=1))]
    async with units() as uow:
        uow.session.add_all([parked(clock, "WO404", 1), parked(clock, "WO404", 2)])
    clock.advance(timedelta(minutes=59))
    assert await watch(units, rules) == []

    clock.advance(timedelta(minutes=2))
    [raised] = await watch(units, rules)
    ident = exception_id(SERVICE, WAITING, "message", "WO404")
    assert (raised.type, raised.order_id) == ("production.exception_raised", "unassigned")
    data = raised.payload(ExceptionRaised)
    assert (data.exception_id, data.kind, data.subject_type, data.subject_id) == (ident, WAITING, "message", "WO404")
    assert data.facts == {"waits_for": "WO404", "messages": 2, "topic": "mes.events"}
    clock.advance(timedelta(minutes=30))
    assert await watch(units, rules) == []

    assert await unpark(units, "WO404", 1) == []  # one still waits
    [resolved] = await unpark(units, "WO404", 2)
    assert resolved.type == "production.exception_resolved"
    assert (resolved.payload(ExceptionResolved).exception_id, resolved.payload(ExceptionResolved).by) == (
        ident,
        "system",
    )
    assert not (await record(units, ident)).open
