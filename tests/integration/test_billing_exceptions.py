"""Billing exceptions on a real database and the injected clock: unapplied cash kept and applied, currency
mismatches, overpayments, overdue invoices, duplicate payments, messages waiting too long."""

from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlmodel import col, delete, select

from services.billing import handlers
from services.billing.models import Account, Invoice, Payment
from services.billing.settings import BillingSettings
from shared import topics
from shared.clock import FixedClock
from shared.contracts import (
    Envelope,
    Event,
    ExceptionRaised,
    ExceptionResolved,
    FinancePayment,
    OrderAccepted,
    OrderTerms,
    ShipmentDelivered,
    exception_id,
)
from shared.db import ParkedMessage
from shared.exceptions import messages_waiting, stopped_waiting
from shared.unit_of_work import UnitOfWorkFactory
from tests.e2e.flows import order_body
from tests.integration.journal import handle, outbox, record, types, watch

pytestmark = pytest.mark.integration
SERVICE = "billing"
# reminders from the day after the due date, when the overdue exception is raised too
RULES = handlers.rules(BillingSettings(unmatched_payment_hours=1, reminder_days=[1], overdue_exception_level=1))
ON_ACCEPTANCE = {"installments": [{"trigger": "acceptance", "percent": "100", "net_days": 10}]}
ON_DELIVERY = {"installments": [{"trigger": "delivery", "percent": "100", "net_days": 30}]}
TOTAL = "135.85"  # 11 x 12.35
ISSUED, RECEIVED, SETTLED = "billing.invoice_issued", "billing.payment_received", "billing.order_settled"
RECEIVABLES = "billing.receivables_changed"  # the customer's open receivables, after every invoice and payment
RAISED, RESOLVED = "billing.exception_raised", "billing.exception_resolved"
REMINDED = "billing.reminder_sent"
UNMATCHED, MISMATCH = "billing.unmatched_payment", "billing.currency_mismatch"
M = TypeVar("M")


def accepted(clock: FixedClock, terms: dict[str, Any], order_id: str = "SO1", currency: str = "USD") -> Event[Any]:
    """A one-line order of 135.85 on these payment terms."""
    body = order_body(1, terms=terms, today=clock.now().date()) | {"currency": currency}
    order = OrderTerms.model_validate(body)
    payload = OrderAccepted(**order.model_dump(), total_amount=order.compute_total())
    return Event.new(payload, source="order", order_id=order_id, clock=clock)


def delivered(clock: FixedClock, order_id: str = "SO1") -> Event[Any]:
    """The goods of the order delivered now."""
    payload = ShipmentDelivered(shipment_id=f"SH-{order_id}", delivered_at=clock.now(), received_quantity=11)
    return Event.new(payload, source="logistics", order_id=order_id, clock=clock)


def payment(clock: FixedClock, pid: str, invoice: str, amount: str = TOTAL, currency: str = "USD") -> FinancePayment:
    """A payment finance saw now."""
    return FinancePayment(
        message_id=pid, occurred_at=clock.now(), invoice_number=invoice, amount=Decimal(amount), currency=currency
    )


async def row(units: UnitOfWorkFactory, model: type[M], key: str) -> M:
    """The stored row with this key."""
    async with units() as uow:
        found = await uow.session.get(model, key)
    assert found is not None
    return found


def of_payment(kind: str, pid: str) -> str:
    """The id of a payment's exception of this kind."""
    return exception_id(SERVICE, kind, "payment", pid)


def of_invoice(kind: str, number: str) -> str:
    """The id of an invoice's exception of this kind."""
    return exception_id(SERVICE, kind, "invoice", number)


async def apply_by_person(units: UnitOfWorkFactory, pid: str, number: str) -> list[Envelope]:
    """Li Wei applies a kept payment to an invoice, as the API does; the events of that commit."""
    before = len(await outbox(units))
    async with units() as uow:
        kept = await uow.get(Payment, pid, lock=True)
        invoice = await uow.first(select(Invoice).where(Invoice.number == number))
        assert kept is not None and invoice is not None
        account = await uow.get(Account, invoice.order_id, lock=True)
        assert account is not None
        await uow.session.refresh(invoice)
        assert await handlers.apply_payment(kept, invoice, account, uow, by="li.wei")
    return (await outbox(units))[before:]


