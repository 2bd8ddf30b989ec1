"""Valid but unusual partner messages through the real handlers on the real PostgreSQL.

Every message is one a contract accepts: emoji, CJK, right-to-left text, combining marks, text of the
maximum length, amounts and weights written with many zeros, counts at their limits, times in any
offset. Each goes in as JSON through the service's own subscription and inbox, as the consumer
delivers it; a year later the service's watch rules run over what was stored. The property: every
handler and rule commits or raises Invalid or NotYet (nothing else), the text reaches the tables as
sent, and every event staged in the outbox fits in a Kafka message and parses back into its contract.

Hypothesis drives a synchronous property, so each test runs it in a worker thread with an event
loop and an engine of its own, on a fresh database of one service (four services in one module,
hence no `units` fixture). The tables are emptied before every example.
"""

import asyncio
import json
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, note, reject, settings, target
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from deploy.infra import Servers
from services.billing import handlers as billing_handlers
from services.billing.settings import BillingSettings
from services.logistics import handlers as logistics_handlers
from services.logistics.settings import LogisticsSettings
from services.order import handlers as order_handlers
from services.order import review as order_review
from services.order.settings import OrderSettings
from services.production import handlers as production_handlers
from services.production.settings import ProductionSettings
from shared import topics
from shared.clock import FixedClock
from shared.contracts import (
    EVENT_TYPES,
    MAX_ORDER_PIECES,
    CarrierException,
    CarrierTracking,
    Envelope,
    ErpOrder,
    FinancePayment,
    MesEvent,
    OrderAccepted,
    OrderTerms,
    ShipmentDelivered,
    WmsEvent,
)
from shared.db import make_engine, make_session_factory
from shared.errors import Invalid, NotYet
from shared.fields import MAX_MONEY, LongText, MessageId, Money, Name, OptionalText, PositiveMoney, Ref, Text, Weight
from shared.outbox import MAX_EVENT_BYTES
from shared.subscriptions import Subscription
from shared.unit_of_work import UnitOfWorkFactory
from shared.watcher import Rule
from tests.integration.conftest import SPECS, drop_database, fresh_database

pytestmark = pytest.mark.integration

HYPOTHESIS = settings(
    max_examples=100,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],  # explaining re-runs every flow traced
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
NOW = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
TODAY = NOW.date()
ORDER_ID = "SO1"

# --- valid, unusual values --------------------------------------------------------------

ODD_TEXT = (
    "😀",
    "👩\u200d👩\u200d👧",
    "中文",
    "𠀀",
    "العربية",
    "עברית",
    "\u202e",
    "\u200f",
    "e\u0301",
    "\u0301",
    "\ufeff",
    "\u2028",
    "\ufffd",
    "\U0010ffff",
    "'",
    '"',
    "\\",
    "%",
    "_",
    "ß",
    "İ",
    "\xa0",
    "\x85",
    "\t",
    "\r",
    "\n",
    " ",
)
PIECE = st.sampled_from(ODD_TEXT) | st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=6)


def _accepts(kind: Any) -> Callable[[Any], bool]:
    """Whether a field of type `kind` accepts a value."""
    adapter: TypeAdapter[Any] = TypeAdapter(kind)

    def accepts(value: Any) -> bool:
        try:
            adapter.validate_python(value)
        except ValidationError:
            return False
        return True

    return accepts


def _repeat(seed: str, length: int) -> str:
    """`seed` repeated to exactly `length` characters."""
    return (seed * length)[:length] if seed else ""


def texts(kind: Any, max_length: int) -> st.SearchStrategy[str]:
    """Text a field of type `kind` accepts: many scripts and marks, often exactly `max_length` long."""
    mixed = st.lists(PIECE, max_size=12).map(lambda pieces: "".join(pieces)[:max_length])
    full = st.builds(_repeat, PIECE, st.just(max_length))
    return st.one_of(mixed, full).filter(_accepts(kind))


