"""Billing after an accepted change or a cancellation, on a real database and the injected clock: supplementary
invoices and credit notes, refunds owed, nothing invoiced twice, and the customer's receivables for credit review."""

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from services.billing import api, changes, handlers
from services.billing.models import Account, CreditNote, Invoice
from services.billing.settings import BillingSettings
from shared.clock import FixedClock
from shared.contracts import (
    ChangeKind,
    CreditNoteIssued,
    Envelope,
    Event,
    ExceptionRaised,
    FinancePayment,
    InvoiceIssued,
    OrderAccepted,
    OrderCancelled,
    OrderChangeAccepted,
    OrderLine,
    OrderSettled,
    OrderTerms,
    ReceivablesChanged,
    ShipmentDelivered,
    exception_id,
)
from shared.unit_of_work import UnitOfWorkFactory
from tests.e2e.flows import DEPOSIT_30_70, order_body
from tests.integration.journal import handle, outbox, record, types, watch

pytestmark = pytest.mark.integration
SERVICE = "billing"
RULES = handlers.rules(BillingSettings())
ON_ACCEPTANCE = {"installments": [{"trigger": "acceptance", "percent": "100", "net_days": 10}]}
PRICE = Decimal("12.35")  # one line of 11 pieces: 135.85, a 30 % deposit of 40.75 and a balance of 95.10
ISSUED, RECEIVED, SETTLED = "billing.invoice_issued", "billing.payment_received", "billing.order_settled"
CREDITED, RECEIVABLES = "billing.credit_note_issued", "billing.receivables_changed"
RAISED, UPDATED, RESOLVED = "billing.exception_raised", "billing.exception_updated", "billing.exception_resolved"
REFUND = "billing.refund_owed"


def accepted(
    clock: FixedClock, terms: dict[str, Any] = DEPOSIT_30_70, order_id: str = "SO1", customer: str = "ACME Industrial"
) -> Event[Any]:
    """A one-line order of 11 pieces at 12.35 on these payment terms."""
    body = order_body(1, terms=terms, today=clock.now().date()) | {"customer": customer}
    order = OrderTerms.model_validate(body)
    payload = OrderAccepted(**order.model_dump(), total_amount=order.compute_total())
    return Event.new(payload, source="order", order_id=order_id, clock=clock)


def changed(
    clock: FixedClock, quantity: int, version: int = 2, order_id: str = "SO1", previous: int = 11
) -> Event[Any]:
    """The customer's confirmed change of the line to `quantity` pieces (change CH<version>)."""
    line = OrderLine(line_no=1, product="GX-100 coupling", quantity=quantity, unit_price=PRICE)
    payload = OrderChangeAccepted(
        change_id=f"CH{version}",
        kind=ChangeKind.CHANGE,
        order_version=version,
        lines=[line],
        delivery_date=clock.now().date() + timedelta(days=40),
        total_amount=PRICE * quantity,
        previous_total=PRICE * previous,
    )
    return Event.new(payload, source="order", order_id=order_id, clock=clock)


def cancelled(clock: FixedClock, order_id: str = "SO1") -> Event[Any]:
    """The whole order cancelled now."""
    payload = OrderCancelled(change_id="CX1", reason="customer withdrew the order", cancelled_at=clock.now())
    return Event.new(payload, source="order", order_id=order_id, clock=clock)


def delivered(clock: FixedClock, order_id: str = "SO1") -> Event[Any]:
    """The goods of the order delivered now."""
    payload = ShipmentDelivered(shipment_id=f"SH-{order_id}", delivered_at=clock.now(), received_quantity=11)
    return Event.new(payload, source="logistics", order_id=order_id, clock=clock)


def payment(clock: FixedClock, pid: str, invoice: str, amount: str) -> FinancePayment:
    """A payment finance saw now."""
    return FinancePayment(
        message_id=pid, occurred_at=clock.now(), invoice_number=invoice, amount=Decimal(amount), currency="USD"
    )


async def pay(units: UnitOfWorkFactory, clock: FixedClock, pid: str, invoice: str, amount: str) -> list[Envelope]:
    """Finance reports a payment; the events of that commit."""
    return await handle(units, handlers.on_finance_payment, payment(clock, pid, invoice, amount))


async def invoices(units: UnitOfWorkFactory) -> dict[str, Invoice]:
    """Every invoice by number."""
    async with units() as uow:
        return {i.number: i for i in await uow.all(select(Invoice).order_by(col(Invoice.number)))}


