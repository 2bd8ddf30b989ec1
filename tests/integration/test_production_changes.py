"""Production's part of review, changes and cancellation on a real database and the injected clock:
feasibility from the plant's load, work orders planned from confirmed dates, the impact of a requested
change, work orders adjusted to an accepted change or stopped by a cancellation, readiness without them."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from sqlmodel import col, select

from services.production import changes, handlers, purchasing
from services.production.models import WorkOrder
from services.production.settings import ProductionSettings
from shared.clock import FixedClock
from shared.contracts import (
    ASSESSED,
    ChangeAssessed,
    ChangeKind,
    Envelope,
    Event,
    EventData,
    ExceptionResolved,
    LineDates,
    MesEvent,
    OrderAccepted,
    OrderCancelled,
    OrderChangeAccepted,
    OrderChangeRequested,
    OrderLine,
    OrderReviewRequested,
    OrderTerms,
    ProductionFeasibilityAssessed,
    ProductionOrderCreated,
    ProductionOrderReady,
    SupplierEvent,
    WorkOrderCancelled,
    WorkOrderChanged,
    exception_id,
)
from shared.unit_of_work import UnitOfWorkFactory
from tests.e2e.flows import order_body
from tests.integration.journal import handle, outbox, watch
from tests.integration.journal import types as all_types

pytestmark = pytest.mark.integration
SERVICE = "production"
RULES = handlers.rules(ProductionSettings(no_mes_report_hours=4))
TODAY = date(2027, 1, 4)  # the clock's day
DUE = TODAY + timedelta(days=40)  # order_body's delivery date


def types(events: list[Envelope]) -> list[str]:
    """The events' types, without the plans they moved (production.milestones_changed, said last)."""
    return [t for t in all_types(events) if t != "production.milestones_changed"]


def line(n: int, quantity: int, kind: str = "make", price: str = "2", **extra: Any) -> dict[str, Any]:
    return {"line_no": n, "product": f"GX-{n}", "quantity": quantity, "unit_price": price, "make_or_buy": kind} | extra


def terms(clock: FixedClock, *lines: dict[str, Any]) -> OrderTerms:
    body = order_body(1, today=clock.now().date())
    body["lines"] = list(lines)
    return OrderTerms.model_validate(body)


def event(clock: FixedClock, payload: EventData, order_id: str = "SO1") -> Event[Any]:
    return Event.new(payload, source="order", order_id=order_id, clock=clock)


def review(clock: FixedClock, *lines: dict[str, Any], version: int = 1) -> Event[OrderReviewRequested]:
    t = terms(clock, *lines)
    return event(clock, OrderReviewRequested(**t.model_dump(), total_amount=t.compute_total(), order_version=version))


def accepted(
    clock: FixedClock, *lines: dict[str, Any], order_id: str = "SO1", confirmed: list[LineDates] | None = None
) -> Event[OrderAccepted]:
    t = terms(clock, *lines)
    payload = OrderAccepted(**t.model_dump(), total_amount=t.compute_total(), confirmed=confirmed or [])
    return event(clock, payload, order_id)


def order_lines(*lines: dict[str, Any]) -> list[OrderLine]:
    return [OrderLine.model_validate(ln) for ln in lines]


def requested(
    clock: FixedClock, *lines: dict[str, Any], cancelled: tuple[int, ...] = (), due: date = DUE, change_id: str = "CR1"
) -> Event[OrderChangeRequested]:
    payload = OrderChangeRequested(
        change_id=change_id,
        kind=ChangeKind.CANCEL if cancelled and not lines else ChangeKind.CHANGE,
        order_version=2,
        lines=order_lines(*lines),
        cancelled_lines=list(cancelled),
        delivery_date=due,
        reason="the customer's forecast changed",
        respond_by=clock.now() + timedelta(days=1),
    )
    return event(clock, payload)


def change_accepted(
    clock: FixedClock, *lines: dict[str, Any], cancelled: tuple[int, ...] = (), due: date = DUE, change_id: str = "CR1"
) -> Event[OrderChangeAccepted]:
    payload = OrderChangeAccepted(
        change_id=change_id,
        kind=ChangeKind.CANCEL if cancelled else ChangeKind.CHANGE,
        order_version=2,
        lines=order_lines(*lines),
        cancelled_lines=list(cancelled),
        delivery_date=due,
        total_amount=Decimal(1),
        previous_total=Decimal(1),
    )
    return event(clock, payload)


def cancelled_order(clock: FixedClock, change_id: str = "CR9") -> Event[OrderCancelled]:
    return event(clock, OrderCancelled(change_id=change_id, reason="the customer withdrew", cancelled_at=clock.now()))


def mes(clock: FixedClock, wo: str, kind: str, good: int = 0) -> MesEvent:
    return MesEvent(message_id=uuid4().hex, occurred_at=clock.now(), type=kind, work_order_id=wo, good_quantity=good)