def _padded(value: Decimal, zeros: int) -> Decimal:
    """The same number written with `zeros` more trailing zeros, e.g. 1.5 as 1.5000."""
    sign, digits, exponent = value.as_tuple()
    return Decimal((sign, (*digits, *(0,) * zeros), int(exponent) - zeros))


def _zero(exponent: int) -> Decimal:
    """Zero written with an exponent, e.g. 0E-30 (what Decimal('0.000…') prints as)."""
    return Decimal((0, (0,), exponent))


# Around the scales PostgreSQL's NUMERIC (and asyncpg) can carry: 16 383 digits after the point.
PADDING_EDGES = st.sampled_from([16, 17, 18, 16_380, 16_381, 16_382, 16_383, 16_384])
EXPONENT_EDGES = st.sampled_from([-19, 19, -16_383, -16_384, 262_143, 262_144])


def decimals(kind: Any, maximum: Decimal, places: int) -> st.SearchStrategy[Decimal]:
    """Amounts a field accepts, also written as a partner's software might: 1.50000, 1E+3, 0E-20."""
    plain = st.decimals(0, maximum, places=places) | st.sampled_from([maximum, (maximum / 2).quantize(maximum)])
    small = st.decimals(0, 10**6, places=places)
    edges = st.builds(_padded, small, PADDING_EDGES) | st.builds(_zero, EXPONENT_EDGES)
    spelled = st.one_of(
        st.builds(_padded, small, st.integers(0, 20_000)),
        st.builds(_zero, st.integers(-20_000, 20_000)),
        plain.map(Decimal.normalize),
    )
    return st.one_of(plain, edges, spelled).filter(_accepts(kind))


NAMES = texts(Name, 200)
REFS = texts(Ref, 64)
MESSAGE_IDS = texts(MessageId, 100)
MONEY = st.decimals(0, MAX_MONEY, places=2) | st.sampled_from([MAX_MONEY, Decimal("5000000000000000.00")])
SPELLED_MONEY = decimals(Money, MAX_MONEY, 2)
PAID = decimals(PositiveMoney, MAX_MONEY, 2)
WEIGHTS = decimals(Weight, Decimal("999999999.999"), 3)
COUNTS = st.integers(0, 2_000_000_000) | st.sampled_from([1_000_000_001, 2_000_000_000])
QUANTITIES = st.integers(1, 10_000_000) | st.just(10_000_000)
OFFSETS = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda minutes: timezone(timedelta(minutes=minutes)))
TIMES = st.datetimes(datetime(2000, 1, 2), datetime(2100, 12, 30), timezones=OFFSETS)
CURRENCIES = st.sampled_from(["USD", "EUR", "CNY", "JPY", "XAU", "CHF", "BHD"])
COUNTRIES = st.sampled_from(["CN", "DE", "US", "BR", "JP", "AQ", "IL", "SA"])
DELIVERABLE = st.dates(TODAY + timedelta(days=7), TODAY + timedelta(days=3 * 365))
"""Delivery dates the order service takes in, so the ones in order.accepted events."""


@st.composite
def payment_terms(draw: st.DrawFn) -> dict[str, Any]:
    """One to three installments adding up to 100 %, due on acceptance or delivery."""
    cuts = sorted(draw(st.sets(st.integers(1, 99), max_size=2)))
    bounds = [0, *cuts, 100]
    return {
        "installments": [
            {
                "trigger": draw(st.sampled_from(["acceptance", "delivery"])),
                "percent": str(high - low),
                "net_days": draw(st.integers(0, 365)),
            }
            for low, high in zip(bounds, bounds[1:], strict=False)
        ]
    }


