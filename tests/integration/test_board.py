"""The exceptions board on a real database: every service's exceptions, people acting on them, escalation,
and the order service's own rules, on the injected clock."""

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from services.order import board, domain, handlers
from services.order.models import BoardAction, BoardEntry, Order
from services.order.settings import OrderSettings
from shared.clock import FixedClock
from shared.contracts import (
    RAISED,
    REJECTED,
    RESOLVED,
    UPDATED,
    Envelope,
    Event,
    ExceptionAction,
    OrderTerms,
    ProductionStarted,
    exception_id,
)
from shared.db import OutboxMessage
from shared.kinds import KINDS
from shared.unit_of_work import UnitOfWorkFactory
from shared.watcher import Watcher
from tests.e2e.flows import order_body
from tests.integration.orders import accepted

pytestmark = pytest.mark.integration
SERVICE = "order"
DAMAGE = "logistics.carrier_damage"


async def take_order(units: UnitOfWorkFactory, clock: FixedClock) -> Order:
    order = await accepted(units, OrderTerms.model_validate(order_body(1, today=clock.now().date())))
    return order


def damage(order_id: str, clock: FixedClock, **changes: Any) -> Event[Any]:
    """A logistics exception_raised event as the logistics service publishes it."""
    spec = KINDS[DAMAGE]
    data = RAISED["logistics"](
        exception_id=exception_id("logistics", DAMAGE, "shipment", "SH1"),
        stage=spec.stage,
        kind=DAMAGE,
        severity=spec.severity,
        owner=spec.owner,
        subject_type="shipment",
        subject_id="SH1",
        title="sf-express reports carrier damage on shipment SH1: crushed pallet",
        facts={"carrier_words": "crushed pallet"},
        action=spec.action,
        cause=spec.cause,
        raised_at=clock.now(),
        due_by=clock.now() + spec.deadline,
    ).model_copy(update=changes)
    return Event.new(data, source="logistics", order_id=order_id, clock=clock)


async def damaged_order(units: UnitOfWorkFactory, clock: FixedClock) -> tuple[Order, Event[Any]]:
    """An order taken in, and a damage logistics raised on it, on the board."""
    order = await take_order(units, clock)
    raised = damage(order.id, clock)
    async with units() as uow:
        await handlers.on_exception_event(raised, uow)
    return order, raised


async def entry(units: UnitOfWorkFactory, ident: str) -> BoardEntry:
    async with units() as uow:
        found = await uow.get(BoardEntry, ident)
    assert found is not None
    return found


async def events(units: UnitOfWorkFactory, kind: str) -> list[Envelope]:
    async with units() as uow:
        rows = (await uow.session.exec(select(OutboxMessage).where(OutboxMessage.event_type == kind))).all()
    return [Envelope.model_validate_json(r.payload) for r in rows]


