"""Billing on a real database and the injected clock: payment terms and their triggers (acceptance, before
shipment, each shipment, each delivery), the shipment hold and release, numbering, tax and PDFs, payment matching,
customer credit, dunning, aging."""

import io
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pypdf import PdfReader
from sqlmodel import col, select

from services.billing import api, changes, handlers, settings
from services.billing.models import Account, CreditNote, Invoice, InvoiceDocument, Payment, Reminder
from services.billing.settings import BillingSettings
from shared.clock import FixedClock
from shared.contracts import (
    ADVANCE_100,
    LC_AT_SIGHT,
    NET_30_AFTER_DELIVERY,
    TT_30_70,
    ChangeKind,
    Envelope,
    Event,
    ExceptionRaised,
    FinancePayment,
    OrderAccepted,
    OrderCancelled,
    OrderChangeAccepted,
    OrderLine,
    OrderRemedyRequested,
    OrderTerms,
    PaymentTerms,
    Remedy,
    ShipmentDelivered,
    ShipmentDispatched,
    ShipmentLine,
    ShipmentPlanned,
    exception_id,
)
from shared.unit_of_work import UnitOfWorkFactory
from tests.integration.journal import handle, outbox, record, types, watch

pytestmark = pytest.mark.integration
SERVICE = "billing"
ISSUED, RECEIVED, SETTLED = "billing.invoice_issued", "billing.payment_received", "billing.order_settled"
HELD, RELEASED, RECEIVABLES = "billing.shipment_held", "billing.shipment_released", "billing.receivables_changed"
CREDIT, REMINDED = "billing.credit_applied", "billing.reminder_sent"
RAISED, RESOLVED = "billing.exception_raised", "billing.exception_resolved"
# two lines: 10 x 12.35 = 123.50 and 4 x 50.00 = 200.00; 323.50 in all
LINES = [
    OrderLine(line_no=1, product="GX-100 coupling", quantity=10, unit_price=Decimal("12.35")),
    OrderLine(line_no=2, product="GX-200 gearbox", quantity=4, unit_price=Decimal("50.00")),
]


@pytest.fixture(autouse=True)
def default_settings() -> Iterator[None]:
    settings.configure(BillingSettings())
    yield
    settings.configure(BillingSettings())


def accepted(
    clock: FixedClock,
    terms: PaymentTerms,
    order_id: str = "SO1",
    *,
    customer: str = "ACME Industrial",
    country: str = "CN",
    currency: str = "USD",
    ref: str | None = None,
) -> Event[Any]:
    """A two-line order of 323.50 on these terms."""
    order = OrderTerms(
        customer=customer,
        external_ref=ref or f"PO-{order_id}-4711",
        currency=currency,
        delivery_date=clock.now().date() + timedelta(days=40),
        payment_terms=terms,
        delivery_address="88 Harbour Road",
        destination_country=country,
        contact="purchasing@acme.example",
        lines=LINES,
    )
    payload = OrderAccepted(**order.model_dump(), total_amount=order.compute_total())
    return Event.new(payload, source="order", order_id=order_id, clock=clock)


def shipped(lines: dict[int, int]) -> list[ShipmentLine]:
    return [ShipmentLine(line_no=n, quantity=q) for n, q in lines.items()]


def planned(clock: FixedClock, sid: str = "SH1", order_id: str = "SO1", *, held: bool = True, **kw: Any) -> Event[Any]:
    payload = ShipmentPlanned(
        shipment_id=sid, tracking_number=f"T{sid}", carrier="sf", mode="truck", packages=1, weight_kg=Decimal(1),
        held=held, **kw,
    )  # fmt: skip
    return Event.new(payload, source="logistics", order_id=order_id, clock=clock)


def dispatched(clock: FixedClock, sid: str, lines: dict[int, int], order_id: str = "SO1") -> Event[Any]:
    payload = ShipmentDispatched(shipment_id=sid, dispatched_at=clock.now(), lines=shipped(lines))
    return Event.new(payload, source="logistics", order_id=order_id, clock=clock)