@st.composite
def orders(
    draw: st.DrawFn,
    *,
    delivery: st.SearchStrategy[date] = DELIVERABLE,
    prices: st.SearchStrategy[Decimal] = st.decimals(0, 10**6, places=2),
    quantities: st.SearchStrategy[int] = QUANTITIES,
    max_lines: int = 4,
    words: bool = True,
) -> OrderTerms:
    """Order terms the contract accepts, parsed from JSON as the order service receives them."""
    count = draw(st.integers(1, max_lines) | st.just(max_lines))
    numbers = draw(st.lists(st.integers(1, 10_000), min_size=count, max_size=count, unique=True))
    price = st.just(draw(prices)) | prices  # lines often share a price
    lines = [
        {
            "line_no": number,
            "product": draw(NAMES) if words else "P",
            "spec": draw(texts(LongText, 2000)) if words else "",
            "quantity": draw(quantities),
            "unit_price": str(draw(price)),
            "make_or_buy": draw(st.sampled_from(["make", "buy"])),
        }
        for number in numbers
    ]
    body = {
        "customer": draw(NAMES) if words else "C",
        "external_ref": draw(REFS) if words else "R",
        "currency": draw(CURRENCIES),
        "delivery_date": draw(delivery).isoformat(),
        "payment_terms": draw(payment_terms()),
        "delivery_address": draw(texts(Text, 500)) if words else "A",
        "destination_country": draw(COUNTRIES),
        "contact": draw(NAMES) if words else "C",
        "lines": lines,
    }
    try:
        return OrderTerms.model_validate_json(json.dumps(body))
    except ValidationError:  # e.g. a total over the maximum: not a valid order
        reject()


def _partner(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A partner message's fields: its own id and time, and `fields`."""
    return st.fixed_dictionaries({"message_id": MESSAGE_IDS, "occurred_at": TIMES, **fields})


def _body(model: type[BaseModel], fields: dict[str, Any]) -> bytes:
    """A partner message as JSON, after its contract accepted it."""
    return model.model_validate(fields).model_dump_json().encode()


def _accepted(terms: OrderTerms, clock: FixedClock) -> bytes:
    """The order.accepted event the order service publishes for `terms`."""
    payload = OrderAccepted(**terms.model_dump(), total_amount=terms.compute_total())
    return Envelope.new(payload, source="order", order_id=ORDER_ID, clock=clock).model_dump_json().encode()


# --- a service's database, driven from a worker thread ----------------------------------


@dataclass
class Db:
    """One service's fresh database with a loop and an engine of this thread's own."""

    service: str
    runner: asyncio.Runner
    engine: AsyncEngine
    clock: FixedClock
    units: UnitOfWorkFactory
    subscriptions: dict[str, Subscription]
    rules: Sequence[Rule]
    staged: int = 0
    tables: list[str] = field(default_factory=list)

    def run(self, flow: Coroutine[Any, Any, None]) -> None:
        """Run one example's flow to its end on this thread's loop."""
        self.runner.run(flow)

    async def rows(self, sql: str) -> list[Any]:
        """The rows of a query, as tuples."""
        async with self.engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(text(sql))).all()]

    async def reset(self) -> None:
        """Empty every table, so each example starts from nothing."""
        if not self.tables:
            query = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            self.tables = [name for (name,) in await self.rows(query)]
        async with self.engine.begin() as conn:
            for table in self.tables:
                await conn.execute(text(f'DELETE FROM "{table}"'))
        self.staged, self.clock.at = 0, NOW

    async def deliver(self, topic: str, body: bytes) -> bool:
        """Apply one message as the consumer does: True when it committed, False when Invalid or NotYet refused it."""
        parsed = self.subscriptions[topic].parse(body)
        assert parsed.handler is not None, f"{self.service} does not handle this message on {topic}"
        try:
            async with self.units() as uow:
                if await uow.claim(f"gendan-{self.service}.{topic}", parsed.message_id):
                    await parsed.handler(parsed.message, uow)
        except (Invalid, NotYet) as refused:
            note(f"{topic}: {type(refused).__name__}: {refused}")
            return False
        self.staged += len(uow.outbox)
        return True

    async def watch(self) -> None:
        """A year later, each watch rule runs in its own unit of work, as the watcher runs it; each must commit."""
        self.clock.advance(timedelta(days=365))
        for rule in self.rules:
            async with self.units() as uow:
                await rule(uow)
            self.staged += len(uow.outbox)

    async def check_outbox(self) -> None:
        """Every event committed is in the outbox once, fits in a Kafka message and parses back into its contract."""
        rows = await self.rows("SELECT event_id, key, event_type, payload FROM outbox ORDER BY id")
        assert len(rows) == self.staged, "the outbox holds other events than those committed"
        for event_id, key, event_type, payload in rows:
            assert len(payload.encode()) <= MAX_EVENT_BYTES
            event = Envelope.model_validate_json(payload)
            assert (event.id, event.order_id, event.type) == (event_id, key, event_type)
            EVENT_TYPES[event.type].model_validate(event.data)