async def test_a_payment_before_its_invoice_is_kept_and_applied_when_it_is_issued(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    assert await handle(units, handlers.on_order_accepted, accepted(clock, ON_DELIVERY)) == []
    early = payment(clock, "p1", "INV-SO1-1")
    assert await handle(units, handlers.on_finance_payment, early) == []  # kept: no NotYet, no Invalid
    kept = await row(units, Payment, "p1")
    assert (kept.status, kept.problem, kept.order_id, kept.match) == ("unapplied", "unmatched", "unassigned", None)

    clock.advance(timedelta(minutes=30))
    assert await watch(units, RULES) == []  # not yet an exception
    events = await handle(units, handlers.on_shipment_delivered, delivered(clock))
    assert types(events) == [ISSUED, RECEIVED, SETTLED, RECEIVABLES]
    assert events[1].data == {
        "payment_id": "p1",
        "invoice_number": "INV-SO1-1",
        "amount": TOTAL,
        "match": "exact",
        "credit_kept": "0.00",
    }
    assert events[1].occurred_at == early.occurred_at  # when the money came
    applied = await row(units, Payment, "p1")
    assert (applied.status, applied.problem, applied.order_id, applied.applied_by) == ("applied", None, "SO1", "system")
    assert (await row(units, Invoice, "INV-SO1-1")).status == "paid"

    clock.advance(timedelta(hours=2))
    assert await watch(units, RULES) == []


async def test_an_early_payment_that_became_unapplied_cash_is_resolved_by_its_invoice(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, ON_DELIVERY))
    await handle(units, handlers.on_finance_payment, payment(clock, "p1", "INV-SO1-1"))
    clock.advance(timedelta(hours=2))
    assert types(await watch(units, RULES)) == [RAISED]

    events = await handle(units, handlers.on_shipment_delivered, delivered(clock))
    assert types(events) == [ISSUED, RECEIVED, RESOLVED, SETTLED, RECEIVABLES]
    resolved = events[2].payload(ExceptionResolved)
    assert (resolved.exception_id, resolved.by) == (of_payment(UNMATCHED, "p1"), "system")
    stored = await record(units, of_payment(UNMATCHED, "p1"))
    assert (stored.open, stored.closed_by_person) == (False, False)


async def test_a_payment_naming_no_issued_invoice_is_an_exception_after_the_limit_until_a_person_applies_it(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, ON_ACCEPTANCE))
    assert await handle(units, handlers.on_shipment_delivered, delivered(clock)) == []  # settles once paid
    assert await handle(units, handlers.on_finance_payment, payment(clock, "p1", "INV-TYPO-1")) == []
    clock.advance(timedelta(minutes=59))
    assert await watch(units, RULES) == []

    clock.advance(timedelta(minutes=2))
    [raised] = await watch(units, RULES)
    data = raised.payload(ExceptionRaised)
    assert (raised.type, raised.order_id) == (RAISED, "unassigned")
    assert (data.exception_id, data.kind, data.subject_type, data.subject_id, data.owner) == (
        of_payment(UNMATCHED, "p1"),
        UNMATCHED,
        "payment",
        "p1",
        "finance",
    )
    assert data.facts == {"named_invoice": "INV-TYPO-1", "amount": TOTAL, "currency": "USD"}
    assert await watch(units, RULES) == []  # once

    events = await apply_by_person(units, "p1", "INV-SO1-1")
    assert types(events) == [RECEIVED, RESOLVED, SETTLED, RECEIVABLES]
    resolved = events[1].payload(ExceptionResolved)
    assert (resolved.exception_id, resolved.by, resolved.reason) == (
        of_payment(UNMATCHED, "p1"),
        "li.wei",
        "applied to invoice INV-SO1-1",
    )
    stored = await record(units, of_payment(UNMATCHED, "p1"))
    assert (stored.open, stored.closed_by_person) == (False, True)
    applied = await row(units, Payment, "p1")
    assert (applied.status, applied.invoice_number, applied.order_id, applied.applied_by) == (
        "applied",
        "INV-SO1-1",
        "SO1",
        "li.wei",
    )
    assert (await row(units, Account, "SO1")).settled_at == clock.now()
    assert await watch(units, RULES) == []


async def test_a_payment_in_another_currency_raises_currency_mismatch_and_stays_unapplied(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, ON_ACCEPTANCE))
    events = await handle(units, handlers.on_finance_payment, payment(clock, "p1", "INV-SO1-1", currency="EUR"))
    assert types(events) == [RAISED]
    data = events[0].payload(ExceptionRaised)
    assert (events[0].order_id, data.exception_id, data.kind, data.severity, data.cause) == (
        "SO1",
        of_payment(MISMATCH, "p1"),
        MISMATCH,
        "high",
        "customer",
    )
    assert data.facts == {"invoice": "INV-SO1-1", "amount": TOTAL, "currency": "EUR"}
    kept = await row(units, Payment, "p1")
    assert (kept.status, kept.problem, kept.match, kept.applied_at) == ("unapplied", "currency_mismatch", None, None)
    invoice = await row(units, Invoice, "INV-SO1-1")
    assert (invoice.paid_amount, invoice.status) == (Decimal(0), "open")

    clock.advance(timedelta(hours=2))
    assert await watch(units, RULES) == []  # not unmatched: its invoice is known


