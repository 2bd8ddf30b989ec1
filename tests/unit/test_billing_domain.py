"""Billing rules for changes, cancellation, settlement and receivables: pure functions, no I/O."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.billing import domain
from services.billing.domain import Billed
from shared.contracts import Installment, InstallmentTrigger, PaymentTerms

pytestmark = pytest.mark.unit

D = Decimal
DEPOSIT = PaymentTerms(
    installments=[
        Installment(trigger=InstallmentTrigger.ACCEPTANCE, percent=D(30)),
        Installment(trigger=InstallmentTrigger.DELIVERY, percent=D(70), net_days=30),
    ]
)
PAID_DEPOSIT = Billed(0, "INV-1", D("40.75"), paid=D("40.75"))
SUPPLEMENT = Billed(0, "INV-1-2", D("33.35"))  # unpaid


def test_an_installment_that_went_up_is_invoiced_the_difference() -> None:
    assert domain.adjust(D("74.10"), [PAID_DEPOSIT]) == domain.Adjustment(supplement=D("33.35"))


def test_an_installment_that_did_not_move_needs_nothing() -> None:
    assert domain.adjust(D("40.75"), [PAID_DEPOSIT]) == domain.Adjustment()


def test_an_installment_that_went_down_is_credited_on_what_is_unpaid_first() -> None:
    plan = domain.adjust(D("55.57"), [PAID_DEPOSIT, SUPPLEMENT])
    assert plan == domain.Adjustment(credits=(("INV-1-2", D("18.53")),))  # nothing paid has to go back


def test_crediting_more_than_is_unpaid_takes_from_what_was_paid_newest_first() -> None:
    newest_paid = Billed(0, "INV-1-3", D("5.00"), paid=D("5.00"))
    plan = domain.adjust(D("20.00"), [PAID_DEPOSIT, SUPPLEMENT, newest_paid])  # 79.10 down to 20.00
    assert plan.credits == (("INV-1-2", D("33.35")), ("INV-1-3", D("5.00")), ("INV-1", D("20.75")))
    after = domain.credited(PAID_DEPOSIT, D("20.75"))
    assert (after.net, after.open, after.owed_back) == (D("20.00"), D(0), D("20.75"))


@given(
    invoices=st.lists(
        st.tuples(st.integers(1, 100_000), st.integers(0, 100_000)), min_size=1, max_size=5
    ),  # (amount, paid) in cents
    target=st.integers(0, 500_000),
)
def test_after_an_adjustment_the_installment_asks_for_its_target(invoices: list[tuple[int, int]], target: int) -> None:
    billed = [Billed(0, f"INV-{n}", D(a) / 100, paid=D(p) / 100) for n, (a, p) in enumerate(invoices)]
    plan = domain.adjust(D(target) / 100, billed)
    after = {b.number: b for b in billed}
    for number, amount in plan.credits:
        assert 0 < amount <= after[number].net
        after[number] = domain.credited(after[number], amount)
    assert plan.supplement >= 0 and (plan.supplement == 0 or not plan.credits)
    assert sum(b.net for b in after.values()) + plan.supplement == D(target) / 100
    refunded = sum(b.owed_back for b in after.values()) - sum(b.owed_back for b in billed)
    unpaid_before = sum(b.open for b in billed)
    credited = sum(a for _, a in plan.credits)
    assert refunded == max(credited - unpaid_before, D(0))  # only what unpaid parts could not take


def test_cancelling_credits_what_is_unpaid_and_owes_back_what_was_paid() -> None:
    partly = Billed(1, "INV-2", D("95.10"), paid=D("50.00"))
    plan = domain.cancel([PAID_DEPOSIT, partly])
    assert plan.credits == (("INV-2", D("45.10")),)
    assert plan.refunds == (("INV-1", D("40.75")), ("INV-2", D("50.00")))


def test_an_invoice_credited_in_full_is_credited_not_paid() -> None:
    assert domain.invoice_status(D(10), D(0), credited=D(10)) == "credited"
    assert domain.invoice_status(D(10), D(6), credited=D(4)) == "paid"
    assert domain.invoice_status(D(10), D(5), credited=D(4)) == "partly_paid"
    assert domain.invoice_status(D(10), D(0), credited=D(4)) == "open"
    assert domain.invoice_status(D(0), D(0)) == "paid"  # an installment rounded to nothing asks for nothing


def test_settled_compares_what_was_paid_with_what_is_asked_after_credit_notes() -> None:
    credited_deposit = Billed(0, "INV-1", D("40.75"), credited=D("22.23"), paid=D("18.52"))
    balance = Billed(1, "INV-2", D("43.23"), paid=D("43.23"))
    assert domain.settled(DEPOSIT, [credited_deposit, balance])
    assert not domain.settled(DEPOSIT, [credited_deposit, SUPPLEMENT, balance])  # the supplement is unpaid


def test_a_cancelled_order_is_settled_only_when_nothing_is_owed_either_way() -> None:
    all_credited = Billed(0, "INV-1", D("40.75"), credited=D("40.75"))
    assert domain.settled(DEPOSIT, [all_credited], cancelled=True)
    assert domain.settled(DEPOSIT, [], cancelled=True)
    assert not domain.settled(DEPOSIT, [PAID_DEPOSIT], cancelled=True)  # the customer is owed it back
    assert not domain.settled(DEPOSIT, [SUPPLEMENT], cancelled=True)  # not credited yet


def test_receivables_count_what_is_open_and_overdue_past_the_due_date_only() -> None:
    today = date(2027, 1, 10)
    invoices = [
        (Billed(0, "A", D("100.00"), paid=D("30.00")), date(2027, 1, 9)),  # 70 overdue
        (Billed(0, "B", D("50.00"), credited=D("10.00")), today),  # 40, due today: not overdue
        (Billed(0, "C", D("20.00"), paid=D("25.00")), date(2027, 1, 1)),  # overpaid: counts nothing
    ]
    assert domain.receivables(invoices, today) == (D("110.00"), D("70.00"))


def test_supplementary_invoices_and_credit_notes_have_their_own_numbers() -> None:
    assert domain.supplementary_number("SO1", 0, 2) == "INV-SO1-1-2"
    assert domain.invoice_number("SO1", 0) != domain.supplementary_number("SO1", 0, 2)
    assert domain.credit_note_number("SO1", 3) == "CN-SO1-3"