def delivered(clock: FixedClock, sid: str, lines: dict[int, int], *, done: bool, order_id: str = "SO1") -> Event[Any]:
    payload = ShipmentDelivered(
        shipment_id=sid, delivered_at=clock.now(), received_quantity=sum(lines.values()), lines=shipped(lines),
        order_delivered=done,
    )  # fmt: skip
    return Event.new(payload, source="logistics", order_id=order_id, clock=clock)


def paid(
    clock: FixedClock, pid: str, amount: str, invoice: str = "", currency: str = "USD", **kw: Any
) -> FinancePayment:
    return FinancePayment(
        message_id=pid, occurred_at=clock.now(), invoice_number=invoice, amount=Decimal(amount), currency=currency, **kw
    )


async def pay(units: UnitOfWorkFactory, message: FinancePayment) -> list[Envelope]:
    return await handle(units, handlers.on_finance_payment, message)


async def invoices(units: UnitOfWorkFactory, order_id: str = "SO1") -> list[Invoice]:
    async with units() as uow:
        query = (
            select(Invoice).where(Invoice.order_id == order_id).order_by(col(Invoice.issued_at), col(Invoice.number))
        )
        return await uow.all(query)


async def get(units: UnitOfWorkFactory, model: Any, key: Any) -> Any:
    async with units() as uow:
        found = await uow.get(model, key)
    assert found is not None
    return found


def client(units: UnitOfWorkFactory, clock: FixedClock) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(api.router)
    app.state.runtime = SimpleNamespace(units=units, sessions=units.sessions, clock=clock)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://billing")


# --- terms, triggers, hold and release ------------------------------------------------------------------


async def test_tt_30_70_holds_the_packed_goods_until_deposit_and_balance_are_paid(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    events = await handle(units, handlers.on_order_accepted, accepted(clock, TT_30_70))
    assert types(events) == [ISSUED, RECEIVABLES]
    assert (events[0].data["invoice_number"], events[0].data["amount"]) == ("INV-SO1-1", "97.05")  # 30 % of 323.50

    events = await handle(units, handlers.on_shipment_planned, planned(clock))  # packed: the balance falls due
    assert types(events) == [ISSUED, HELD, RECEIVABLES]
    assert (events[0].data["invoice_number"], events[0].data["amount"], events[0].data["trigger"]) == (
        "INV-SO1-2",
        "226.45",
        "before_shipment",
    )
    assert events[1].data["amount_due"] == "323.50"  # the deposit is unpaid too: it holds the goods as well
    assert events[1].data["invoice_numbers"] == ["INV-SO1-1", "INV-SO1-2"]
    assert await handle(units, handlers.on_shipment_planned, planned(clock, "SH2")) == []  # held once per order

    assert types(await pay(units, paid(clock, "p1", "97.05", "INV-SO1-1"))) == [RECEIVED, RECEIVABLES]  # still held
    events = await pay(units, paid(clock, "p2", "226.45", "INV-SO1-2"))
    assert types(events) == [RECEIVED, RELEASED, RECEIVABLES]
    assert events[1].data["by"] == "system" and events[1].order_id == "SO1"
    assert (await get(units, Account, "SO1")).hold == "released"

    assert await handle(units, handlers.on_shipment_dispatched, dispatched(clock, "SH1", {1: 10, 2: 4})) == []
    events = await handle(units, handlers.on_shipment_delivered, delivered(clock, "SH1", {1: 10, 2: 4}, done=True))
    assert types(events) == [SETTLED]


async def test_goods_paid_for_in_advance_are_released_the_moment_they_are_planned(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, ADVANCE_100))
    await pay(units, paid(clock, "p1", "323.50", "INV-SO1-1"))
    events = await handle(units, handlers.on_shipment_planned, planned(clock))
    assert types(events) == [RELEASED]


async def test_terms_that_hold_nothing_neither_hold_nor_release(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, NET_30_AFTER_DELIVERY))
    assert await handle(units, handlers.on_shipment_planned, planned(clock, held=False)) == []