RULES: dict[str, Sequence[Rule]] = {
    "order": order_handlers.rules(OrderSettings()),
    "production": production_handlers.rules(ProductionSettings()),
    "logistics": logistics_handlers.rules(LogisticsSettings()),
    "billing": billing_handlers.rules(BillingSettings()),
}
"""Each service's time-based rules: they turn stored partner text into exceptions long after it came."""


def _drive(url: str, service: str, clock: FixedClock, check: Callable[[Db], None]) -> None:
    """Run a property on this (worker) thread, with a loop and an engine of its own."""
    spec = SPECS[service]
    with asyncio.Runner() as runner:
        engine = make_engine(url, pool_size=2)
        units = UnitOfWorkFactory(make_session_factory(engine), clock, source=spec.name, topic=spec.topic)
        try:
            subscriptions = {sub.topic: sub for sub in spec.subscriptions}
            check(Db(service, runner, engine, clock, units, subscriptions, RULES[service]))
        finally:
            runner.run(engine.dispose())


async def on_fresh_database(infra: Servers, service: str, clock: FixedClock, check: Callable[[Db], None]) -> None:
    """Run a property against a freshly migrated database of `service`, dropped afterwards."""
    url = await fresh_database(infra, SPECS[service])
    try:
        await asyncio.to_thread(_drive, url, service, clock, check)
    finally:
        await drop_database(infra, url)


# --- logistics --------------------------------------------------------------------------


@dataclass(frozen=True)
class Scan:
    """A carrier scan, of the planned shipment or of one never planned, by its carrier or another."""

    fields: dict[str, Any]
    planned: bool
    other_carrier: str | None


PACKINGS = _partner(
    type=st.just("packed"),  # received and picked change nothing
    quantity=COUNTS,
    packages=COUNTS,
    weight_kg=WEIGHTS,
)
SCANS = st.builds(
    Scan,
    _partner(
        status=st.sampled_from(["picked_up", "in_transit", "customs", "out_for_delivery", "delivered", "exception"]),
        location=texts(OptionalText, 500),
        received_quantity=st.none() | COUNTS,
        exception_code=st.none() | st.sampled_from(CarrierException),
        remark=texts(OptionalText, 500),
    ),
    st.booleans() | st.just(True),  # mostly the planned shipment
    st.none() | st.none() | REFS,  # mostly by its own carrier
)


async def logistics_flow(
    db: Db, clock: FixedClock, terms: OrderTerms, packing: dict[str, Any] | None, scans: list[Scan]
) -> None:
    """An order accepted, its goods packed, then scans: committed or refused, never broken."""
    await db.reset()
    assert await db.deliver(topics.ORDER_EVENTS, _accepted(terms, clock)), "a valid order was refused"
    assert await db.rows("SELECT delivery_address, country FROM consignments") == [
        (terms.delivery_address, terms.destination_country)
    ]
    if packing is not None:
        await db.deliver(topics.WMS_EVENTS, _body(WmsEvent, {**packing, "order_id": ORDER_ID}))
    shipments = await db.rows("SELECT tracking_number, carrier FROM shipments")
    for scan in scans:
        tracking, carrier = shipments[0] if shipments and scan.planned else ("GD-NEVER-PLANNED", "deppon")
        fields = {**scan.fields, "tracking_number": tracking, "carrier": scan.other_carrier or carrier}
        await db.deliver(topics.CARRIER_TRACKING, _body(CarrierTracking, fields))
    await db.watch()
    await db.check_outbox()