async def test_a_mismatched_payment_a_person_applies_to_an_invoice_in_its_currency_is_no_longer_a_mismatch(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, ON_ACCEPTANCE, "SO1", "USD"))
    await handle(units, handlers.on_order_accepted, accepted(clock, ON_ACCEPTANCE, "SO2", "EUR"))
    await handle(units, handlers.on_shipment_delivered, delivered(clock, "SO2"))
    await handle(units, handlers.on_finance_payment, payment(clock, "p1", "INV-SO1-1", currency="EUR"))

    events = await apply_by_person(units, "p1", "INV-SO2-1")  # the customer named the wrong invoice
    assert sorted(types(events)) == sorted([RECEIVED, RESOLVED, SETTLED, RECEIVABLES]), types(events)
    assert not (await record(units, of_payment(MISMATCH, "p1"))).open


async def test_an_unmatched_payment_whose_invoice_comes_in_another_currency_is_a_mismatch_only(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, ON_DELIVERY))
    await handle(units, handlers.on_finance_payment, payment(clock, "p1", "INV-SO1-1", currency="EUR"))
    clock.advance(timedelta(hours=2))
    assert types(await watch(units, RULES)) == [RAISED]  # unmatched, for now

    events = await handle(units, handlers.on_shipment_delivered, delivered(clock))
    issued = [ISSUED, RAISED, RESOLVED, RECEIVABLES]  # names an issued invoice now
    assert sorted(types(events)) == sorted(issued), types(events)
    assert (await record(units, of_payment(MISMATCH, "p1"))).open
    assert not (await record(units, of_payment(UNMATCHED, "p1"))).open


async def test_an_overpayment_is_kept_as_credit_and_pays_the_customers_next_invoice(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, ON_ACCEPTANCE))
    await handle(units, handlers.on_shipment_delivered, delivered(clock))
    partly = payment(clock, "p1", "INV-SO1-1", "100.00")
    assert types(await handle(units, handlers.on_finance_payment, partly)) == [RECEIVED, RECEIVABLES]
    events = await handle(units, handlers.on_finance_payment, payment(clock, "p2", "INV-SO1-1", "50.00"))
    assert types(events) == [RECEIVED, RAISED, SETTLED, RECEIVABLES]
    received = events[0].data
    assert (received["match"], received["amount"], received["credit_kept"]) == ("over", "35.85", "14.15")
    data = events[1].payload(ExceptionRaised)
    assert (data.exception_id, data.kind, data.subject_type, data.severity) == (
        of_invoice("billing.overpayment", "INV-SO1-1"),
        "billing.overpayment",
        "invoice",
        "low",
    )
    assert data.facts == {"invoice": "INV-SO1-1", "overpaid": "14.15", "currency": "USD", "kept_as_credit": True}
    assert events[3].data["credit_balance"] == "14.15"
    invoice = await row(units, Invoice, "INV-SO1-1")
    assert (invoice.paid_amount, invoice.status) == (Decimal(TOTAL), "paid")  # the rest is the customer's credit
    assert (await row(units, Payment, "p2")).credit_kept == Decimal("14.15")

    events = await handle(units, handlers.on_order_accepted, accepted(clock, ON_ACCEPTANCE, "SO2"))  # next order
    assert types(events) == [ISSUED, "billing.credit_applied", RESOLVED, RECEIVABLES]
    assert (events[1].data["invoice_number"], events[1].data["amount"], events[1].data["balance"]) == (
        "INV-SO2-1",
        "14.15",
        "0.00",
    )
    assert events[2].data["reason"] == "credit applied to invoice INV-SO2-1"
    assert (events[3].data["open_amount"], events[3].data["credit_balance"]) == ("121.70", "0.00")
    second = await row(units, Invoice, "INV-SO2-1")
    assert (second.paid_amount, second.status) == (Decimal("14.15"), "partly_paid")
    assert not (await record(units, of_invoice("billing.overpayment", "INV-SO1-1"))).open


