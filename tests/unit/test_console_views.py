"""The console's pure parts: the live feed's watermark, the table's query round trip, safe redirects, the plan
chart's rows and what a customer is told."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.order.console import feed, track, views
from services.order.models import LineProgress, TimelineEntry
from services.order.tracking_api import Sort
from shared.kinds import Severity

pytestmark = pytest.mark.unit
T0 = datetime(2027, 3, 1, 8, tzinfo=UTC)


def test_the_feed_tells_each_change_once_even_at_the_same_instant() -> None:
    mark = feed.Watermark(since=T0)
    assert mark.advance([("SO1", T0), ("SO2", T0)]) == ["SO1", "SO2"]
    assert mark.advance([("SO1", T0), ("SO2", T0)]) == []  # read again (>= since): nothing new
    later = T0 + timedelta(seconds=1)
    assert mark.advance([("SO3", T0), ("SO1", later), ("SO1", later)]) == ["SO3", "SO1"]
    assert mark.since == later and mark.seen == {("SO1", later)}
    assert mark.advance([]) == [] and mark.since == later


def test_an_event_is_one_server_sent_message() -> None:
    assert feed.message("orders", ["SO1"]) == 'event: orders\ndata: ["SO1"]\n\n'


def test_the_table_query_keeps_its_filters_in_its_links() -> None:
    view = views.TableQuery(
        customer="ACME", risk=Severity.HIGH, late="true", q="GX 100", sort=Sort.CUSTOMER, order="asc"
    )
    assert view.filters.status is not None and "closed" not in view.filters.status  # open orders by default
    assert (view.filters.customer, view.filters.risk, view.filters.late) == ("ACME", Severity.HIGH, True)
    url = view.url("/console/orders/rows", sort="risk", cursor=None)
    assert url == "/console/orders/rows?customer=ACME&risk=high&late=true&q=GX+100&sort=risk&order=asc"
    assert views.TableQuery(ended=True).filters.status is None  # every order
    assert views.TableQuery(status_in=[""]).filters.status == views.OPEN  # the select's "all open"


def test_a_bad_cursor_is_a_400() -> None:
    with pytest.raises(views.HTTPException) as refused:
        views.TableQuery(cursor="bm90LW91cnM").listing()
    assert refused.value.status_code == 400


@pytest.mark.parametrize(
    ("back", "expected"),
    [
        ("/console/kpis?from=2027-01-01", "/console/kpis?from=2027-01-01"),
        ("https://evil.example/", "/console/orders"),
        ("//evil.example/", "/console/orders"),
        ("/\\evil.example", "/console/orders"),
    ],
)
def test_going_back_stays_on_this_site(back: str, expected: str) -> None:
    assert views._local(back) == expected


def test_the_plan_chart_has_a_row_per_milestone_with_its_dates() -> None:
    plan = [
        {"name": "materials_ready", "planned": "2027-03-05", "projected": None, "actual": "2027-03-04"},
        {"name": "completed", "planned": "2027-03-20", "projected": "2027-03-23", "actual": None},
    ]
    progress = LineProgress(
        work_order_id="WO1", order_id="SO1", line_no=1, quantity=5, status="started", milestones=plan
    )
    rows = views.plan_chart([progress])
    assert [(r["milestone"], r["actual"], r["late"]) for r in rows] == [
        ("materials_ready", "2027-03-04", False),
        ("completed", None, True),  # projected past its plan
    ]


def _entry(kind: str, at: datetime, **data: Any) -> TimelineEntry:
    return TimelineEntry(order_id="SO1", event_id=f"{kind}{at}", type=kind, source="x", occurred_at=at, data=data)


def test_the_customer_is_told_each_milestone_once_and_nothing_held_or_partial() -> None:
    entries = [
        _entry("order.review_requested", T0),
        _entry("order.accepted", T0 + timedelta(hours=1)),
        _entry("production.started", T0 + timedelta(days=1)),
        _entry("production.started", T0 + timedelta(days=2)),  # a second work order
        _entry("logistics.shipment_planned", T0 + timedelta(days=5), held=True),
        _entry("logistics.shipment_planned", T0 + timedelta(days=6), held=False),
        _entry("logistics.shipment_delivered", T0 + timedelta(days=7), order_delivered=False),
        _entry("logistics.shipment_delivered", T0 + timedelta(days=8), order_delivered=True),
    ]
    told = track.customer_milestones(entries)
    assert [(m["milestone"], m["at"].date()) for m in told] == [
        ("confirmed", date(2027, 3, 1)),
        ("production_started", date(2027, 3, 2)),
        ("shipped", date(2027, 3, 7)),
        ("delivered", date(2027, 3, 9)),
    ]