async def test_a_person_may_release_a_held_order(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, TT_30_70))
    await handle(units, handlers.on_shipment_planned, planned(clock))
    before = len(await outbox(units))
    async with client(units, clock) as http:
        response = await http.post("/orders/SO1/release", headers={"X-Actor": "li.wei"})
        assert response.status_code == 200, response.text
        assert (await http.post("/orders/SO1/release", headers={"X-Actor": "li.wei"})).status_code == 409
        assert (await http.post("/orders/SO404/release", headers={"X-Actor": "li.wei"})).status_code == 404
    [released] = (await outbox(units))[before:]
    assert (released.type, released.data["by"]) == (RELEASED, "li.wei")


async def test_each_dispatch_invoices_its_part_and_the_last_part_the_remainder(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, LC_AT_SIGHT))
    assert await invoices(units) == []

    events = await handle(units, handlers.on_shipment_dispatched, dispatched(clock, "SH1", {1: 3, 2: 1}))
    assert types(events) == [ISSUED, RECEIVABLES]
    assert (events[0].data["amount"], events[0].data["shipment_id"]) == ("87.05", "SH1")  # 3 x 12.35 + 50.00
    assert await handle(units, handlers.on_shipment_dispatched, dispatched(clock, "SH1", {1: 3, 2: 1})) == []
    events = await handle(units, handlers.on_shipment_dispatched, dispatched(clock, "SH2", {1: 7, 2: 3}))
    assert (events[0].data["invoice_number"], events[0].data["amount"]) == ("INV-SO1-1-2", "236.45")
    reshipped = dispatched(clock, "SH3", {2: 1})  # a replacement for a damaged carton: invoiced already
    assert await handle(units, handlers.on_shipment_dispatched, reshipped) == []

    first, second = await invoices(units)
    assert [(x["line_no"], x["quantity"], x["unit_price"], x["amount"], x["tax"]) for x in first.lines] == [
        (1, 3, "12.35", "37.05", "4.26"),  # 13 % VAT included
        (2, 1, "50.00", "50.00", "5.75"),
    ]
    assert first.amount + second.amount == Decimal("323.50")
    await pay(units, paid(clock, "p1", "87.05", first.number))
    await pay(units, paid(clock, "p2", "236.45", second.number))
    events = await handle(units, handlers.on_shipment_delivered, delivered(clock, "SH2", {1: 7, 2: 3}, done=True))
    assert types(events) == [SETTLED]


async def test_partial_deliveries_invoice_their_part_and_the_order_settles_only_when_all_is_delivered(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    terms = PaymentTerms.model_validate(
        {
            "installments": [
                {"trigger": "acceptance", "percent": "30"},
                {"trigger": "delivery", "percent": "70", "net_days": 30},
            ]
        }
    )
    await handle(units, handlers.on_order_accepted, accepted(clock, terms))
    await pay(units, paid(clock, "p1", "97.05", "INV-SO1-1"))
    events = await handle(units, handlers.on_shipment_delivered, delivered(clock, "SH1", {1: 10}, done=False))
    assert (events[0].data["invoice_number"], events[0].data["amount"]) == ("INV-SO1-2", "86.45")  # 70 % of 123.50
    await pay(units, paid(clock, "p2", "86.45", "INV-SO1-2"))
    assert (await get(units, Account, "SO1")).settled_at is None  # paid so far, but not all delivered

    events = await handle(units, handlers.on_shipment_delivered, delivered(clock, "SH2", {2: 4}, done=True))
    assert (events[0].data["invoice_number"], events[0].data["amount"]) == ("INV-SO1-2-2", "140.00")
    assert SETTLED not in types(events)
    events = await pay(units, paid(clock, "p3", "140.00", "INV-SO1-2-2"))
    assert types(events) == [RECEIVED, SETTLED, RECEIVABLES]
    assert events[1].data == {"invoiced_total": "323.50", "paid_total": "323.50"}


async def test_a_change_down_during_partial_deliveries_credits_only_what_was_invoiced_beyond_it(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, NET_30_AFTER_DELIVERY))
    await handle(units, handlers.on_shipment_delivered, delivered(clock, "SH1", {2: 4}, done=False))  # 200.00
    line = OrderLine(line_no=2, product="GX-200 gearbox", quantity=4, unit_price=Decimal("50.00"))
    change = OrderChangeAccepted(
        change_id="CH2", kind=ChangeKind.CHANGE, order_version=2, lines=[line], cancelled_lines=[1],
        delivery_date=clock.now().date() + timedelta(days=40), total_amount=Decimal("200.00"),
        previous_total=Decimal("323.50"),
    )  # fmt: skip
    events = await handle(
        units, changes.on_order_change_accepted, Event.new(change, source="order", order_id="SO1", clock=clock)
    )
    assert events == []  # line 1 cancelled before it was delivered: nothing invoiced for it, nothing to credit
    events = await handle(units, handlers.on_shipment_delivered, delivered(clock, "SH2", {}, done=True))
    assert ISSUED not in types(events)  # the installment is invoiced in full on the new total
    await pay(units, paid(clock, "p1", "200.00", "INV-SO1-1"))
    assert (await get(units, Account, "SO1")).settled_at == clock.now()


