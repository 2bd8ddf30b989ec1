"""Order review, clarification, changes and cancellation: each rule on the real PostgreSQL, with a fixed clock."""

import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook
from sqlmodel import col, select

from services.order import changes, domain, handlers, masters, review
from services.order.models import (
    BoardEntry,
    ChangeRequest,
    Clarification,
    Department,
    Exposure,
    Order,
    OrderVersion,
    Review,
)
from services.order.settings import OrderSettings
from shared import tables
from shared.clock import FixedClock
from shared.contracts import (
    ASSESSED,
    Envelope,
    Event,
    LineFeasibility,
    OrderLine,
    OrderTerms,
    ProductionCompleted,
    ProductionFeasibilityAssessed,
    ProductionOrderCreated,
    ReceivablesChanged,
    ShipmentPlanned,
)
from shared.unit_of_work import UnitOfWorkFactory
from tests.e2e.flows import order_body
from tests.integration.journal import outbox, watch
from tests.integration.orders import accepted, feasible, seed_masters

pytestmark = pytest.mark.integration
SERVICE = "order"


def terms_of(clock: FixedClock, **changes_: Any) -> OrderTerms:
    body = order_body(1, today=clock.now().date())
    lines = changes_.pop("lines", None)
    if lines is not None:
        body["lines"] = lines
    return OrderTerms.model_validate({**body, **changes_})


async def take(units: UnitOfWorkFactory, terms: OrderTerms) -> Order:
    await seed_masters(units)
    async with units() as uow:
        order, _ = await review.take_in(terms, uow, by="li.wei")
    return order


async def reload(units: UnitOfWorkFactory, order_id: str) -> Order:
    async with units() as uow:
        order = await uow.get(Order, order_id)
    assert order is not None
    return order


async def questions(units: UnitOfWorkFactory, order_id: str) -> list[Clarification]:
    async with units() as uow:
        query = select(Clarification).where(Clarification.order_id == order_id).order_by(col(Clarification.code))
        return await uow.all(query)


async def feasibility(units: UnitOfWorkFactory, order: Order, data: ProductionFeasibilityAssessed) -> None:
    async with units() as uow:
        await review.on_feasibility(Event.new(data, source="production", order_id=order.id, clock=uow.clock), uow)


async def types(units: UnitOfWorkFactory) -> list[str]:
    return [e.type for e in await outbox(units)]