async def credit_notes(units: UnitOfWorkFactory) -> list[CreditNote]:
    async with units() as uow:
        return await uow.all(select(CreditNote).order_by(col(CreditNote.number)))


async def asked(units: UnitOfWorkFactory, order_id: str = "SO1") -> dict[int, Decimal]:
    """What each invoiced installment asks for: its invoices minus their credit notes."""
    per: dict[int, Decimal] = {}
    for invoice in (await invoices(units)).values():
        if invoice.order_id == order_id:
            per[invoice.installment] = per.get(invoice.installment, Decimal(0)) + invoice.amount
    for note in await credit_notes(units):
        if note.order_id == order_id:
            per[(await invoices(units))[note.invoice_number].installment] -= note.amount
    return per


async def account(units: UnitOfWorkFactory, order_id: str = "SO1") -> Account:
    async with units() as uow:
        found = await uow.get(Account, order_id)
    assert found is not None
    return found


def receivables(event: Envelope) -> tuple[str, str, str, str, str]:
    """(order, customer, currency, open, overdue) of a receivables_changed event."""
    data = event.payload(ReceivablesChanged)
    return event.order_id, data.customer, data.currency, str(data.open_amount), str(data.overdue_amount)


def refund(kind_event: Envelope) -> dict[str, Any]:
    data = kind_event.payload(ExceptionRaised)
    assert (data.kind, data.subject_type) == (REFUND, "invoice")
    return data.facts


async def test_an_order_changed_up_after_its_deposit_gets_a_supplementary_invoice_and_settles_on_the_new_total(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock))
    await pay(units, clock, "p1", "INV-SO1-1", "40.75")

    events = await handle(units, changes.on_order_change_accepted, changed(clock, 20))  # 247.00
    assert types(events) == [ISSUED, RECEIVABLES]
    issued = events[0].payload(InvoiceIssued)
    assert (issued.invoice_number, issued.amount, issued.trigger, issued.due_date) == (
        "INV-SO1-1-2",
        Decimal("33.35"),  # 30 % of 247.00 = 74.10, of which 40.75 invoiced
        "acceptance",
        clock.now().date(),  # net 0, as the deposit
    )
    assert receivables(events[1]) == ("SO1", "ACME Industrial", "USD", "33.35", "0.00")
    assert await asked(units) == {0: Decimal("74.10")}

    [balance] = [e for e in await handle(units, handlers.on_shipment_delivered, delivered(clock)) if e.type == ISSUED]
    assert (balance.data["invoice_number"], balance.data["amount"]) == ("INV-SO1-2", "172.90")  # on the new total
    assert balance.data["due_date"] == (clock.now().date() + timedelta(days=30)).isoformat()

    assert types(await pay(units, clock, "p2", "INV-SO1-1-2", "33.35")) == [RECEIVED, RECEIVABLES]
    events = await pay(units, clock, "p3", "INV-SO1-2", "172.90")
    assert types(events) == [RECEIVED, SETTLED, RECEIVABLES]
    settled = events[1].payload(OrderSettled)
    assert (settled.invoiced_total, settled.paid_total) == (Decimal("247.00"), Decimal("247.00"))
    assert receivables(events[2])[3:] == ("0.00", "0.00")
    assert await asked(units) == {0: Decimal("74.10"), 1: Decimal("172.90")}


async def test_an_order_changed_down_before_payment_gets_a_credit_note_and_settles_on_the_new_total(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock))
    events = await handle(units, changes.on_order_change_accepted, changed(clock, 5))  # 61.75
    assert types(events) == [CREDITED, RECEIVABLES]
    note = events[0].payload(CreditNoteIssued)
    assert (note.credit_note_number, note.invoice_number, note.amount, note.currency) == (
        "CN-SO1-1",
        "INV-SO1-1",
        Decimal("22.23"),  # 40.75 invoiced, 30 % of 61.75 = 18.52 asked now
        "USD",
    )
    assert "CH2" in note.reason
    assert receivables(events[1])[3:] == ("18.52", "0.00")
    deposit = (await invoices(units))["INV-SO1-1"]
    assert (deposit.amount, deposit.credited_amount, deposit.status) == (Decimal("40.75"), Decimal("22.23"), "open")

    events = await pay(units, clock, "p1", "INV-SO1-1", "18.52")
    assert events[0].data["match"] == "exact"  # matched against what the invoice asks after its credit note
    assert (await invoices(units))["INV-SO1-1"].status == "paid"

    await handle(units, handlers.on_shipment_delivered, delivered(clock))
    assert (await invoices(units))["INV-SO1-2"].amount == Decimal("43.23")
    events = await pay(units, clock, "p2", "INV-SO1-2", "43.23")
    assert types(events) == [RECEIVED, SETTLED, RECEIVABLES]
    assert events[1].payload(OrderSettled).invoiced_total == Decimal("61.75")