async def test_another_services_exception_is_on_the_board_and_the_order_row(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    order, raised = await damaged_order(units, clock)
    shown = await entry(units, raised.data.exception_id)
    assert (shown.stage, shown.kind, shown.cause, shown.customer) == ("logistics", DAMAGE, "carrier", order.customer)
    async with units() as uow:
        row = await uow.get(Order, order.id)
    assert row is not None and (row.open_exceptions, row.worst_severity) == (1, "high")

    resolved = RESOLVED["logistics"](
        exception_id=raised.data.exception_id,
        kind=DAMAGE,
        subject_type="shipment",
        subject_id="SH1",
        resolved_at=clock.now(),
        by="system",
        reason="reshipped",
    )
    async with units() as uow:
        await handlers.on_exception_event(Event.new(resolved, source="logistics", order_id=order.id, clock=clock), uow)
        row = await uow.get(Order, order.id)
    assert not (await entry(units, raised.data.exception_id)).open
    assert row is not None and (row.open_exceptions, row.worst_severity) == (0, None)


async def test_people_act_on_an_exception_and_each_act_is_recorded_and_published(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    order = await take_order(units, clock)
    raised = damage(order.id, clock)
    ident = raised.data.exception_id
    async with units() as uow:
        await handlers.on_exception_event(raised, uow)
    steps: list[tuple[ExceptionAction, dict[str, Any]]] = [
        (ExceptionAction.ACKNOWLEDGE, {}),
        (ExceptionAction.ASSIGN, {"owner": "zhang.min"}),
        (ExceptionAction.COMMENT, {"note": "claim form sent"}),
        (ExceptionAction.SNOOZE, {"until": clock.now() + timedelta(hours=12)}),
        (ExceptionAction.RESOLVE, {"note": "goods reshipped"}),
    ]
    for action, details in steps:
        async with units() as uow:
            await board.act(uow, ident, action, by="li.wei", **details)
    shown = await entry(units, ident)
    assert shown.assignee == "zhang.min" and shown.acknowledged_by == "li.wei"
    assert not shown.open and shown.resolved_by == "li.wei" and shown.resolution == "goods reshipped"
    async with units() as uow:
        history = (await uow.session.exec(select(BoardAction).order_by(col(BoardAction.id)))).all()
    assert [(a.action, a.by) for a in history] == [(a.value, "li.wei") for a, _ in steps]
    acted = await events(units, "order.exception_acted")
    assert [e.data["action"] for e in acted] == [a.value for a, _ in steps]
    assert {(e.order_id, e.data["service"]) for e in acted} == {(order.id, "logistics")}
    with pytest.raises(board.AlreadyResolved):
        async with units() as uow:
            await board.act(uow, ident, ExceptionAction.ASSIGN, by="li.wei", owner="someone")


async def test_escalation_happens_once_per_level_and_waits_out_a_snooze(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    order, raised = await damaged_order(units, clock)
    watcher = Watcher(units, [board.escalations()])
    clock.advance(KINDS[DAMAGE].deadline + timedelta(minutes=1))
    await watcher.tick()
    await watcher.tick()  # the same moment again: no second escalation
    escalated = await events(units, "order.exception_escalated")
    assert [(e.data["level"], e.data["severity"]) for e in escalated] == [(1, "critical")]

    async with units() as uow:
        await board.act(
            uow, raised.data.exception_id, ExceptionAction.SNOOZE, by="li.wei", until=clock.now() + timedelta(days=1)
        )
    clock.advance(KINDS[DAMAGE].deadline + timedelta(minutes=1))
    await watcher.tick()
    assert len(await events(units, "order.exception_escalated")) == 1  # snoozed
    clock.advance(timedelta(days=1))
    await watcher.tick()
    levels = [e.data["level"] for e in await events(units, "order.exception_escalated")]
    assert levels == [1, 2]
    assert (await entry(units, raised.data.exception_id)).severity == "critical"  # the top stays the top


async def test_a_stalled_order_is_raised_once_and_cleared_by_its_next_event(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    order = await take_order(units, clock)
    watcher = Watcher(units, handlers.rules(OrderSettings(stall_hours={"accepted": 2})))
    clock.advance(timedelta(hours=3))
    await watcher.tick()
    await watcher.tick()
    stalled = exception_id("order", "order.stalled", "order", order.id)
    assert [e.data["kind"] for e in await events(units, "order.exception_raised")] == ["order.stalled"]
    assert (await entry(units, stalled)).open

    started = Event.new(ProductionStarted(work_order_id="WO1"), source="production", order_id=order.id, clock=clock)
    async with units() as uow:
        await handlers.on_lifecycle_event(started, uow)
    assert not (await entry(units, stalled)).open
    [resolved] = await events(units, "order.exception_resolved")
    assert resolved.data["reason"] == "moved again: production.started"


async def test_a_person_resolving_the_orders_own_exception_stops_it_coming_back(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    order = await take_order(units, clock)
    watcher = Watcher(units, handlers.rules(OrderSettings()))
    clock.advance(timedelta(days=41))  # past the promised date (order_body: due in 40 days)
    await watcher.tick()
    past_due = exception_id("order", "order.past_due", "order", order.id)
    async with units() as uow:
        await board.act(uow, past_due, ExceptionAction.RESOLVE, by="li.wei", note="customer agreed a new date")
    clock.advance(timedelta(days=1))
    await watcher.tick()
    raised = [e.data["kind"] for e in await events(units, "order.exception_raised")]
    assert raised.count("order.past_due") == 1
    assert not (await entry(units, past_due)).open


async def test_an_update_after_escalation_keeps_what_escalation_did(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    order, raised = await damaged_order(units, clock)
    clock.advance(KINDS[DAMAGE].deadline + timedelta(minutes=1))
    await Watcher(units, [board.escalations()]).tick()
    escalated = await entry(units, raised.data.exception_id)
    update = UPDATED["logistics"].model_validate(
        raised.data.model_dump() | {"facts": {"carrier_words": "crushed pallet, wet cartons"}}
    )
    async with units() as uow:
        await handlers.on_exception_event(Event.new(update, source="logistics", order_id=order.id, clock=clock), uow)
    shown = await entry(units, raised.data.exception_id)
    assert shown.facts == {"carrier_words": "crushed pallet, wet cartons"}
    assert (shown.severity, shown.level, shown.due_by) == ("critical", 1, escalated.due_by)


async def test_an_update_crossing_a_persons_resolve_does_not_reopen_it(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    order, raised = await damaged_order(units, clock)
    async with units() as uow:
        await board.act(uow, raised.data.exception_id, ExceptionAction.RESOLVE, by="li.wei", note="reshipped")
    update = UPDATED["logistics"].model_validate(raised.data.model_dump() | {"facts": {"carrier_words": "wet"}})
    async with units() as uow:  # sent by logistics before it read the person's resolve
        await handlers.on_exception_event(Event.new(update, source="logistics", order_id=order.id, clock=clock), uow)
    shown = await entry(units, raised.data.exception_id)
    assert not shown.open and shown.resolved_by == "li.wei"


async def test_escalation_stops_at_its_last_level(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    order, raised = await damaged_order(units, clock)
    watcher = Watcher(units, [board.escalations()])
    for _ in range(domain.MAX_ESCALATIONS + 3):
        clock.advance(KINDS[DAMAGE].deadline + timedelta(minutes=1))
        assert await watcher.tick() == 1  # never fails, however long it stays open
    assert (await entry(units, raised.data.exception_id)).level == domain.MAX_ESCALATIONS


async def test_a_rejected_event_marks_the_order_without_moving_it_and_a_person_clears_the_mark(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    order = await take_order(units, clock)
    rejected = REJECTED["billing"](rejected_topic="order.events", rejected_type="order.accepted", reason="boom")
    clock.advance(timedelta(hours=1))
    async with units() as uow:
        await handlers.on_lifecycle_event(Event.new(rejected, source="billing", order_id=order.id, clock=clock), uow)
    async with units() as uow:
        marked = await uow.get(Order, order.id)
    assert marked is not None and marked.attention and marked.updated_at == order.updated_at  # not a step
    [on_board] = [e for e in await events(units, "order.exception_raised") if e.data["kind"] == "order.event_rejected"]
    async with units() as uow:
        await board.act(uow, on_board.data["exception_id"], ExceptionAction.RESOLVE, by="li.wei", note="replayed")
        cleared = await uow.get(Order, order.id)
    assert cleared is not None and cleared.attention is None