async def test_a_clean_order_is_accepted_once_production_confirms_its_dates(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    order = await take(units, terms_of(clock))
    assert order.status == "in_review" and await questions(units, order.id) == []
    async with units() as uow:
        finance = await uow.get(Review, (order.id, "finance"))
    assert finance is not None and finance.decision == "approved" and "within" in finance.reason
    assert await types(units) == ["order.review_requested"]

    await feasibility(units, order, feasible(order))
    events = await outbox(units)
    assert [e.type for e in events] == ["order.review_requested", "order.accepted"]
    confirmed = events[-1].data["confirmed"]
    assert confirmed == [
        {"line_no": 1, "requested_date": str(order.delivery_date), "confirmed_date": str(order.delivery_date)}
    ]
    assert (await reload(units, order.id)).status == "accepted"


async def test_unknown_product_and_a_price_off_the_list_are_asked_not_guessed(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    lines = [
        {"line_no": 1, "product": "GX-999 mystery", "quantity": 5, "unit_price": "10.00"},
        {"line_no": 2, "product": "gx-200 GEARBOX", "quantity": 5, "unit_price": "70.00"},  # list 84.50, 5 %
        {"line_no": 3, "sku": "MT-7", "product": "mount", "quantity": 5, "unit": "kg", "unit_price": "6.80"},
    ]
    order = await take(units, terms_of(clock, lines=lines))
    asked = await questions(units, order.id)
    assert [(q.code, q.field) for q in asked] == [
        ("price_off_list", "lines.1.unit_price"),
        ("unit_mismatch", "lines.2.unit"),
        ("unknown_product", "lines.0.product"),
    ]
    assert "17.2 % below the list price 84.50" in asked[0].question
    await feasibility(units, order, feasible(order))
    assert (await reload(units, order.id)).status == "in_review"  # production approved; questions still open

    for q in asked[:-1]:
        async with units() as uow:
            await review.answer(uow, order.id, q.id, text="confirmed by mail 2027-01-05", by="li.wei")
    assert (await reload(units, order.id)).status == "in_review"
    async with units() as uow:
        await review.answer(uow, order.id, asked[-1].id, text="means GX-200", by="li.wei")
    assert (await reload(units, order.id)).status == "accepted"
    with pytest.raises(review.NotInReview):
        async with units() as uow:
            await review.answer(uow, order.id, asked[-1].id, text="again", by="li.wei")


async def test_a_line_production_cannot_make_in_time_is_confirmed_later_once_the_customer_agrees(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    order = await take(units, terms_of(clock))
    late = order.delivery_date + timedelta(days=9)
    data = ProductionFeasibilityAssessed(
        order_version=1, lines=[LineFeasibility(line_no=1, earliest_completion=late, feasible=False)]
    )
    await feasibility(units, order, data)
    [question] = await questions(units, order.id)
    confirmed = late + timedelta(days=5)
    assert question.code == "date_not_feasible" and str(confirmed) in question.question
    async with units() as uow:
        await review.answer(uow, order.id, question.id, text=f"customer accepts {confirmed}", by="li.wei")
    accepted_ = (await outbox(units))[-1]
    assert accepted_.type == "order.accepted"
    assert accepted_.data["confirmed"][0]["confirmed_date"] == str(confirmed)
    assert (await reload(units, order.id)).confirmed_date == confirmed


async def test_over_the_credit_limit_finance_decides_and_a_rejection_rejects_the_order(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    lines = [{"line_no": 1, "product": "GX-200 gearbox", "quantity": 300, "unit_price": "84.50"}]  # 25 350 > 20 000
    order = await take(units, terms_of(clock, customer="Harbour Retail Ltd", lines=lines))
    async with units() as uow:
        finance = await uow.get(Review, (order.id, "finance"))
    assert (
        finance is not None and finance.decision == "pending" and "exceed the credit limit 20000.00" in finance.reason
    )
    await feasibility(units, order, feasible(order))
    assert (await reload(units, order.id)).status == "in_review"
    async with units() as uow:
        await review.decide_review(uow, order.id, "finance", approve=False, reason="no prepayment", by="wang.fang")
    events = await outbox(units)
    assert events[-1].type == "order.rejected" and events[-1].data["reasons"] == ["finance: no prepayment"]
    assert (await reload(units, order.id)).status == "rejected"


async def test_open_receivables_published_by_billing_count_against_the_limit(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await seed_masters(units)
    data = ReceivablesChanged(
        customer="Harbour Retail Ltd", currency="USD", open_amount=Decimal("19000"), overdue_amount=Decimal(0)
    )
    async with units() as uow:
        await review.on_receivables(Event.new(data, source="billing", order_id="SO-other", clock=clock), uow)
    older = data.model_copy(update={"open_amount": Decimal(0)})
    stale = Event(
        Envelope.new(
            older, source="billing", order_id="SO-x", clock=clock, occurred_at=clock.now() - timedelta(hours=1)
        ),
        older,
    )
    async with units() as uow:
        await review.on_receivables(stale, uow)
    async with units() as uow:
        exposure = await uow.get(Exposure, ("Harbour Retail Ltd", "USD"))
    assert exposure is not None and exposure.open_amount == Decimal("19000")  # the late, older report changed nothing
    order = await take(units, terms_of(clock, customer="Harbour Retail Ltd"))  # 11 x 12.35
    async with units() as uow:
        finance = await uow.get(Review, (order.id, "finance"))
    assert finance is not None and finance.decision == "approved"  # 19 000 + 135.85 within 20 000


async def test_unanswered_questions_and_silent_departments_become_exceptions(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    lines = [{"line_no": 1, "product": "nothing we sell", "quantity": 5, "unit_price": "10.00"}]
    order = await take(units, terms_of(clock, lines=lines))
    rules = handlers.rules(OrderSettings())
    assert not [e for e in await watch(units, rules) if e.type == "order.exception_raised"]
    clock.advance(timedelta(hours=49))
    raised = [e.data["kind"] for e in await watch(units, rules) if e.type == "order.exception_raised"]
    assert sorted(raised) == ["order.clarification_overdue", "order.review_overdue"]
    [question] = await questions(units, order.id)
    async with units() as uow:
        await review.answer(uow, order.id, question.id, text="GX-100", by="li.wei")
    async with units() as uow:
        still = await uow.all(select(BoardEntry).where(col(BoardEntry.open)))
    assert [e.kind for e in still] == ["order.review_overdue"]  # production has still not answered


async def test_amending_in_review_makes_a_new_version_and_ignores_answers_about_the_old_one(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    lines = [{"line_no": 1, "product": "nothing we sell", "quantity": 5, "unit_price": "10.00"}]
    order = await take(units, terms_of(clock, lines=lines))
    stale = feasible(order)
    fixed = OrderTerms.model_validate(
        {**order.terms, "lines": [{"line_no": 1, "product": "GX-100 coupling", "quantity": 5, "unit_price": "12.35"}]}
    )
    async with units() as uow:
        amended = await review.amend(uow, order.id, fixed, reason="customer corrected line 1", by="li.wei")
    assert amended.version == 2
    [old_question] = await questions(units, order.id)
    assert not old_question.open and old_question.answer == "superseded by version 2"
    await feasibility(units, order, stale)  # production's answer about version 1
    assert (await reload(units, order.id)).status == "in_review"
    await feasibility(units, order, feasible(await reload(units, order.id)))
    assert (await reload(units, order.id)).status == "accepted"
    async with units() as uow:
        versions = await uow.all(select(OrderVersion).where(OrderVersion.order_id == order.id))
    assert [v.version for v in versions] == [1, 2]
    assert [e.data.get("order_version") for e in await outbox(units) if e.type == "order.review_requested"] == [1, 2]


async def assess(
    units: UnitOfWorkFactory, order_id: str, change_id: str, *, feasible: bool = True, **facts: Any
) -> None:
    for service, model in ASSESSED.items():
        data = model(change_id=change_id, feasible=feasible if service == "production" else True, **facts)
        async with units() as uow:
            await changes.on_assessed(Event.new(data, source=service, order_id=order_id, clock=uow.clock), uow)


async def request_change(
    units: UnitOfWorkFactory,
    order_id: str,
    *,
    reason: str,
    lines: list[OrderLine] | None = None,
    delivery_date: date | None = None,
    cancel_lines: list[int] | None = None,
    cancel_all: bool = False,
) -> ChangeRequest:
    """The merchandiser records a customer's change or cancellation (`changes.request`, as the HTTP API does)."""
    async with units() as uow:
        return await changes.request(
            uow,
            order_id,
            lines=lines,
            delivery_date=delivery_date,
            cancel_lines=cancel_lines or [],
            cancel_all=cancel_all,
            reason=reason,
            by="li.wei",
        )


async def produced(units: UnitOfWorkFactory, order_id: str, *, complete: bool) -> None:
    created = ProductionOrderCreated(
        work_order_id="WO1", line_no=1, product="GX-100", quantity=11, kind="make", planned_completion="2027-02-01"
    )
    events: list[Any] = [created]
    if complete:
        events.append(ProductionCompleted(work_order_id="WO1", good_quantity=11, scrap_quantity=0))
    for data in events:
        async with units() as uow:
            await handlers.on_lifecycle_event(
                Event.new(data, source="production", order_id=order_id, clock=uow.clock), uow
            )


async def test_a_change_is_assessed_then_accepted_as_a_new_version(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    order = await accepted(units, terms_of(clock))
    await produced(units, order.id, complete=False)
    lines = [{"line_no": 1, "product": "GX-100 coupling", "quantity": 20, "unit_price": "12.35"}]
    change = await request_change(
        units,
        order.id,
        lines=OrderTerms.model_validate({**order.terms, "lines": lines}).lines,
        reason="customer wants 20",
    )
    requested = (await outbox(units))[-1]
    assert requested.type == "order.change_requested" and requested.data["lines"][0]["quantity"] == 20
    with pytest.raises(changes.ChangeRefused, match="waiting for the impact assessment of logistics, production"):
        async with units() as uow:
            await changes.accept(uow, order.id, change.id, confirmation="mail", by="li.wei")
    with pytest.raises(changes.ChangeRefused, match="still open"):
        await request_change(units, order.id, delivery_date=order.delivery_date + timedelta(days=1), reason="x")
    await assess(units, order.id, change.id, work_in_progress=11)
    async with units() as uow:
        await changes.accept(uow, order.id, change.id, confirmation="customer mail 2027-01-06", by="li.wei")
    event = (await outbox(units))[-1]
    assert event.type == "order.change_accepted"
    assert (event.data["order_version"], event.data["total_amount"], event.data["previous_total"]) == (
        2,
        "247.00",
        "135.85",
    )
    stored = await reload(units, order.id)
    assert (stored.version, stored.total_amount) == (2, Decimal("247.00"))
    async with units() as uow:
        v2 = await uow.get(OrderVersion, (order.id, 2))
        v1 = await uow.get(OrderVersion, (order.id, 1))
    assert v1 is not None and v2 is not None
    assert domain.diff(v1.terms, v2.terms) == [{"field": "line 1.quantity", "before": 11, "after": 20}]


async def test_a_change_a_service_cannot_carry_out_is_not_accepted(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    order = await accepted(units, terms_of(clock))
    change = await request_change(
        units, order.id, delivery_date=order.delivery_date - timedelta(days=20), reason="earlier please"
    )
    await assess(units, order.id, change.id, feasible=False, note="the line is booked until then")
    with pytest.raises(changes.ChangeRefused, match="production: the line is booked until then"):
        async with units() as uow:
            await changes.accept(uow, order.id, change.id, confirmation="mail", by="li.wei")
    async with units() as uow:
        await changes.reject(uow, order.id, change.id, reason="customer keeps the date", by="li.wei")
    assert (await outbox(units))[-1].type == "order.change_rejected"
    assert (await reload(units, order.id)).version == 1


async def test_cancellation_rules_by_stage(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    order = await accepted(units, terms_of(clock))
    await produced(units, order.id, complete=True)
    with pytest.raises(changes.ChangeRefused, match="line 1 is already produced"):
        await request_change(units, order.id, cancel_lines=[1], reason="x")
    with pytest.raises(changes.ChangeRefused, match="no line 7"):
        await request_change(units, order.id, cancel_lines=[7], reason="x")
    planned = ShipmentPlanned(
        shipment_id="SH1", tracking_number="T1", carrier="sf", mode="truck", packages=1, weight_kg=1
    )
    async with units() as uow:
        await handlers.on_lifecycle_event(Event.new(planned, source="logistics", order_id=order.id, clock=clock), uow)
    with pytest.raises(changes.ChangeRefused, match="shipping can no longer be cancelled"):
        await request_change(units, order.id, cancel_all=True, reason="x")


async def test_whole_cancellation_ends_the_order(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    order = await accepted(units, terms_of(clock))
    change = await request_change(units, order.id, cancel_all=True, reason="project stopped")
    assert change.kind == "cancel" and change.cancelled_lines == [1]
    await assess(units, order.id, change.id)
    async with units() as uow:
        await changes.accept(uow, order.id, change.id, confirmation="signed letter", by="li.wei")
    assert (await outbox(units))[-1].type == "order.cancelled"
    assert (await reload(units, order.id)).status == "cancelled"
    later = ProductionCompleted(work_order_id="WO9", good_quantity=1, scrap_quantity=0)
    async with units() as uow:
        await handlers.on_lifecycle_event(Event.new(later, source="production", order_id=order.id, clock=clock), uow)
    assert (await reload(units, order.id)).status == "cancelled"  # nothing moves a cancelled order on


async def test_a_change_nobody_assesses_in_time_is_an_exception(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    order = await accepted(units, terms_of(clock))
    change = await request_change(
        units, order.id, delivery_date=order.delivery_date + timedelta(days=3), reason="later"
    )
    clock.advance(timedelta(hours=25))
    raised = [e for e in await watch(units, [changes.unanswered_changes()]) if e.type == "order.exception_raised"]
    assert [e.data["kind"] for e in raised] == ["order.change_unanswered"]
    assert "logistics and production did not assess" in raised[0].data["title"]
    await assess(units, order.id, change.id)
    async with units() as uow:
        entry = await uow.get(ChangeRequest, change.id)
        board = await uow.all(select(BoardEntry).where(BoardEntry.kind == "order.change_unanswered"))
    assert entry is not None and entry.status == "assessed" and not board[0].open


def test_master_files_report_every_bad_row_at_once() -> None:
    csv_body = b"sku,name,list_price,currency,lead_time_days\nA-1,Alpha,1.00,USD,3\nB-2,,x,ZZZ,3\n"
    with pytest.raises(tables.BadRows) as bad:
        tables.parse(csv_body, "text/csv", masters.ProductIn)
    assert str(bad.value).startswith("row 3: name:") and "list_price" in str(bad.value) and "currency" in str(bad.value)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["name", "credit_limit", "currency"])
    sheet.append(["Delta GmbH", 50000, "EUR"])
    data = io.BytesIO()
    book.save(data)
    [entry] = tables.parse(data.getvalue(), tables.XLSX, masters.CustomerIn)
    assert (entry.name, entry.credit_limit, entry.currency) == ("Delta GmbH", Decimal("50000.00"), "EUR")
    with pytest.raises(tables.BadRows, match="not a readable .xlsx"):
        tables.parse(b"PK\x03\x04 not really", tables.XLSX, masters.CustomerIn)


@pytest.mark.parametrize("body", [b"\r0", b'sku,name\n"unclosed,x\n', b"\xff\xfe", b"sku,name\r\nA,\x00B\r\n"])
def test_a_damaged_csv_is_a_clear_refusal(body: bytes) -> None:
    with pytest.raises(tables.BadRows):
        tables.parse(body, "text/csv", masters.ProductIn)


async def test_masters_are_written_in_one_statement_and_replaced_by_key(units: UnitOfWorkFactory) -> None:
    await seed_masters(units)
    changed = masters.ProductIn(
        sku="GX-100", name="GX-100 coupling", list_price=Decimal("13.00"), currency="USD", lead_time_days=12
    )
    fresh = masters.CustomerIn(name="Delta GmbH", credit_limit=Decimal(1000), currency="EUR")
    async with units() as uow:
        assert await masters.upsert(uow, [changed, fresh]) == 2
    async with units() as uow:
        products = {p.sku: p for p in await masters.products(uow)}
        customers = {c.name for c in await masters.customers(uow)}
    assert (products["GX-100"].list_price, products["GX-100"].lead_time_days) == (Decimal("13.00"), 12)
    assert len(products) == 5 and {"Delta GmbH", "ACME Industrial"} <= customers


async def test_without_reviewing_departments_a_clean_order_is_accepted_at_intake(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    async with units() as uow:
        for department in await uow.all(select(Department)):
            department.active = False
    order = await take(units, terms_of(clock))
    assert order.status == "accepted"
    assert await types(units) == ["order.review_requested", "order.accepted"]