async def test_an_order_changed_down_after_payment_owes_the_difference_back(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock))
    await pay(units, clock, "p1", "INV-SO1-1", "40.75")

    events = await handle(units, changes.on_order_change_accepted, changed(clock, 5))
    assert types(events) == [CREDITED, RAISED, RECEIVABLES]
    assert events[0].data["amount"] == "22.23"
    assert refund(events[1]) == {"invoice": "INV-SO1-1", "amount": "22.23", "currency": "USD"}
    assert events[1].order_id == "SO1"
    assert receivables(events[2])[3:] == ("0.00", "0.00")  # the customer owes nothing; what is owed back is apart
    assert (await record(units, exception_id(SERVICE, REFUND, "invoice", "INV-SO1-1"))).open

    events = await handle(units, changes.on_order_change_accepted, changed(clock, 3, version=3, previous=5))
    assert types(events) == [CREDITED, UPDATED, RECEIVABLES]  # one refund owed on the invoice, now larger
    assert refund(events[1]) == {"invoice": "INV-SO1-1", "amount": "29.64", "currency": "USD"}  # 40.75 - 11.11


async def test_the_same_change_twice_changes_nothing_and_a_later_one_credits_what_is_unpaid_first(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock))
    await pay(units, clock, "p1", "INV-SO1-1", "40.75")
    change = changed(clock, 20)
    assert types(await handle(units, changes.on_order_change_accepted, change)) == [ISSUED, RECEIVABLES]
    before = {n: (i.amount, i.credited_amount) for n, i in (await invoices(units)).items()}

    assert await handle(units, changes.on_order_change_accepted, change) == []
    assert await handle(units, changes.on_order_change_accepted, changed(clock, 20)) == []  # redelivered anew
    assert {n: (i.amount, i.credited_amount) for n, i in (await invoices(units)).items()} == before
    assert (await account(units)).total_amount == Decimal("247.00")

    events = await handle(units, changes.on_order_change_accepted, changed(clock, 15, version=3, previous=20))
    assert types(events) == [CREDITED, RECEIVABLES]  # no refund: the unpaid supplementary invoice takes it
    assert (events[0].data["invoice_number"], events[0].data["amount"]) == ("INV-SO1-1-2", "18.53")
    assert await handle(units, changes.on_order_change_accepted, changed(clock, 20)) == []  # older than applied
    assert await asked(units) == {0: Decimal("55.57")}  # 30 % of 185.25


async def test_a_cancelled_order_credits_what_is_unpaid_owes_back_what_was_paid_and_invoices_no_more(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock))
    await pay(units, clock, "p1", "INV-SO1-1", "40.75")
    await handle(units, handlers.on_shipment_delivered, delivered(clock))
    await pay(units, clock, "p2", "INV-SO1-2", "50.00")

    events = await handle(units, changes.on_order_cancelled, cancelled(clock))
    assert types(events) == [CREDITED, RAISED, RAISED, RECEIVABLES]
    assert (events[0].data["invoice_number"], events[0].data["amount"]) == ("INV-SO1-2", "45.10")
    assert events[0].data["reason"] == "order cancelled: customer withdrew the order"
    assert [refund(e) for e in events[1:3]] == [
        {"invoice": "INV-SO1-1", "amount": "40.75", "currency": "USD"},
        {"invoice": "INV-SO1-2", "amount": "50.00", "currency": "USD"},
    ]
    assert receivables(events[3])[3:] == ("0.00", "0.00")
    assert (await account(units)).settled_at is None  # 90.75 is owed back

    assert await handle(units, changes.on_order_cancelled, cancelled(clock)) == []
    assert await handle(units, handlers.on_shipment_delivered, delivered(clock)) == []
    assert await handle(units, changes.on_order_change_accepted, changed(clock, 20)) == []
    events = await pay(units, clock, "p3", "INV-SO1-2", "5.00")  # money still coming in is owed back too
    assert types(events) == [RECEIVED, UPDATED, RECEIVABLES]
    assert refund(events[1])["amount"] == "55.00"
    assert SETTLED not in types(await outbox(units))


