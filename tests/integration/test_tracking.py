"""The tracking table on a real database: the read model, filters, search, sort, cursor paging, exports, KPIs."""

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlalchemy import text

from services.order import handlers, tracking_api
from services.order.models import BoardEntry, Order, TimelineEntry
from shared import http, tables
from shared.clock import FixedClock
from shared.contracts import (
    Event,
    InstallmentTrigger,
    InvoiceIssued,
    Milestone,
    MilestoneName,
    MilestonesChanged,
    OrderTerms,
    PaymentReceived,
    ProductionOrderCreated,
    ShipmentDelivered,
    ShipmentHeld,
    ShipmentLine,
    ShipmentPlanned,
    ShipmentReleased,
)
from shared.unit_of_work import UnitOfWorkFactory
from tests.e2e.flows import order_body
from tests.integration.orders import accepted

pytestmark = pytest.mark.integration
SERVICE = "order"
Api = httpx.AsyncClient


@pytest.fixture
async def api(units: UnitOfWorkFactory, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(tracking_api.router)
    http.install(app, max_body_bytes=1 << 20)
    app.state.runtime = SimpleNamespace(units=units, sessions=units.sessions, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://order") as client:
        yield client


def make(n: int, clock: FixedClock, **fields: Any) -> Order:
    """An order row as intake and the events would leave it; created n minutes after the clock."""
    at = clock.now() + timedelta(minutes=n)
    values: dict[str, Any] = {
        "id": f"SO{n:03d}",
        "customer": "ACME Industrial",
        "external_ref": f"PO-{n:03d}",
        "currency": "USD",
        "delivery_date": clock.now().date() + timedelta(days=30 + n % 7),
        "total_amount": Decimal(100 + n),
        "terms": {},
        "status": "accepted",
        "created_at": at,
        "updated_at": at,
    }
    values |= fields
    if "search" not in fields:
        values["search"] = f"{values['customer']} {values['external_ref']} gx-100 coupling gx-100".lower()
    return Order(**values)


async def add(units: UnitOfWorkFactory, *rows: Any) -> None:
    async with units() as uow:
        for row in rows:
            uow.session.add(row)


async def table(api: Api, **params: Any) -> list[dict[str, Any]]:
    answer = await api.get("/tracking", params={"limit": 500, **params})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["rows"])


async def ids(api: Api, **params: Any) -> set[str]:
    return {r["id"] for r in await table(api, **params)}


async def test_a_row_folds_the_events_of_every_service(units: UnitOfWorkFactory, clock: FixedClock, api: Api) -> None:
    body = order_body(1, today=clock.now().date())
    body["lines"][0] |= {"sku": "GX-100"}
    order = await accepted(units, OrderTerms.model_validate(body))
    completion = clock.now().date() + timedelta(days=38)  # + 5 days shipping: after the promise
    events = [
        ProductionOrderCreated(
            work_order_id="WO1",
            line_no=1,
            product="GX-100 coupling",
            quantity=11,
            kind="make",
            planned_completion=completion,
        ),
        InvoiceIssued(
            invoice_id="IN1",
            invoice_number="INV-1",
            amount=Decimal("40.76"),
            currency="USD",
            due_date=clock.now().date() + timedelta(days=10),
            trigger=InstallmentTrigger.ACCEPTANCE,
        ),
        PaymentReceived(payment_id="P1", invoice_number="INV-1", amount=Decimal("10.00"), match="partial"),
    ]
    for data, source in zip(events, ["production", "billing", "billing"], strict=True):
        async with units() as uow:
            await handlers.on_lifecycle_event(Event.new(data, source=source, order_id=order.id, clock=clock), uow)

    [row] = await table(api)
    promised = date.fromisoformat(row["promised_date"])
    assert row["id"] == order.id and row["status"] == "in_production"
    assert (row["next_milestone"], row["next_milestone_date"]) == ("production_completion", completion.isoformat())
    projected = completion + timedelta(days=5)
    assert row["projected_delivery"] == projected.isoformat() and promised < projected
    assert row["late"] is True  # projected after the promise
    assert (row["invoiced_amount"], row["paid_amount"], row["outstanding_amount"]) == ("40.76", "10.00", "30.76")
    assert row["next_due_date"] == (clock.now().date() + timedelta(days=10)).isoformat()
    assert "terms" not in row and "search" not in row
    assert await ids(api, q="gx-100") == {order.id} and await ids(api, q="gx-200") == set()


async def follow(units: UnitOfWorkFactory, clock: FixedClock, order_id: str, *events: tuple[Any, str]) -> None:
    for data, source in events:
        async with units() as uow:
            await handlers.on_lifecycle_event(Event.new(data, source=source, order_id=order_id, clock=clock), uow)


def plan(work_order: str, line_no: int, today: date, *, started: int, projected: int | None, done: int) -> Any:
    """A work order's plan: materials reached, production start `started` days out (maybe projected later)."""
    day = lambda n: today + timedelta(days=n)  # noqa: E731
    return MilestonesChanged(
        work_order_id=work_order,
        line_no=line_no,
        milestones=[
            Milestone(name=MilestoneName.MATERIALS_READY, planned=day(1), actual=day(1)),
            Milestone(
                name=MilestoneName.PRODUCTION_STARTED,
                planned=day(started),
                projected=day(projected) if projected else None,
            ),
            Milestone(name=MilestoneName.COMPLETED, planned=day(done)),
        ],
    )


async def test_the_next_milestone_is_production_s_earliest_unreached_one_over_all_lines(
    units: UnitOfWorkFactory, clock: FixedClock, api: Api
) -> None:
    order = await accepted(units, OrderTerms.model_validate(order_body(1, today=clock.now().date())))
    today = clock.now().date()
    await follow(units, clock, order.id, (plan("WO1", 1, today, started=5, projected=None, done=20), "production"))
    [row] = await table(api)
    assert (row["next_milestone"], row["next_milestone_date"]) == ("production_started", str(today + timedelta(5)))
    # the line's start slips to day 9 and a second line plans its start on day 7: the second is next now
    await follow(
        units,
        clock,
        order.id,
        (plan("WO1", 1, today, started=5, projected=9, done=45), "production"),
        (plan("WO2", 2, today, started=7, projected=None, done=25), "production"),
    )
    [row] = await table(api)
    assert (row["next_milestone"], row["next_milestone_date"]) == ("production_started", str(today + timedelta(7)))
    # planned completion follows the last line's completion, so the projected delivery moves with it
    assert row["projected_delivery"] == str(today + timedelta(45 + 5))  # after the promise (40 days)


async def test_a_partial_delivery_is_not_the_order_delivered_and_a_hold_shows_until_released(
    units: UnitOfWorkFactory, clock: FixedClock, api: Api
) -> None:
    order = await accepted(units, OrderTerms.model_validate(order_body(2, today=clock.now().date())))
    part = {"tracking_number": "T1", "carrier": "sf-express", "mode": "truck", "packages": 1, "weight_kg": 5}
    held = ShipmentHeld(amount_due=Decimal("8.00"), currency="USD", invoice_numbers=["INV-9"], reason="balance unpaid")
    await follow(
        units,
        clock,
        order.id,
        (
            ShipmentPlanned(shipment_id="SH1", held=True, lines=[ShipmentLine(line_no=1, quantity=6)], **part),
            "logistics",
        ),
        (held, "billing"),
    )
    [row] = await table(api)
    assert row["shipment_hold"] == "balance unpaid (8.00 USD due)" and row["shipments"] == 1
    await follow(
        units,
        clock,
        order.id,
        (ShipmentReleased(released_at=clock.now()), "billing"),
        (ShipmentPlanned(shipment_id="SH2", **{**part, "tracking_number": "T2"}), "logistics"),
        (
            ShipmentDelivered(shipment_id="SH1", delivered_at=clock.now(), received_quantity=6, order_delivered=False),
            "logistics",
        ),
    )
    [row] = await table(api)
    assert row["shipment_hold"] is None and (row["shipments"], row["shipments_delivered"]) == (2, 1)
    assert row["status"] == "in_transit" and row["delivered_at"] is None
    await follow(
        units,
        clock,
        order.id,
        (
            ShipmentDelivered(shipment_id="SH2", delivered_at=clock.now(), received_quantity=5, order_delivered=True),
            "logistics",
        ),
    )
    [row] = await table(api)
    assert row["status"] == "delivered" and row["delivered_at"] is not None and row["shipments_delivered"] == 2


async def test_filters(units: UnitOfWorkFactory, clock: FixedClock, api: Api) -> None:
    today = clock.now().date()
    await add(
        units,
        make(1, clock, status="in_review"),
        make(2, clock, status="in_production", customer="Globex", worst_severity="high", open_exceptions=2),
        make(3, clock, status="in_transit", worst_severity="low", open_exceptions=1, eta=today + timedelta(days=60)),
        make(4, clock, status="delivered", delivered_at=clock.now(), delivery_date=today - timedelta(days=1)),
        make(5, clock, status="shipping", delivery_date=today - timedelta(days=2)),  # past its promise
        make(6, clock, status="cancelled", delivery_date=today - timedelta(days=2)),  # not late: over
        make(
            7,
            clock,
            status="accepted",
            confirmed_date=today + timedelta(days=90),
            created_at=clock.now() - timedelta(days=3),
        ),
    )
    assert await ids(api, status=["in_transit", "shipping"]) == {"SO003", "SO005"}
    assert await ids(api, customer="Globex") == {"SO002"}
    assert await ids(api, risk="medium") == {"SO002"}
    assert await ids(api, risk="low") == {"SO002", "SO003"}
    assert await ids(api, late="true") == {"SO003", "SO004", "SO005"}
    everything = await table(api)
    assert {r["id"] for r in everything if r["late"]} == {"SO003", "SO004", "SO005"}  # the SQL and Python agree
    assert await ids(api, late="false") == {"SO001", "SO002", "SO006", "SO007"}
    assert await ids(api, promised_from=(today + timedelta(days=90)).isoformat()) == {"SO007"}
    assert await ids(api, promised_to=(today - timedelta(days=1)).isoformat()) == {"SO004", "SO005", "SO006"}
    yesterday = (today - timedelta(days=3)).isoformat()
    assert await ids(api, created_from=yesterday, created_to=yesterday) == {"SO007"}
    assert await ids(api, created_from=today.isoformat(), customer="ACME Industrial", status="accepted") == set()
    assert await ids(api, customer="Globex", late="true") == set()


async def test_search_finds_fragments_of_customer_reference_product_and_sku(
    units: UnitOfWorkFactory, clock: FixedClock, api: Api
) -> None:
    await add(
        units,
        make(1, clock, customer="Shenzhen Brightlight", search="shenzhen brightlight po-77812 led panel 60x60 lp-6060"),
        make(2, clock, search="acme industrial po-10_5 gx-200 gearbox gx-200"),
        make(3, clock, search="acme industrial po-105 gx-100 coupling gx-100"),
    )
    assert await ids(api, q="bright") == {"SO001"}
    assert await ids(api, q="7781") == {"SO001"}
    assert await ids(api, q="LP-606") == {"SO001"}  # any case
    assert await ids(api, q="gearbox") == {"SO002"}
    assert await ids(api, q="acme gx-100") == {"SO003"}  # every word
    assert await ids(api, q="po-10_") == {"SO002"}  # _ and % are literal, not patterns
    assert await ids(api, q="%") == set()
    async with units() as uow:  # the trigram index can serve the search
        await uow.session.exec(text("SET LOCAL enable_seqscan = off"))  # type: ignore[call-overload]
        query = "EXPLAIN SELECT id FROM orders WHERE search ILIKE '%brightl%'"
        plan = "\n".join(r[0] for r in (await uow.session.exec(text(query))).all())  # type: ignore[call-overload]
    assert "ix_orders_search_trgm" in plan, plan


def expected(rows: list[Order], key: str, descending: bool) -> list[str]:
    value = {
        "customer": lambda o: (o.customer, o.id),
        "total_amount": lambda o: (o.total_amount, o.id),
        "promised_date": lambda o: (o.confirmed_date or o.delivery_date, o.id),
        "created_at": lambda o: (o.created_at, o.id),
        "risk": lambda o: ({"high": 3, "medium": 2}.get(o.worst_severity or "", 0), o.id),
    }[key]
    return [o.id for o in sorted(rows, key=value, reverse=descending)]


async def walk(api: Api, limit: int, **params: Any) -> list[str]:
    found: list[str] = []
    cursor = None
    for _ in range(100):
        answer = await api.get("/tracking", params={"limit": limit, **params, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        found += [r["id"] for r in answer.json()["rows"]]
        if (cursor := answer.json()["next_cursor"]) is None:
            return found
    raise AssertionError("no last page")


@pytest.mark.parametrize(
    ("sort", "order"),
    [("created_at", "desc"), ("customer", "asc"), ("total_amount", "desc"), ("promised_date", "asc"), ("risk", "desc")],
)
async def test_every_page_in_sort_order_once(
    units: UnitOfWorkFactory, clock: FixedClock, api: Api, sort: str, order: str
) -> None:
    customers = ["Globex", "ACME Industrial", "Initech"]
    rows = [
        make(
            n,
            clock,
            customer=customers[n % 3],
            total_amount=Decimal(100 + n % 4),  # ties: the id decides
            worst_severity=["high", None, "medium"][n % 3],
        )
        for n in range(1, 24)
    ]
    await add(units, *rows)
    assert await walk(api, 5, sort=sort, order=order) == expected(rows, sort, order == "desc")


async def test_paging_is_stable_while_orders_come_in(units: UnitOfWorkFactory, clock: FixedClock, api: Api) -> None:
    await add(units, *(make(n, clock) for n in range(1, 11)))
    first = (await api.get("/tracking", params={"limit": 4, "sort": "created_at", "order": "asc"})).json()
    await add(units, make(0, clock, id="SO000a"), make(11, clock))  # one before the cursor, one after
    rest = await walk(api, 4, sort="created_at", order="asc", cursor=first["next_cursor"])
    assert [r["id"] for r in first["rows"]] + rest == [f"SO{n:03d}" for n in range(1, 12)]


async def test_bad_requests_are_answered_with_a_reason(units: UnitOfWorkFactory, clock: FixedClock, api: Api) -> None:
    await add(units, *(make(n, clock) for n in range(1, 4)))
    page = (await api.get("/tracking", params={"limit": 1, "sort": "customer"})).json()
    other = await api.get("/tracking", params={"sort": "total_amount", "cursor": page["next_cursor"]})
    assert other.status_code == 400 and "made for sort customer desc" in other.json()["detail"]
    for params in (
        {"cursor": "not-a-cursor"},
        {"cursor": "eyJzIjoiY3JlYXRlZF9hdCIsImQiOnRydWUsImsiOiJub3cifQ"},
        {"promised_from": "2027-02-01", "promised_to": "2027-01-01"},
        {"q": "a\x00b"},
    ):
        answer = await api.get("/tracking", params=params)
        assert answer.status_code == 400 and answer.json()["detail"], params
    for wrong in ({"sort": "secret"}, {"order": "sideways"}, {"status": "lost"}, {"risk": "dire"}, {"limit": "0"}):
        answer = await api.get("/tracking", params=wrong)
        assert answer.status_code == 422, wrong
    assert (await api.get("/tracking/export.csv", params={"cursor": "x", "late": "maybe"})).status_code == 422


async def test_exports_carry_the_same_rows_as_the_table(units: UnitOfWorkFactory, clock: FixedClock, api: Api) -> None:
    rows = [make(n, clock, customer="Globex" if n % 2 else "ACME Industrial") for n in range(1, 8)]
    rows.append(make(8, clock, customer='=HYPERLINK("http://evil")', external_ref="+1"))
    await add(units, *rows)
    params = {"customer": "Globex", "sort": "total_amount", "order": "asc"}
    shown = await table(api, **params)

    answer = await api.get("/tracking/export.csv", params=params)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert 'filename="tracking-20270104.csv"' in answer.headers["content-disposition"]
    exported = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["id"] for r in exported] == [r["id"] for r in shown] == ["SO001", "SO003", "SO005", "SO007"]
    assert exported[0]["total_amount"] == "101.00" and exported[0]["late"] == "false"
    assert exported[0]["promised_date"] == shown[0]["promised_date"] and exported[0]["worst_severity"] == ""

    answer = await api.get("/tracking/export.xlsx", params=params)
    assert answer.status_code == 200 and answer.headers["content-type"] == tables.XLSX
    sheet = load_workbook(io.BytesIO(answer.content), read_only=True)["tracking"]
    [header, *cells] = list(sheet.iter_rows(values_only=True))
    assert list(header) == tracking_api.COLUMNS
    found = [dict(zip(header, r, strict=True)) for r in cells]
    assert [r["id"] for r in found] == ["SO001", "SO003", "SO005", "SO007"]
    assert found[0]["total_amount"] == 101 and found[0]["late"] is False
    assert found[0]["created_at"] == clock.now().replace(tzinfo=None) + timedelta(minutes=1)

    hostile = await api.get("/tracking/export.xlsx", params={"q": "hyperlink"})
    [_, row] = list(load_workbook(io.BytesIO(hostile.content), read_only=True)["tracking"].iter_rows(values_only=True))
    assert row[1] == '=HYPERLINK("http://evil")'  # text, not a formula
    hostile_csv = list(csv.reader(io.StringIO((await api.get("/tracking/export.csv", params={"q": "hyperlink"})).text)))
    assert hostile_csv[1][1:3] == ['\'=HYPERLINK("http://evil")', "'+1"]


async def test_an_export_is_bounded(
    units: UnitOfWorkFactory, clock: FixedClock, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add(units, *(make(n, clock) for n in range(1, 8)))
    monkeypatch.setattr(tracking_api, "EXPORT_MAX", 5)
    monkeypatch.setattr(tracking_api, "EXPORT_BATCH", 2)  # several batches, each after the last
    exported = list(csv.DictReader(io.StringIO((await api.get("/tracking/export.csv")).text)))
    assert [r["id"] for r in exported] == ["SO007", "SO006", "SO005", "SO004", "SO003"]


async def test_kpis(units: UnitOfWorkFactory, clock: FixedClock, api: Api) -> None:
    clock.at = datetime(2027, 3, 15, 12, tzinfo=UTC)
    day = datetime(2027, 3, 1, tzinfo=UTC)
    on_time = make(1, clock, status="closed", created_at=day, delivery_date=date(2027, 3, 10))
    on_time.delivered_at = datetime(2027, 3, 10, 18, tzinfo=UTC)
    late = make(2, clock, status="delivered", customer="Globex", created_at=day, delivery_date=date(2027, 3, 5))
    late.delivered_at, late.planned_completion = datetime(2027, 3, 8, tzinfo=UTC), date(2027, 3, 4)
    old = make(3, clock, status="delivered", created_at=day - timedelta(days=60), delivery_date=date(2027, 1, 20))
    old.delivered_at = datetime(2027, 1, 19, tzinfo=UTC)
    timeline = [
        ("SO001", "order.accepted", 1),
        ("SO001", "production.order_created", 2),
        ("SO001", "production.order_ready", 6),
        ("SO002", "order.accepted", 1),
        ("SO002", "production.order_created", 1),
        ("SO002", "production.started", 2),
        ("SO002", "production.order_ready", 5),
        ("SO002", "logistics.shipment_delivered", 8),
        ("SO003", "production.order_created", 1),  # an order outside the period: nothing of it counts
    ]
    entries = [
        TimelineEntry(
            order_id=o,
            event_id=f"E{i}",
            type=t,
            source="x",
            occurred_at=day.replace(day=d) if o != "SO003" else day - timedelta(days=70),
            data={},
        )
        for i, (o, t, d) in enumerate(timeline)
    ]

    def exception(n: int, stage: str, cause: str, at: datetime, customer: str = "ACME Industrial") -> BoardEntry:
        return BoardEntry(
            id=f"EX{n}", order_id="SO001", customer=customer, service=stage, stage=stage, kind=f"{stage}.x",
            severity="medium", owner_role="merchandiser", subject_type="order", subject_id="SO001", title="t",
            facts={}, action="a", cause=cause, open=True, raised_at=at, due_by=at, updated_at=at,
        )  # fmt: skip

    board = [
        exception(1, "logistics", "carrier", day),
        exception(2, "logistics", "carrier", day + timedelta(days=3), "Globex"),
        exception(3, "production", "capacity", day + timedelta(days=1)),
        exception(4, "production", "capacity", day - timedelta(days=1)),  # before the period
    ]
    await add(units, on_time, late, old, *entries, *board)

    answer = await api.get("/kpis", params={"from": "2027-03-01", "to": "2027-03-31"})
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["on_time_delivery"] == {"delivered": 2, "on_time": 1, "rate": 0.5}
    stages = {t["stage"]: t for t in found["lead_times"]}
    production = stages["in_production"]
    assert (production["orders"], production["actual_mean_days"], production["actual_p50_days"]) == (2, 4.0, 4.0)
    assert (production["planned_orders"], production["planned_mean_days"]) == (1, 3.0)
    assert stages["produced"]["actual_mean_days"] == 3.0 and stages["accepted"]["actual_p50_days"] == 0.5
    assert found["delay_causes"] == [
        {"stage": "logistics", "cause": "carrier", "exceptions": 2},
        {"stage": "production", "cause": "capacity", "exceptions": 1},
    ]
    per_stage = {s["stage"]: (s["orders"], s["exceptions"]) for s in found["per_stage"]}
    assert per_stage == {"closed": (1, 0), "delivered": (1, 0), "logistics": (0, 2), "production": (0, 1)}
    customers = {c["customer"]: c for c in found["per_customer"]}
    assert customers["Globex"] == {"customer": "Globex", "orders": 1, "delivered": 1, "on_time": 0, "exceptions": 1}
    assert customers["ACME Industrial"]["on_time"] == 1 and customers["ACME Industrial"]["exceptions"] == 2

    march_first = (await api.get("/kpis", params={"from": "2027-03-01", "to": "2027-03-01"})).json()
    assert march_first["on_time_delivery"]["delivered"] == 0 and march_first["on_time_delivery"]["rate"] is None
    assert (await api.get("/kpis", params={"from": "2027-03-02", "to": "2027-03-01"})).status_code == 400
    assert (await api.get("/kpis", params={"from": "2025-01-01", "to": "2027-03-01"})).status_code == 400
    assert (await api.get("/kpis", params={"from": "yesterday", "to": "2027-03-01"})).status_code == 422