def supplier(clock: FixedClock, po: str, kind: str, quantity: int = 0) -> SupplierEvent:
    return SupplierEvent(
        message_id=uuid4().hex, occurred_at=clock.now(), type=kind, purchase_order_id=po, quantity=quantity
    )


async def work_orders(units: UnitOfWorkFactory, order_id: str = "SO1") -> list[WorkOrder]:
    async with units() as uow:
        query = select(WorkOrder).where(WorkOrder.order_id == order_id)
        return list((await uow.session.exec(query.order_by(col(WorkOrder.line_no), col(WorkOrder.change_id)))).all())


async def opened(units: UnitOfWorkFactory, clock: FixedClock, *lines: dict[str, Any]) -> list[WorkOrder]:
    """Order SO1 accepted with these lines; its work orders by line."""
    await handle(units, handlers.on_order_accepted, accepted(clock, *lines))
    return await work_orders(units)


async def report(units: UnitOfWorkFactory, clock: FixedClock, wo: WorkOrder, *steps: str, good: int = 0) -> None:
    for step in steps:
        await handle(units, handlers.on_mes_event, mes(clock, wo.id, step, good if step == "completed" else 0))


# --- feasibility ------------------------------------------------------------------------


async def test_review_answers_each_line_by_the_plants_load(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, line(1, 30_000), order_id="SO0"))
    [answer] = await handle(units, changes.on_order_review_requested, review(clock, line(1, 5_000), version=3))
    assert (answer.type, answer.order_id) == ("production.feasibility_assessed", "SO1")
    data = answer.payload(ProductionFeasibilityAssessed)
    # 30 000 queued ahead + 5 000: two days of the default 20 000 a day, after three days' lead
    assert (data.order_version, data.note) == (3, "")
    assert [(ln.line_no, ln.earliest_completion, ln.feasible) for ln in data.lines] == [(1, date(2027, 1, 9), True)]