# --- numbering, tax, PDFs -----------------------------------------------------------------------------


async def test_numbers_follow_the_configured_scheme_gap_free_per_year_with_tax_and_a_pdf(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    settings.configure(
        BillingSettings(invoice_number_scheme="INV-{year}-{seq:06d}", credit_note_number_scheme="CN-{year}-{seq:04d}")
    )
    await handle(units, handlers.on_order_accepted, accepted(clock, ADVANCE_100))  # domestic: 13 % VAT included
    await handle(units, handlers.on_order_accepted, accepted(clock, TT_30_70, "SO2", country="US"))  # export: none
    with pytest.raises(RuntimeError):
        async with units() as uow:  # a rolled-back invoice gives its number back
            await handlers.on_shipment_planned(planned(clock, order_id="SO2"), uow)
            raise RuntimeError("rolled back")
    await handle(units, handlers.on_shipment_planned, planned(clock, order_id="SO2"))
    clock.advance(timedelta(days=365))
    await handle(units, handlers.on_order_accepted, accepted(clock, ADVANCE_100, "SO3"))

    numbers = [(i.number, i.tax_rate, i.tax_amount) for o in ("SO1", "SO2", "SO3") for i in await invoices(units, o)]
    assert numbers == [
        ("INV-2027-000001", Decimal("13.00"), Decimal("37.22")),  # 323.50 x 13 / 113
        ("INV-2027-000002", Decimal("0.00"), Decimal("0.00")),
        ("INV-2027-000003", Decimal("0.00"), Decimal("0.00")),
        ("INV-2028-000001", Decimal("13.00"), Decimal("37.22")),
    ]
    cancelled = OrderCancelled(change_id="CX1", reason="customer withdrew", cancelled_at=clock.now())
    await handle(units, changes.on_order_cancelled, Event.new(cancelled, source="order", order_id="SO3", clock=clock))
    async with units() as uow:
        [note] = await uow.all(select(CreditNote))
    assert note.number == "CN-2028-0001"

    document = await get(units, InvoiceDocument, "INV-2027-000001")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(document.pdf)).pages)
    for expected in ("INV-2027-000001", "ACME Industrial", "GX-200 gearbox", "323.50", "37.22", "PO-SO1-4711"):
        assert expected in text, expected
    async with client(units, clock) as http:
        response = await http.get("/invoices/INV-2027-000001/pdf")
        assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
        assert response.content == document.pdf
        assert response.headers["etag"] == f'"{document.checksum}"'
        assert (await http.get("/credit-notes/CN-2028-0001/pdf")).status_code == 200
        assert (await http.get("/invoices/CN-2028-0001/pdf")).status_code == 404
        assert (await http.get("/invoices/NOPE/pdf")).status_code == 404
        presets = (await http.get("/payment-terms")).json()
        assert {p["name"]: p["holds_shipment"] for p in presets} == {
            "tt_30_70": True,
            "net_30_after_delivery": False,
            "advance_100": True,
            "lc_at_sight": False,
        }
    [issued] = [e for e in await outbox(units) if e.type == ISSUED and e.order_id == "SO1"]
    assert (issued.data["tax_rate"], issued.data["tax_amount"]) == ("13.00", "37.22")
    assert issued.data["pdf_checksum"] == document.checksum


