"""The tracking table's row rules, its cursors, the KPIs and the customer milestones: pure functions."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.order import kpis, milestones, tracking
from services.order.kpis import OrderFacts, Raised, Step
from services.order.models import Order
from services.order.tracking_api import BadRequest, Sort, decode_cursor, encode_cursor
from shared.clock import FixedClock
from shared.contracts import Envelope, ShipmentChanged, ShipmentPlanned

pytestmark = pytest.mark.unit
TODAY = date(2027, 3, 1)
NOW = datetime(2027, 3, 1, 8, tzinfo=UTC)


def order(status: str = "in_production", **fields: Any) -> Order:
    defaults: dict[str, Any] = {
        "id": "SO1",
        "customer": "ACME",
        "external_ref": "PO-1",
        "currency": "USD",
        "delivery_date": date(2027, 3, 20),
        "total_amount": Decimal(100),
        "terms": {},
        "status": status,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Order(**(defaults | fields))


def test_promised_is_the_confirmed_date_once_there_is_one() -> None:
    assert tracking.promised(order()) == date(2027, 3, 20)
    assert tracking.promised(order(confirmed_date=date(2027, 3, 25))) == date(2027, 3, 25)


def test_projected_delivery_is_the_eta_else_the_later_of_promise_and_completion_plus_shipping() -> None:
    assert tracking.projected_delivery(order()) == date(2027, 3, 20)
    assert tracking.projected_delivery(order(planned_completion=date(2027, 3, 10))) == date(2027, 3, 20)
    assert tracking.projected_delivery(order(planned_completion=date(2027, 3, 18))) == date(2027, 3, 23)
    assert tracking.projected_delivery(order(planned_completion=date(2027, 3, 18), eta=date(2027, 3, 19))) == date(
        2027, 3, 19
    )


@pytest.mark.parametrize(
    ("status", "milestone", "planned"),
    [
        ("in_review", "review_decision", None),
        ("accepted", "production_start", None),
        ("in_production", "production_completion", date(2027, 3, 12)),
        ("produced", "shipment", None),
        ("shipping", "delivery", date(2027, 3, 19)),
        ("in_transit", "delivery", date(2027, 3, 19)),
        ("delivered", "payment", date(2027, 4, 30)),
        ("closed", None, None),
        ("rejected", None, None),
        ("cancelled", None, None),
    ],
)
def test_next_milestone_follows_the_stage(status: str, milestone: str | None, planned: date | None) -> None:
    row = order(status, planned_completion=date(2027, 3, 12), eta=date(2027, 3, 19), next_due_date=date(2027, 4, 30))
    assert tracking.next_milestone(row) == (milestone, planned)


def test_delivery_without_an_eta_is_planned_for_the_promised_date() -> None:
    assert tracking.next_milestone(order("in_transit", confirmed_date=date(2027, 3, 22))) == (
        "delivery",
        date(2027, 3, 22),
    )


def test_lateness() -> None:
    assert not tracking.is_late(order(), today=TODAY)
    assert tracking.is_late(order(), today=date(2027, 3, 21))  # past the promise, not delivered
    assert tracking.is_late(order(planned_completion=date(2027, 3, 18)), today=TODAY)  # projected 23rd
    on_time = datetime(2027, 3, 20, 23, 59, tzinfo=UTC)
    assert not tracking.is_late(order("delivered", delivered_at=on_time), today=date(2027, 4, 1))
    assert tracking.is_late(order("delivered", delivered_at=on_time + timedelta(minutes=1)), today=TODAY)
    assert not tracking.is_late(order("cancelled"), today=date(2027, 4, 1))


def test_outstanding_is_invoiced_less_paid_and_credited_never_below_zero() -> None:
    assert tracking.outstanding(order(invoiced_amount=Decimal(100), paid_amount=Decimal(30))) == Decimal(70)
    row = order(invoiced_amount=Decimal(100), paid_amount=Decimal(90), credited_amount=Decimal(20))
    assert tracking.outstanding(row) == Decimal(0)


def test_a_cursor_comes_back_as_it_was_made() -> None:
    at = datetime(2027, 3, 1, 8, 30, 1, 123456, tzinfo=UTC)
    cursor = encode_cursor(Sort.CREATED_AT, True, at, "SO9")
    assert "=" not in cursor and decode_cursor(cursor, Sort.CREATED_AT, True) == (at, "SO9")
    money = encode_cursor(Sort.OUTSTANDING_AMOUNT, False, Decimal("12.30"), "SO1")
    assert decode_cursor(money, Sort.OUTSTANDING_AMOUNT, False) == (Decimal("12.30"), "SO1")


@pytest.mark.parametrize("cursor", ["", "!!!", "eyJ4IjoxfQ", encode_cursor(Sort.CREATED_AT, True, "yesterday", "SO1")])
def test_a_cursor_that_is_not_ours_is_refused(cursor: str) -> None:
    with pytest.raises(BadRequest, match="cursor is not valid"):
        decode_cursor(cursor, Sort.CREATED_AT, True)


def test_a_cursor_of_another_sort_is_refused() -> None:
    cursor = encode_cursor(Sort.CUSTOMER, False, "ACME", "SO1")
    with pytest.raises(BadRequest, match="made for sort customer asc"):
        decode_cursor(cursor, Sort.CUSTOMER, True)


# --- KPIs ----------------------------------------------------------------------------------------

START, END = datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC)


def facts(n: int, *, delivered: datetime | None = None, customer: str = "ACME", **more: Any) -> OrderFacts:
    fields: dict[str, Any] = {"status": "delivered", "created_at": START, "promised": date(2027, 3, 10)}
    fields |= {"delivered_at": delivered, "planned_completion": None} | more
    return OrderFacts(f"SO{n}", customer, **fields)


def test_on_time_rate_counts_orders_delivered_in_the_period() -> None:
    orders = [
        facts(1, delivered=datetime(2027, 3, 10, 20, tzinfo=UTC)),  # on the promised day
        facts(2, delivered=datetime(2027, 3, 11, tzinfo=UTC)),  # a day late
        facts(3, delivered=datetime(2027, 2, 28, tzinfo=UTC)),  # before the period
        facts(4),
    ]
    assert kpis.on_time(orders, START, END) == kpis.OnTime(delivered=2, on_time=1, rate=0.5)
    assert kpis.on_time([], START, END).rate is None


def step(n: int, type_: str, day: int, hour: int = 0) -> Step:
    return Step(f"SO{n}", type_, datetime(2027, 3, day, hour, tzinfo=UTC))


def test_lead_times_run_from_a_stages_first_event_to_the_next_stages_first() -> None:
    steps = [
        step(1, "order.review_requested", 1),
        step(1, "order.accepted", 2),
        step(1, "production.order_created", 2, 12),
        step(1, "production.started", 3),  # same stage: not a new start
        step(1, "production.order_ready", 6, 12),
        step(1, "logistics.shipment_tracked", 7, 12),  # shipping skipped: produced runs to in transit
        step(2, "order.accepted", 3),
        step(2, "production.order_created", 4),
        step(2, "production.order_ready", 6),
        step(2, "billing.invoice_issued", 6),  # not a stage
    ]
    orders = {"SO1": facts(1, planned_completion=date(2027, 3, 5)), "SO2": facts(2)}
    found = {t.stage: t for t in kpis.lead_times(kpis.stage_starts(steps), orders, START, END)}
    assert set(found) == {"in_review", "accepted", "in_production", "produced"}
    production = found["in_production"]
    assert (production.orders, production.actual_mean_days, production.actual_p50_days) == (2, 3.0, 3.0)
    assert (production.planned_orders, production.planned_mean_days) == (1, 3.0)  # 2nd to 5th
    assert found["produced"].actual_mean_days == 1.0 and found["produced"].planned_mean_days is None
    assert found["accepted"].actual_p50_days == 0.75  # 0.5 and 1 days


def test_a_stage_that_ended_outside_the_period_is_not_counted() -> None:
    steps = [step(1, "order.accepted", 1), Step("SO1", "production.order_created", END + timedelta(hours=1))]
    assert kpis.lead_times(kpis.stage_starts(steps), {}, START, END) == []


def test_delay_causes_and_counts_per_stage_and_customer() -> None:
    raised = [
        Raised("SO1", "ACME", "logistics", "carrier", START),
        Raised("SO1", "ACME", "logistics", "carrier", START),
        Raised("SO2", "Globex", "production", "supplier", START),
    ]
    assert [(c.stage, c.cause, c.exceptions) for c in kpis.delay_causes(raised)] == [
        ("logistics", "carrier", 2),
        ("production", "supplier", 1),
    ]
    created = [facts(1), facts(2, customer="Globex", status="in_production")]
    stages = {s.stage: (s.orders, s.exceptions) for s in kpis.per_stage(created, raised)}
    assert stages == {"delivered": (1, 0), "in_production": (1, 0), "logistics": (0, 2), "production": (0, 1)}
    delivered = [facts(1, delivered=datetime(2027, 3, 9, tzinfo=UTC))]
    customers = {c.customer: c for c in kpis.per_customer(created, delivered, raised)}
    assert (customers["ACME"].orders, customers["ACME"].on_time, customers["ACME"].exceptions) == (1, 1, 2)
    assert (customers["Globex"].delivered, customers["Globex"].exceptions) == (0, 1)


# --- milestones ---------------------------------------------------------------------------------


def envelope(data: Any) -> Envelope:
    return Envelope.new(data, source="logistics", order_id="SO1", clock=FixedClock(NOW))


def test_which_events_are_which_milestones() -> None:
    planned = envelope(
        ShipmentPlanned(
            shipment_id="SH1", tracking_number="T1", carrier="sf", mode="truck", packages=1, weight_kg=Decimal(1)
        )
    )
    assert milestones.milestone_of(planned) == milestones.Milestone.SHIPPED
    moved = envelope(ShipmentChanged(shipment_id="SH1", change_id="CH1"))
    assert milestones.milestone_of(moved) == milestones.Milestone.ETA_CHANGED
    assert (
        milestones.milestone_of(envelope(ShipmentChanged(shipment_id="SH1", change_id="CH1", cancelled=True))) is None
    )
    notice = milestones.notice(order("shipping"), planned, milestones.Milestone.SHIPPED)
    assert (notice.type, notice.data.tracking_number, notice.data.carrier) == ("milestone.shipped", "T1", "sf")


def test_a_milestone_reached_once_has_one_message_id_per_order() -> None:
    first, again = (
        envelope(ShipmentChanged(shipment_id="SH1", change_id="CH1")),
        envelope(ShipmentChanged(shipment_id="SH1", change_id="CH2")),
    )
    started = milestones.Milestone.PRODUCTION_STARTED
    assert milestones.message_id("SO1", started, first) == milestones.message_id("SO1", started, again)
    assert milestones.message_id("SO1", started, first) != milestones.message_id("SO2", started, first)
    changed = milestones.Milestone.ETA_CHANGED
    assert milestones.message_id("SO1", changed, first) != milestones.message_id("SO1", changed, again)