async def test_an_overdue_invoice_raises_payment_overdue_until_it_is_paid_in_full(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, ON_ACCEPTANCE))  # due 2027-01-14
    await handle(units, handlers.on_shipment_delivered, delivered(clock))
    clock.advance(timedelta(days=10, hours=15))
    assert await watch(units, RULES) == []  # due today is not overdue

    clock.advance(timedelta(hours=1))
    raised, reminded, receivables = await watch(units, RULES)  # raised, the customer reminded, overdue now counted
    assert (reminded.type, reminded.data["level"], receivables.type) == (REMINDED, 1, RECEIVABLES)
    assert receivables.data["overdue_amount"] == TOTAL
    ident = of_invoice("billing.payment_overdue", "INV-SO1-1")
    data = raised.payload(ExceptionRaised)
    assert (raised.order_id, data.exception_id, data.kind, data.subject_id) == (
        "SO1",
        ident,
        "billing.payment_overdue",
        "INV-SO1-1",
    )
    assert data.facts == {"invoice": "INV-SO1-1", "owed": TOTAL, "due_date": "2027-01-14"}
    assert await watch(units, RULES) == []  # once

    partly = payment(clock, "p1", "INV-SO1-1", "35.85")
    assert types(await handle(units, handlers.on_finance_payment, partly)) == [RECEIVED, RECEIVABLES]
    [updated] = await watch(units, RULES)  # less is owed now
    assert (updated.type, updated.payload(ExceptionRaised).facts["owed"]) == ("billing.exception_updated", "100.00")

    events = await handle(units, handlers.on_finance_payment, payment(clock, "p2", "INV-SO1-1", "100.00"))
    assert types(events) == [RECEIVED, RESOLVED, SETTLED, RECEIVABLES]  # in the commit of the payment
    resolved = events[1].payload(ExceptionResolved)
    assert (resolved.exception_id, resolved.by, resolved.reason) == (ident, "system", "paid in full")
    assert not (await record(units, ident)).open
    clock.advance(timedelta(days=1))
    assert await watch(units, RULES) == []


async def test_the_same_payment_twice_changes_nothing(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, ON_ACCEPTANCE))
    paid = payment(clock, "p1", "INV-SO1-1", "100.00")
    mismatched = payment(clock, "p2", "INV-SO1-1", currency="EUR")
    unmatched = payment(clock, "p3", "INV-NOPE-1")
    assert types(await handle(units, handlers.on_finance_payment, paid)) == [RECEIVED, RECEIVABLES]
    assert types(await handle(units, handlers.on_finance_payment, mismatched)) == [RAISED]
    assert await handle(units, handlers.on_finance_payment, unmatched) == []

    clock.advance(timedelta(minutes=5))
    for again in (paid, mismatched, unmatched):
        assert await handle(units, handlers.on_finance_payment, again) == [], again.message_id
    invoice = await row(units, Invoice, "INV-SO1-1")
    assert (invoice.paid_amount, invoice.status) == (Decimal("100.00"), "partly_paid")
    async with units() as uow:
        payments = (await uow.session.exec(select(Payment).order_by(col(Payment.id)))).all()
    assert [(p.id, p.status, p.problem) for p in payments] == [
        ("p1", "applied", None),
        ("p2", "unapplied", "currency_mismatch"),
        ("p3", "unapplied", "unmatched"),
    ]


async def test_a_message_waiting_too_long_raises_message_waiting_once(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    rules, kind = [messages_waiting(timedelta(hours=1))], "billing.message_waiting"
    async with units() as uow:
        uow.session.add(
            ParkedMessage(
                waits_for="SO404",
                topic=topics.LOGISTICS_EVENTS,
                partition=0,
                offset=1,
                key="SO404",
                body=b"{}",
                headers={},
                reason="billing has not seen this order accepted yet",
                parked_at=clock.now(),
            )
        )
    clock.advance(timedelta(minutes=61))
    [raised] = await watch(units, rules)
    data = raised.payload(ExceptionRaised)
    assert (raised.order_id, data.kind, data.subject_type, data.subject_id) == ("unassigned", kind, "message", "SO404")
    assert data.facts == {"waits_for": "SO404", "messages": 1, "topic": "logistics.events"}
    assert await watch(units, rules) == []

    before = len(await outbox(units))
    async with units() as uow:
        await uow.session.exec(delete(ParkedMessage))
        await stopped_waiting(uow, "SO404")
    [resolved] = (await outbox(units))[before:]
    assert resolved.payload(ExceptionResolved).exception_id == exception_id(SERVICE, kind, "message", "SO404")
    assert not (await record(units, exception_id(SERVICE, kind, "message", "SO404"))).open


async def test_a_payment_that_raced_its_invoice_is_applied_by_the_rule_not_raised(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, ON_ACCEPTANCE))  # issues INV-SO1-1
    await handle(units, handlers.on_shipment_delivered, delivered(clock))
    async with units() as uow:  # what a payment committed together with its invoice leaves: unmatched
        uow.session.add(
            Payment(
                id="p-race",
                invoice_number="INV-SO1-1",
                order_id="unassigned",
                amount=Decimal(TOTAL),
                currency="USD",
                status="unapplied",
                problem="unmatched",
                received_at=clock.now(),
                recorded_at=clock.now(),
            )
        )
    clock.advance(timedelta(hours=2))
    assert types(await watch(units, RULES)) == [RECEIVED, SETTLED, RECEIVABLES]  # applied, no exception
    assert (await row(units, Payment, "p-race")).status == "applied"