# --- matching -------------------------------------------------------------------------------------------


async def test_a_payment_naming_the_order_pays_its_oldest_open_invoices_and_the_rest_is_credit(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, TT_30_70))
    await handle(units, handlers.on_shipment_planned, planned(clock))
    events = await pay(units, paid(clock, "p1", "330.00", reference="Payment for your PO-SO1-4711, thanks"))
    assert types(events) == [RECEIVED, RECEIVED, RAISED, RELEASED, RECEIVABLES]
    assert [(e.data["invoice_number"], e.data["amount"], e.data["match"]) for e in events[:2]] == [
        ("INV-SO1-1", "97.05", "exact"),
        ("INV-SO1-2", "226.45", "over"),
    ]
    assert events[1].data["credit_kept"] == "6.50"
    assert events[4].data["credit_balance"] == "6.50"
    kept = await get(units, Payment, "p1")
    assert (kept.status, kept.order_id, kept.match, kept.credit_kept) == ("applied", "SO1", "over", Decimal("6.50"))

    by_id = await pay(units, paid(clock, "p2", "5.00", order_ref="SO1"))  # nothing open: all of it is credit
    assert types(by_id) == [RECEIVABLES] and by_id[0].data["credit_balance"] == "11.50"
    async with client(units, clock) as http:
        assert (await http.get("/customers/ACME Industrial/credit")).json() == {"USD": "11.50"}


async def test_a_payment_with_payer_and_the_amount_of_one_open_invoice_pays_it(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, TT_30_70))
    await handle(units, handlers.on_order_accepted, accepted(clock, ADVANCE_100, "SO2"))
    events = await pay(units, paid(clock, "p1", "97.05", payer="acme industrial"))
    assert [(e.type, e.data.get("invoice_number")) for e in events] == [(RECEIVED, "INV-SO1-1"), (RECEIVABLES, None)]
    ambiguous = await pay(units, paid(clock, "p2", "323.50", payer="Someone Else"))
    assert ambiguous == []  # kept, unmatched
    assert (await get(units, Payment, "p2")).problem == "unmatched"


async def test_an_unmatched_payment_raised_after_the_limit_is_matched_by_a_person_over_two_invoices(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    rules = handlers.rules(BillingSettings(unmatched_payment_hours=1))
    await handle(units, handlers.on_order_accepted, accepted(clock, TT_30_70))
    await handle(units, handlers.on_shipment_planned, planned(clock))
    assert await pay(units, paid(clock, "p1", "323.50", payer="ACME Ind. Ltd", reference="wire 0042")) == []
    clock.advance(timedelta(hours=2))
    [raised] = [e for e in await watch(units, rules) if e.type == RAISED]
    data = raised.payload(ExceptionRaised)
    assert (raised.order_id, data.kind, data.subject_id) == ("unassigned", "billing.unmatched_payment", "p1")
    assert data.facts == {"amount": "323.50", "currency": "USD", "payer": "ACME Ind. Ltd", "reference": "wire 0042"}

    before = len(await outbox(units))
    async with client(units, clock) as http:
        body = {"invoice_numbers": ["INV-SO1-1", "INV-SO1-2"]}
        assert (await http.post("/payments/p1/apply", json=body)).status_code == 422  # who acts is required
        assert (await http.post("/payments/p1/apply", json={}, headers={"X-Actor": "li.wei"})).status_code == 422
        response = await http.post("/payments/p1/apply", json=body, headers={"X-Actor": "li.wei"})
        assert response.status_code == 200, response.text
        assert response.json()["applied_by"] == "li.wei"
        again = await http.post("/payments/p1/apply", json=body, headers={"X-Actor": "li.wei"})
        assert again.status_code == 409
    assert types((await outbox(units))[before:]) == [RECEIVED, RECEIVED, RESOLVED, RELEASED, RECEIVABLES]
    assert not (await record(units, exception_id(SERVICE, "billing.unmatched_payment", "payment", "p1"))).open


async def test_a_payment_naming_an_order_in_another_currency_is_a_mismatch_and_applies_nothing(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, TT_30_70))
    events = await pay(units, paid(clock, "p1", "97.05", currency="EUR", order_ref="PO-SO1-4711"))
    assert types(events) == [RAISED]
    assert events[0].payload(ExceptionRaised).facts == {"order": "SO1", "amount": "97.05", "currency": "EUR"}
    assert (await invoices(units))[0].paid_amount == 0
    assert await pay(units, paid(clock, "p1", "97.05", currency="EUR", order_ref="PO-SO1-4711")) == []  # duplicate