async def test_a_cancelled_order_nothing_was_paid_for_is_settled_quietly_and_no_longer_overdue(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock))  # deposit due today
    clock.advance(timedelta(days=1))
    raised = [e for e in await watch(units, RULES) if e.type == RAISED]
    assert [e.payload(ExceptionRaised).kind for e in raised] == ["billing.payment_overdue"]

    events = await handle(units, changes.on_order_cancelled, cancelled(clock))
    assert types(events) == [CREDITED, RESOLVED, RECEIVABLES]
    assert events[0].data["amount"] == "40.75"
    assert events[1].data["reason"] == "credited"
    assert receivables(events[2])[3:] == ("0.00", "0.00")
    assert (await invoices(units))["INV-SO1-1"].status == "credited"
    assert (await account(units)).settled_at == clock.now()  # nothing owed either way, but not announced
    assert await handle(units, handlers.on_shipment_delivered, delivered(clock)) == []
    clock.advance(timedelta(days=1))
    assert await watch(units, RULES) == []
    assert SETTLED not in types(await outbox(units))


async def test_receivables_follow_the_customers_invoices_payments_and_credit_notes_with_what_is_overdue(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    events = await handle(units, handlers.on_order_accepted, accepted(clock, ON_ACCEPTANCE))  # due in 10 days
    assert types(events) == [ISSUED, RECEIVABLES]
    assert receivables(events[1]) == ("SO1", "ACME Industrial", "USD", "135.85", "0.00")
    events = await handle(units, handlers.on_order_accepted, accepted(clock, order_id="SO2"))  # deposit due today
    assert receivables(events[-1]) == ("SO2", "ACME Industrial", "USD", "176.60", "0.00")  # due today: not overdue
    events = await handle(units, handlers.on_order_accepted, accepted(clock, ON_ACCEPTANCE, "SO3", "Other Co"))
    assert receivables(events[-1]) == ("SO3", "Other Co", "USD", "135.85", "0.00")

    clock.advance(timedelta(days=2))
    events = await pay(units, clock, "p1", "INV-SO2-1", "10.00")
    assert receivables(events[-1]) == ("SO2", "ACME Industrial", "USD", "166.60", "30.75")

    clock.advance(timedelta(days=9))  # 2027-01-15: SO1's invoice, due on the 14th, is overdue too
    events = await handle(units, changes.on_order_change_accepted, changed(clock, 20, order_id="SO2"))
    assert receivables(events[-1]) == ("SO2", "ACME Industrial", "USD", "199.95", "166.60")  # + 33.35 due today
    events = await handle(units, changes.on_order_change_accepted, changed(clock, 5))  # SO1 credited 74.10
    assert types(events) == [CREDITED, RECEIVABLES]
    assert receivables(events[-1]) == ("SO1", "ACME Industrial", "USD", "125.85", "92.50")

    before = len(await outbox(units))
    async with units() as uow:  # one batch touching the customer twice publishes its last count once
        await handlers.on_finance_payment(payment(clock, "p2", "INV-SO1-1", "61.75"), uow)
        await handlers.on_finance_payment(payment(clock, "p3", "INV-SO2-1-2", "33.35"), uow)
    staged = (await outbox(units))[before:]
    assert types(staged) == [RECEIVED, RECEIVED, RECEIVABLES]  # SO1 is paid, but not delivered: not settled
    assert receivables(staged[-1]) == ("SO2", "ACME Industrial", "USD", "30.75", "30.75")

    app = FastAPI()
    app.include_router(api.router)
    app.state.runtime = SimpleNamespace(units=units, sessions=units.sessions, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://billing") as client:
        response = await client.get("/customers/ACME Industrial/receivables")
        assert response.status_code == 200, response.text
        assert response.json() == [
            {
                "customer": "ACME Industrial",
                "currency": "USD",
                "open_amount": "30.75",
                "overdue_amount": "30.75",
                "open_invoices": 1,
            }
        ]
        assert (await client.get("/customers/Nobody/receivables")).json() == []
        response = await client.get("/orders/SO1/invoices")
        assert response.status_code == 200, response.text
        order = response.json()
        assert (order["total_amount"], order["invoiced"], order["credited"], order["paid"]) == (
            "61.75",
            "135.85",
            "74.10",
            "61.75",
        )
        [invoice] = order["invoices"]
        assert (invoice["credited_amount"], invoice["paid_amount"], invoice["status"]) == ("74.10", "61.75", "paid")
        [note] = order["credit_notes"]
        assert (note["number"], note["invoice_number"], note["amount"]) == ("CN-SO1-1", "INV-SO1-1", "74.10")
        assert (await client.get("/orders/SO404/invoices")).status_code == 404
