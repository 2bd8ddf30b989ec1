"""Domain rules of the four services: pure functions, no I/O."""

from datetime import date
from decimal import Decimal

import pytest

from services.billing import domain as billing
from services.logistics import domain as logistics
from services.order import domain as order
from services.production import domain as production
from shared.contracts import Installment, InstallmentTrigger, PaymentTerms

pytestmark = pytest.mark.unit

DEPOSIT = PaymentTerms(
    installments=[
        Installment(trigger=InstallmentTrigger.ACCEPTANCE, percent=Decimal(30)),
        Installment(trigger=InstallmentTrigger.DELIVERY, percent=Decimal(70), net_days=30),
    ]
)


def test_order_status_only_moves_forward() -> None:
    from shared.contracts import InvoiceIssued, OrderSettled, ProductionStarted

    started = ProductionStarted(work_order_id="WO1")
    invoiced = InvoiceIssued.model_construct()
    assert order.advance("accepted", started) == "in_production"
    assert order.advance("delivered", started) == "delivered"
    assert order.advance("shipping", OrderSettled(invoiced_total=1, paid_total=1)) == "shipping"
    assert order.advance("accepted", invoiced) == "accepted"  # a deposit invoice


def test_order_closes_once_delivered_and_paid() -> None:
    assert order.can_close(delivered=True, settled=True, closed=False)
    assert not order.can_close(delivered=True, settled=False, closed=False)
    assert not order.can_close(delivered=False, settled=True, closed=False)
    assert not order.can_close(delivered=True, settled=True, closed=True)


def test_work_order_is_planned_back_from_delivery() -> None:
    assert production.planned_completion(date(2027, 1, 10)) == date(2027, 1, 5)


@pytest.mark.parametrize(
    ("current", "mes", "expected"),
    [
        ("planned", "started", "started"),
        ("started", "completed", "completed"),
        ("planned", "completed", "completed"),
        ("completed", "started", None),
        ("started", "started", None),
        ("started", "machine_down", None),
    ],
)
def test_mes_events_move_work_orders(current: str, mes: str, expected: str | None) -> None:
    assert production.next_status(current, mes) == expected


def test_order_ready_needs_every_work_order_complete() -> None:
    assert production.order_ready(["completed", "completed"])
    assert not production.order_ready(["completed", "started"])
    assert not production.order_ready([])


@pytest.mark.parametrize(
    ("days", "country", "kg", "mode"),
    [
        (30, "CN", Decimal(12), "express"),
        (30, "CN", Decimal(800), "truck"),
        (60, "DE", Decimal(800), "sea"),
        (10, "DE", Decimal(800), "air"),
    ],
)
def test_transport_mode(days: int, country: str, kg: Decimal, mode: str) -> None:
    today = date(2027, 1, 1)
    due = date.fromordinal(today.toordinal() + days)
    assert logistics.choose_mode(today=today, due=due, country=country, weight_kg=kg) == mode


@pytest.mark.parametrize(
    ("current", "reported", "forward"),
    [
        ("planned", "picked_up", True),
        ("in_transit", "picked_up", False),
        ("in_transit", "delivered", True),
        ("delivered", "in_transit", False),
        ("in_transit", "exception", True),
        ("exception", "in_transit", True),
        ("in_transit", "in_transit", False),
    ],
)
def test_late_carrier_scans_do_not_move_a_shipment_back(current: str, reported: str, forward: bool) -> None:
    assert logistics.moves_forward(current, reported) is forward


def test_order_intake_refuses_dates_that_cannot_be_kept() -> None:
    from datetime import timedelta

    from shared.contracts import OrderTerms
    from tests.e2e.flows import order_body

    terms = OrderTerms.model_validate(order_body(1))
    due = terms.delivery_date
    assert order.intake_problem(terms, today=due - order.MIN_LEAD_TIME) is None
    assert "no time to make" in (order.intake_problem(terms, today=due - timedelta(days=6)) or "")
    assert "in the past" in (order.intake_problem(terms, today=due + timedelta(days=1)) or "")
    assert order.intake_problem(terms, today=due - order.MAX_HORIZON) is None
    assert "days ahead" in (order.intake_problem(terms, today=due - order.MAX_HORIZON - timedelta(days=1)) or "")


def test_installments_sum_to_the_total_despite_rounding() -> None:
    amounts = billing.installment_amounts(DEPOSIT, Decimal("100.01"))
    assert [a for _, a in amounts] == [Decimal("30.00"), Decimal("70.01")]


def test_rounding_never_makes_an_installment_negative() -> None:
    quarters = PaymentTerms(installments=[Installment(trigger=InstallmentTrigger.DELIVERY, percent=Decimal(25))] * 4)
    amounts = [a for _, a in billing.installment_amounts(quarters, Decimal("0.02"))]
    assert amounts == [Decimal("0.00")] * 3 + [Decimal("0.02")]


def test_installments_due_on_a_trigger() -> None:
    due = billing.due_on(DEPOSIT, Decimal(1000), InstallmentTrigger.DELIVERY)
    assert [(n, a) for n, _, a in due] == [(1, Decimal("700.00"))]


@pytest.mark.parametrize(
    ("owed", "paid", "match"), [("10", "10", "exact"), ("10", "4", "partial"), ("10", "11", "over")]
)
def test_payment_match(owed: str, paid: str, match: str) -> None:
    assert billing.match(Decimal(owed), Decimal(paid)) == match


def test_invoice_status_follows_payments() -> None:
    assert billing.invoice_status(Decimal(10), Decimal(0)) == "open"
    assert billing.invoice_status(Decimal(10), Decimal(4)) == "partly_paid"
    assert billing.invoice_status(Decimal(10), Decimal(11)) == "paid"


def test_settled_needs_every_installment_invoiced_and_paid() -> None:
    paid = billing.Billed(0, "INV-1", Decimal(30), paid=Decimal(30))
    assert not billing.settled(DEPOSIT, [paid])
    assert not billing.settled(DEPOSIT, [paid, billing.Billed(1, "INV-2", Decimal(70), paid=Decimal(69))])
    assert billing.settled(DEPOSIT, [paid, billing.Billed(1, "INV-2", Decimal(70), paid=Decimal(70))])