# --- dunning, aging -----------------------------------------------------------------------------------


async def test_one_reminder_per_customer_per_run_covers_all_their_due_invoices_and_escalates(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    rules = handlers.rules(BillingSettings(reminder_days=[-3, 1, 7, 15], overdue_exception_level=3))
    for n, days in ((1, 10), (2, 12), (3, 20)):  # three invoices of one customer due on three dates
        due = PaymentTerms.model_validate(
            {"installments": [{"trigger": "acceptance", "percent": "100", "net_days": days}]}
        )
        await handle(units, handlers.on_order_accepted, accepted(clock, due, f"SO{n}"))
    await handle(units, handlers.on_order_accepted, accepted(clock, ADVANCE_100, "SO9", customer="Other Co"))

    clock.advance(timedelta(days=8))  # SO1 due in 2 days (level 1), SO2 in 4 (none yet); Other Co's 8 days late
    sent = [e for e in await watch(units, rules) if e.type == REMINDED]
    assert sorted((e.data["customer"], e.data["level"]) for e in sent) == [("ACME Industrial", 1), ("Other Co", 3)]
    acme = next(e for e in sent if e.data["customer"] == "ACME Industrial")
    assert [i["invoice_number"] for i in acme.data["invoices"]] == ["INV-SO1-1"]
    assert [e for e in await watch(units, rules) if e.type == REMINDED] == []  # nothing new: no second reminder

    clock.advance(timedelta(days=1))  # SO2 comes to level 1: one reminder covering SO1 and SO2
    [again] = [e for e in await watch(units, rules) if e.type == REMINDED and e.data["customer"] == "ACME Industrial"]
    assert [(i["invoice_number"], i["level"]) for i in again.data["invoices"]] == [("INV-SO1-1", 1), ("INV-SO2-1", 1)]

    clock.advance(timedelta(days=9))  # 18 days in: SO1 8 days late (3), SO2 6 late (2), SO3 due in 2 days (1)
    events = await watch(units, rules)
    [reminder] = [e for e in events if e.type == REMINDED and e.data["customer"] == "ACME Industrial"]
    assert [(i["invoice_number"], i["level"]) for i in reminder.data["invoices"]] == [
        ("INV-SO1-1", 3),
        ("INV-SO2-1", 2),
        ("INV-SO3-1", 1),
    ]
    assert (reminder.data["level"], reminder.data["total"]) == (3, "970.50")
    raised = [e.payload(ExceptionRaised) for e in events if e.type == RAISED]
    assert [(r.kind, r.subject_id) for r in raised] == [("billing.payment_overdue", "INV-SO1-1")]  # level 3 only
    async with units() as uow:
        kept = await uow.all(select(Reminder).where(Reminder.customer == "ACME Industrial"))
    assert len(kept) == 3


async def test_an_invoice_passing_its_due_date_republishes_receivables_and_aging_shows_it(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    rules = handlers.rules(BillingSettings())
    await handle(units, handlers.on_order_accepted, accepted(clock, ADVANCE_100))  # due today
    await handle(units, handlers.on_order_accepted, accepted(clock, TT_30_70, "SO2", customer="Other Co"))
    clock.advance(timedelta(days=1))
    events = [e for e in await watch(units, rules) if e.type == RECEIVABLES]
    assert sorted((e.data["customer"], e.data["overdue_amount"]) for e in events) == [
        ("ACME Industrial", "323.50"),
        ("Other Co", "97.05"),
    ]
    assert [e for e in await watch(units, rules) if e.type == RECEIVABLES] == []  # once per invoice

    clock.advance(timedelta(days=40))
    async with client(units, clock) as http:
        aging = (await http.get("/receivables/aging")).json()
        [total] = aging["totals"]
        assert (total["currency"], total["days_31_60"], total["open_amount"]) == ("USD", "420.55", "420.55")
        assert aging["dso"] == {"USD": "90.0"}  # nothing paid of what was sold in the window: all of it outstanding
        mine = (await http.get("/receivables/aging", params={"customer": "Other Co"})).json()
        assert [(c["customer"], c["days_31_60"]) for c in mine["customers"]] == [("Other Co", "97.05")]


async def test_a_payment_for_an_order_billing_has_not_seen_yet_is_matched_when_the_rule_tries_again(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    rules = handlers.rules(BillingSettings(unmatched_payment_hours=1))
    assert await pay(units, paid(clock, "p1", "97.05", order_ref="PO-SO1-4711")) == []  # the order is not here yet
    await handle(units, handlers.on_order_accepted, accepted(clock, TT_30_70))
    clock.advance(timedelta(minutes=61))
    events = [e for e in await watch(units, rules) if e.type in (RECEIVED, RAISED)]  # (a reminder too: due today)
    assert types(events) == [RECEIVED]  # matched, not raised
    assert (await get(units, Payment, "p1")).order_id == "SO1"


async def test_a_cancelled_order_is_neither_invoiced_nor_held_when_its_goods_are_packed(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, TT_30_70))
    cancelled = OrderCancelled(change_id="CX1", reason="customer withdrew", cancelled_at=clock.now())
    await handle(units, changes.on_order_cancelled, Event.new(cancelled, source="order", order_id="SO1", clock=clock))
    assert await handle(units, handlers.on_shipment_planned, planned(clock)) == []
    assert [i.number for i in await invoices(units)] == ["INV-SO1-1"]


async def test_a_complaint_put_right_with_money_is_a_credit_note(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, ADVANCE_100))
    [invoice] = [e for e in await outbox(units) if e.type == ISSUED]
    request = OrderRemedyRequested(
        complaint_id="CP1", remedy=Remedy.CREDIT_NOTE, service="billing", category="quality", amount=Decimal("20.00")
    )
    asked = Event.new(request, source="order", order_id="SO1", clock=clock)
    events = await handle(units, changes.on_remedy_requested, asked)
    [note] = [e for e in events if e.type == "billing.credit_note_issued"]
    assert (note.data["invoice_number"], note.data["amount"]) == (invoice.data["invoice_number"], "20.00")
    [done] = [e for e in events if e.type == "billing.remedy_done"]
    assert done.data["reference"] == note.data["credit_note_number"] and done.data["complaint_id"] == "CP1"
    assert await handle(units, changes.on_remedy_requested, asked) == []  # asked again: credited once
    elsewhere = Event.new(
        request.model_copy(update={"service": "logistics"}), source="order", order_id="SO1", clock=clock
    )
    assert await handle(units, changes.on_remedy_requested, elsewhere) == []


async def test_a_foreign_currency_receipt_is_settled_into_the_home_currency(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, ADVANCE_100, country="DE"))
    [invoice] = await invoices(units)
    events = await pay(units, paid(clock, "P-FX", str(invoice.amount), invoice.number, fx_rate=Decimal("7.0815")))
    [settled] = [e.data for e in events if e.type == "billing.formality_changed"]
    home = (invoice.amount * Decimal("7.0815")).quantize(Decimal("0.01"))
    assert (settled["step"], settled["status"], settled["currency"]) == ("fx_settlement", "settled", "USD")
    assert Decimal(settled["rate"]) == Decimal("7.0815")
    assert settled["home_currency"] == "CNY" and Decimal(settled["home_amount"]) == home
    async with units() as uow:
        payment = await uow.get(Payment, "P-FX")
    assert payment is not None and (payment.fx_rate, payment.home_amount) == (Decimal("7.0815"), home)