def logistics_property(clock: FixedClock) -> Callable[[Db], None]:
    """Any valid order, packing and scans (location text above all)."""

    def check(db: Db) -> None:
        @HYPOTHESIS
        @given(terms=orders(), packing=PACKINGS, scans=st.lists(SCANS, max_size=4))
        def example(terms: OrderTerms, packing: dict[str, Any], scans: list[Scan]) -> None:
            note(f"packing {packing!r:.500}; scans {[(s.fields, s.planned, s.other_carrier) for s in scans]!r:.2000}")
            target(float(-packing["weight_kg"].as_tuple().exponent), label="decimal places of the weight")
            db.run(logistics_flow(db, clock, terms, packing, scans))

        example()

    return check


BULK = {"customer": "C", "external_ref": "R", "currency": "USD", "delivery_address": "A", "contact": "C"}


@st.composite
def bulk_orders(draw: st.DrawFn) -> OrderTerms:
    """Up to 500 lines of the same quantity, up to 10 000 000 pieces each: as much as an order may hold."""
    quantity = draw(QUANTITIES)
    count = draw(st.integers(1, min(500, MAX_ORDER_PIECES // quantity)))
    line = {"product": "P", "quantity": quantity, "unit_price": "0.01"}
    body = {**BULK, "delivery_date": draw(DELIVERABLE).isoformat()}
    return OrderTerms.model_validate({**body, "lines": [{**line, "line_no": n} for n in range(1, count + 1)]})


def logistics_quantities_property(clock: FixedClock) -> Callable[[Db], None]:
    """Any valid order, as many lines and as large quantities as the contract allows."""

    def check(db: Db) -> None:
        @HYPOTHESIS
        @given(terms=bulk_orders())
        def example(terms: OrderTerms) -> None:
            pieces = sum(line.quantity for line in terms.lines)
            note(f"{len(terms.lines)} lines of {terms.lines[0].quantity} pieces, {pieces} in all")
            target(float(pieces), label="pieces in the order")
            db.run(logistics_flow(db, clock, terms, None, []))

        example()

    return check


async def test_logistics_plans_and_tracks_any_valid_packing_and_scan(infra: Servers, clock: FixedClock) -> None:
    """Consignment, shipment and tracked events from orders, WMS and carrier messages of any valid content."""
    await on_fresh_database(infra, "logistics", clock, logistics_property(clock))


async def test_logistics_takes_any_valid_order_quantities(infra: Servers, clock: FixedClock) -> None:
    """Up to 500 lines of up to 10 000 000 pieces: the consignment holds the order's total quantity."""
    await on_fresh_database(infra, "logistics", clock, logistics_quantities_property(clock))


# --- production -------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """An MES report on one of the order's work orders (by position), or on one that does not exist."""

    fields: dict[str, Any]
    work_order: int | None


REPORTS = st.builds(
    Report,
    _partner(
        type=st.sampled_from(["started", "operation_reported", "machine_down", "completed"]),
        operation=texts(OptionalText, 500),
        good_quantity=COUNTS,
        scrap_quantity=COUNTS,
    ),
    st.none() | st.integers(0, 3),
)


COMPLETIONS = st.lists(
    _partner(operation=texts(OptionalText, 500), good_quantity=COUNTS, scrap_quantity=COUNTS), min_size=3, max_size=3
)
"""The last report of each work order: completed, with any valid counts."""


async def production_flow(
    db: Db, clock: FixedClock, terms: OrderTerms, reports: list[Report], completions: list[dict[str, Any]]
) -> None:
    """An order accepted, MES reports, then every work order completed: committed or refused, never broken."""
    await db.reset()
    assert await db.deliver(topics.ORDER_EVENTS, _accepted(terms, clock)), "a valid order was refused"
    work_orders = await db.rows("SELECT id, product FROM work_orders ORDER BY line_no")
    by_line_no = sorted(terms.lines, key=lambda line: line.line_no)
    assert [product for _, product in work_orders] == [line.product for line in by_line_no]
    for report in reports:
        known = report.work_order is not None
        work_order = work_orders[(report.work_order or 0) % len(work_orders)][0] if known else "WO-NEVER-PLANNED"
        await db.deliver(topics.MES_EVENTS, _body(MesEvent, {**report.fields, "work_order_id": work_order}))
    for (work_order, _), fields in zip(work_orders, completions, strict=False):
        completed = {
            **fields,
            "message_id": f"completed-{work_order}",
            "type": "completed",
            "work_order_id": work_order,
        }
        assert await db.deliver(topics.MES_EVENTS, _body(MesEvent, completed)), "a completion was refused"
    await db.watch()
    await db.check_outbox()


def production_property(clock: FixedClock) -> Callable[[Db], None]:
    """Any valid order and MES reports (operation text and counts above all)."""

    def check(db: Db) -> None:
        @HYPOTHESIS
        @given(terms=orders(max_lines=3), reports=st.lists(REPORTS, max_size=6), completions=COMPLETIONS)
        def example(terms: OrderTerms, reports: list[Report], completions: list[dict[str, Any]]) -> None:
            note(f"{len(terms.lines)} work orders; reports {[(r.fields, r.work_order) for r in reports]!r:.2000}")
            note(f"completions {completions!r:.2000}")
            db.run(production_flow(db, clock, terms, reports, completions))

        example()

    return check


async def test_production_applies_any_valid_mes_report(infra: Servers, clock: FixedClock) -> None:
    """Work orders from orders of any valid text; MES reports of any valid operation text and counts."""
    await on_fresh_database(infra, "production", clock, production_property(clock))


# --- order ------------------------------------------------------------------------------


async def _take(db: Db, terms: OrderTerms, erp_message: dict[str, Any] | None) -> bool:
    """Take an order in over HTTP (the handler behind POST /orders) or from the ERP topic."""
    if erp_message is not None:
        return await db.deliver(topics.ERP_ORDERS, _body(ErpOrder, {**erp_message, **terms.model_dump()}))
    try:
        async with db.units() as uow:
            await order_review.take_in(terms, uow, by="test")
    except Invalid as refused:
        note(f"refused: {refused}")
        return False
    db.staged += len(uow.outbox)
    return True


async def order_flow(db: Db, terms: OrderTerms, erp: list[dict[str, Any]] | None) -> None:
    """The same order taken in twice: once, with its text as sent, or refused both times."""
    await db.reset()
    taken = [await _take(db, terms, erp[n] if erp else None) for n in range(2)]
    stored = await db.rows("SELECT customer, external_ref, terms::text FROM orders")
    assert taken[0] == taken[1], "the same order was taken once and refused once"
    assert len(stored) == (1 if taken[0] else 0)
    for customer, external_ref, stored_terms in stored:
        assert (customer, external_ref) == (terms.customer, terms.external_ref)
        assert OrderTerms.model_validate_json(stored_terms) == terms
    assert db.staged == len(stored), "order.accepted must be staged exactly once per order"
    await db.watch()
    await db.check_outbox()


def order_property() -> Callable[[Db], None]:
    """Any valid order terms, by HTTP or ERP, delivery dates also outside what is taken in."""
    around = st.dates(TODAY - timedelta(days=30), TODAY + timedelta(days=3 * 365 + 30))
    erp_messages = st.none() | st.lists(_partner(), min_size=2, max_size=2, unique_by=lambda m: m["message_id"])

    def check(db: Db) -> None:
        @HYPOTHESIS
        @given(terms=orders(delivery=around, prices=SPELLED_MONEY, quantities=st.integers(1, 1000)), erp=erp_messages)
        def example(terms: OrderTerms, erp: list[dict[str, Any]] | None) -> None:
            note(f"terms {terms.model_dump_json()[:3000]}; via {'ERP' if erp else 'HTTP'}")
            db.run(order_flow(db, terms, erp))

        example()

    return check


async def test_order_takes_in_any_valid_order_once(infra: Servers, clock: FixedClock) -> None:
    """Customer, reference, product, spec and address of any valid text; prices written any valid way."""
    await on_fresh_database(infra, "order", clock, order_property())


# --- billing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Payment:
    """A payment of one of the order's invoices (by position) or of one never issued, in its currency or not."""

    fields: dict[str, Any]
    invoice: int | None
    other_currency: str | None


PAYMENTS = st.builds(
    Payment,
    _partner(amount=PAID),
    st.none() | st.integers(0, 3),
    st.none() | st.none() | CURRENCIES,
)
DELIVERED = "delivered"
BILLING_STEPS = st.lists(PAYMENTS | st.just(DELIVERED), max_size=6)


def _delivered(clock: FixedClock) -> bytes:
    """The shipment_delivered event logistics publishes."""
    payload = ShipmentDelivered(shipment_id="SH1", delivered_at=clock.now(), received_quantity=1)
    return Envelope.new(payload, source="logistics", order_id=ORDER_ID, clock=clock).model_dump_json().encode()


async def _pay(db: Db, terms: OrderTerms, payment: Payment) -> None:
    """Finance reports a payment, naming an invoice billing issued (or one it never did)."""
    invoices = await db.rows("SELECT number FROM invoices ORDER BY installment")
    known = invoices and payment.invoice is not None
    number = invoices[(payment.invoice or 0) % len(invoices)][0] if known else "INV-NEVER-ISSUED"
    fields = {**payment.fields, "invoice_number": number, "currency": payment.other_currency or terms.currency}
    await db.deliver(topics.FINANCE_PAYMENTS, _body(FinancePayment, fields))


async def billing_flow(db: Db, clock: FixedClock, terms: OrderTerms, steps: list[Payment | str]) -> None:
    """An order accepted, then payments and delivery in any order: committed or refused, never broken."""
    await db.reset()
    assert await db.deliver(topics.ORDER_EVENTS, _accepted(terms, clock)), "a valid order was refused"
    for step in steps:
        if isinstance(step, Payment):
            await _pay(db, terms, step)
        else:
            await db.deliver(topics.LOGISTICS_EVENTS, _delivered(clock))
    await db.watch()
    await db.check_outbox()


def billing_property(clock: FixedClock) -> Callable[[Db], None]:
    """Any valid order total and terms; payments of any valid amount, written any valid way."""

    def check(db: Db) -> None:
        @HYPOTHESIS
        @given(terms=orders(prices=MONEY, quantities=st.integers(1, 3), max_lines=2), steps=BILLING_STEPS)
        def example(terms: OrderTerms, steps: list[Payment | str]) -> None:
            total = terms.compute_total()
            note(f"total {total} {terms.currency}, terms {terms.payment_terms.model_dump(mode='json')}")
            note(
                f"steps {[s if isinstance(s, str) else (s.fields, s.invoice, s.other_currency) for s in steps]!r:.3000}"
            )
            target(float(sum(s.fields["amount"] for s in steps if isinstance(s, Payment))), label="amount paid")
            db.run(billing_flow(db, clock, terms, steps))

        example()

    return check


async def test_billing_applies_any_valid_payment(infra: Servers, clock: FixedClock) -> None:
    """Invoices, payments and settlement from payments of any valid amount."""
    await on_fresh_database(infra, "billing", clock, billing_property(clock))