async def test_review_queues_lines_and_flags_one_that_cannot_ship_in_time(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    lines = (line(1, 15_000), line(2, 10_000), line(3, 10, "buy", requested_date=str(TODAY + timedelta(days=15))))
    [answer] = await handle(units, changes.on_order_review_requested, review(clock, *lines))
    data = answer.payload(ProductionFeasibilityAssessed)
    assert [(ln.line_no, ln.earliest_completion, ln.feasible) for ln in data.lines] == [
        (1, date(2027, 1, 8), True),
        (2, date(2027, 1, 9), True),  # behind line 1: 25 000 pieces take two days
        (3, date(2027, 1, 16), False),  # bought: 10 days' lead, but due on the 19th it must be complete by the 14th
    ]
    assert data.note == "line 3 cannot be complete in time to ship by the date asked"


async def test_completed_and_cancelled_work_orders_are_no_load(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    done, dropped, waiting = await opened(units, clock, line(1, 20_000), line(2, 20_000), line(3, 19_000))
    await report(units, clock, done, "completed", good=20_000)
    await handle(
        units,
        changes.on_order_change_accepted,
        change_accepted(clock, line(1, 20_000), line(3, 19_000), cancelled=(2,)),
    )
    [answer] = await handle(units, changes.on_order_review_requested, review(clock, line(1, 1_000)))
    [assessed] = answer.payload(ProductionFeasibilityAssessed).lines
    assert assessed.earliest_completion == date(2027, 1, 8)  # 19 000 + 1 000: one day


# --- work orders from the accepted order ------------------------------------------------


async def test_a_confirmed_date_plans_its_line(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    confirmed = [LineDates(line_no=2, requested_date=DUE, confirmed_date=date(2027, 2, 1))]
    await handle(units, handlers.on_order_accepted, accepted(clock, line(1, 5), line(2, 7), confirmed=confirmed))
    first, second = await work_orders(units)
    assert (first.planned_completion, second.planned_completion) == (DUE - timedelta(days=5), date(2027, 1, 27))
    assert (second.unit_price, second.delivery_date) == (Decimal("2.00"), DUE)


# --- change assessment ------------------------------------------------------------------


async def test_a_change_of_an_order_not_known_yet_is_answered(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    [answer] = await handle(units, changes.on_order_change_requested, requested(clock, line(1, 40)))
    assert answer.type == "production.change_assessed"
    data = answer.payload(ASSESSED["production"])
    assert (data.change_id, data.feasible, data.made, data.work_in_progress) == ("CR1", True, 0, 0)
    assert (data.material_bought, data.new_date, data.note) == (0, date(2027, 1, 8), "")


async def test_a_change_reports_what_is_made_in_progress_and_stranded(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    made, bought, untouched = await opened(units, clock, line(1, 100), line(2, 50, "buy", "3.10"), line(3, 9))
    await report(units, clock, made, "started", "completed", good=100)
    await handle(units, purchasing.on_supplier_event, supplier(clock, bought.id, "confirmed"))  # the purchase is on
    await report(units, clock, untouched, "started")
    change = requested(clock, line(1, 130), line(2, 20, "buy", "3.10"), line(3, 9))
    data = (await handle(units, changes.on_order_change_requested, change))[0].payload(ChangeAssessed)
    assert (data.feasible, data.made, data.work_in_progress) == (True, 100, 50)  # line 3 is not changed
    assert data.material_bought == Decimal("55.80")  # 30 bought pieces no longer wanted x 3.10 x 0.6
    assert data.new_date == date(2027, 1, 8)  # 30 more pieces behind the 59 still open: one day
    nothing_more = requested(clock, line(1, 100), line(2, 20, "buy", "3.10"), line(3, 9))
    assert (await handle(units, changes.on_order_change_requested, nothing_more))[0].data["new_date"] is None


async def test_a_change_below_what_is_made_or_cancelling_a_made_line_is_not_feasible(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    first, second = await opened(units, clock, line(1, 100), line(2, 10))
    await report(units, clock, first, "completed", good=99)
    below = (await handle(units, changes.on_order_change_requested, requested(clock, line(1, 80), line(2, 10))))[0]
    assert (below.data["feasible"], below.data["made"]) == (False, 99)
    assert below.data["note"] == "line 1 cannot go below the 99 pieces already made"
    cancel = (await handle(units, changes.on_order_change_requested, requested(clock, line(2, 10), cancelled=(1,))))[0]
    assert (cancel.data["feasible"], cancel.data["note"]) == (
        False,
        "line 1 is already made (99 pieces) and cannot be cancelled",
    )
    other = (await handle(units, changes.on_order_change_requested, requested(clock, line(1, 100), cancelled=(2,))))[0]
    assert (other.data["feasible"], other.data["made"]) == (True, 0)


# --- accepted changes -------------------------------------------------------------------


async def test_an_open_work_order_takes_the_new_quantity_and_date(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    first, second = await opened(units, clock, line(1, 100), line(2, 10))
    later = DUE + timedelta(days=10)
    events = await handle(
        units, changes.on_order_change_accepted, change_accepted(clock, line(1, 60), line(2, 10), due=later)
    )
    assert types(events) == ["production.work_order_changed", "production.work_order_changed"]
    changed = [e.payload(WorkOrderChanged) for e in events if e.type == "production.work_order_changed"]
    assert [(c.work_order_id, c.quantity, c.planned_completion, c.change_id) for c in changed] == [
        (first.id, 60, later - timedelta(days=5), "CR1"),
        (second.id, 10, later - timedelta(days=5), "CR1"),
    ]
    assert [(w.quantity, w.planned_completion) for w in await work_orders(units)] == [
        (60, later - timedelta(days=5)),
        (10, later - timedelta(days=5)),
    ]
    same_date = await handle(
        units,
        changes.on_order_change_accepted,
        change_accepted(clock, line(1, 70), line(2, 10), due=later, change_id="CR2"),
    )
    assert [(e.data["quantity"], e.data["planned_completion"]) for e in same_date if "quantity" in e.data] == [
        (70, str(later - timedelta(days=5)))
    ]


async def test_a_grown_completed_line_and_a_new_line_get_new_work_orders(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    [done] = await opened(units, clock, line(1, 100))
    await report(units, clock, done, "completed", good=100)
    async with units() as uow:
        await changes.on_order_change_accepted(change_accepted(clock, line(1, 150), line(2, 8, "buy")), uow)
        released = list(uow.released)
    events = [e for e in await outbox(units) if e.type == "production.order_created"][-2:]
    created = [e.payload(ProductionOrderCreated) for e in events]
    assert [(c.line_no, c.quantity, c.kind) for c in created] == [(1, 50, "make"), (2, 8, "buy")]
    assert released == [c.work_order_id for c in created]  # MES reports waiting for them replay
    rows = await work_orders(units)
    assert [(w.line_no, w.quantity, w.status, w.change_id) for w in rows] == [
        (1, 100, "completed", ""),
        (1, 50, "planned", "CR1"),
        (2, 8, "planned", "CR1"),
    ]


async def test_cancelled_lines_stop_what_is_not_complete(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    kept, started, planned = await opened(units, clock, line(1, 10), line(2, 20), line(3, 30))
    await report(units, clock, started, "started")
    events = await handle(
        units, changes.on_order_change_accepted, change_accepted(clock, line(1, 10), cancelled=(2, 3))
    )
    assert types(events) == ["production.work_order_cancelled", "production.work_order_cancelled"]
    stopped = [e.payload(WorkOrderCancelled) for e in events]
    assert [(s.work_order_id, s.line_no, s.made_quantity, s.change_id) for s in stopped] == [
        (started.id, 2, 0, "CR1"),
        (planned.id, 3, 0, "CR1"),
    ]
    assert [w.status for w in await work_orders(units)] == ["planned", "cancelled", "cancelled"]


async def test_a_change_that_leaves_only_complete_work_orders_makes_the_order_ready(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    done, waiting = await opened(units, clock, line(1, 10), line(2, 20))
    await report(units, clock, done, "completed", good=10)
    change = change_accepted(clock, line(1, 10), cancelled=(2,))
    events = await handle(units, changes.on_order_change_accepted, change)
    assert types(events) == ["production.work_order_cancelled", "production.order_ready"]
    ready = events[1].payload(ProductionOrderReady)
    assert (ready.work_order_ids, ready.quantity) == ([done.id], 10)
    assert await handle(units, changes.on_order_change_accepted, change) == []  # the same change again
    again = change_accepted(clock, line(1, 10), cancelled=(2,), change_id="CR2")
    assert await handle(units, changes.on_order_change_accepted, again) == []  # ready already: said once


async def test_the_same_change_applied_twice_changes_nothing_more(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    done, resized = await opened(units, clock, line(1, 10), line(2, 20))
    await report(units, clock, done, "completed", good=10)
    change = change_accepted(clock, line(1, 25), line(2, 5), line(3, 1), due=DUE + timedelta(days=3))
    first = await handle(units, changes.on_order_change_accepted, change)
    assert sorted(types(first)) == [
        "production.order_created",
        "production.order_created",
        "production.work_order_changed",
    ]
    assert all_types(first)[-3:] == ["production.milestones_changed"] * 3  # each work order's plan, once
    before = [(w.id, w.quantity, w.status, w.planned_completion) for w in await work_orders(units)]
    assert await handle(units, changes.on_order_change_accepted, change) == []
    assert [(w.id, w.quantity, w.status, w.planned_completion) for w in await work_orders(units)] == before
    assert len(before) == 4


async def test_completing_a_changed_work_order_is_measured_against_the_new_quantity(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    smaller, larger = await opened(units, clock, line(1, 100), line(2, 10))
    await handle(units, changes.on_order_change_accepted, change_accepted(clock, line(1, 50), line(2, 200)))
    events = await handle(units, handlers.on_mes_event, mes(clock, smaller.id, "completed", 50))
    assert types(events) == ["production.completed"]  # 50 of 50, not 50 short of 100
    events = await handle(units, handlers.on_mes_event, mes(clock, larger.id, "completed", 10))
    assert types(events) == ["production.completed", "production.exception_raised", "production.order_ready"]
    assert events[1].data["facts"] == {"ordered": 200, "good": 10, "scrap": 0}


# --- cancellation -----------------------------------------------------------------------


async def test_a_cancelled_order_stops_every_open_work_order(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    done, started, planned = await opened(units, clock, line(1, 10), line(2, 20), line(3, 30))
    await report(units, clock, done, "completed", good=10)
    await report(units, clock, started, "started")
    await handle(units, handlers.on_order_accepted, accepted(clock, line(1, 5), order_id="SO2"))
    events = await handle(units, changes.on_order_cancelled, cancelled_order(clock))
    assert types(events) == ["production.work_order_cancelled"] * 2
    assert {(e.data["work_order_id"], e.data["made_quantity"], e.data["change_id"]) for e in events} == {
        (started.id, 0, "CR9"),
        (planned.id, 0, "CR9"),
    }
    assert [w.status for w in await work_orders(units)] == ["completed", "cancelled", "cancelled"]
    assert [w.status for w in await work_orders(units, "SO2")] == ["planned"]  # another order's
    assert await handle(units, changes.on_order_cancelled, cancelled_order(clock)) == []


async def test_mes_reports_of_a_cancelled_work_order_are_ignored(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    [wo] = await opened(units, clock, line(1, 10))
    await report(units, clock, wo, "started")
    clock.advance(timedelta(hours=5))
    [raised] = await watch(units, RULES)
    assert raised.type == "production.exception_raised"  # silent for five hours
    events = await handle(units, changes.on_order_cancelled, cancelled_order(clock))
    assert types(events) == ["production.work_order_cancelled", "production.exception_resolved"]
    resolved = events[1].payload(ExceptionResolved)
    assert resolved.exception_id == exception_id(SERVICE, "production.no_mes_report", "work_order", wo.id)
    for step in ("operation_reported", "completed"):
        assert await handle(units, handlers.on_mes_event, mes(clock, wo.id, step, 10)) == []
    [after] = await work_orders(units)
    assert (after.status, after.good_quantity, after.completed_at) == ("cancelled", 0, None)
    clock.advance(timedelta(hours=10))
    assert await watch(units, RULES) == []  # no longer watched
