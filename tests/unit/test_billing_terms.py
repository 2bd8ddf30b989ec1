"""Billing rules for terms, per-shipment parts, tax, numbering, matching, the shipment hold, dunning and aging:
pure functions, no I/O."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.billing import domain
from services.billing.domain import Billed, Priced
from services.billing.settings import BillingSettings
from shared.contracts import ADVANCE_100, LC_AT_SIGHT, PAYMENT_TERMS_PRESETS, TT_30_70, PaymentTerms

pytestmark = pytest.mark.unit

D = Decimal
LINES = [Priced(1, "GX-100 coupling", 10, D("12.35")), Priced(2, "GX-200 gearbox", 4, D("50.00"))]


def test_the_presets_are_valid_terms_and_say_whether_they_hold_the_goods() -> None:
    assert {name: terms.holds_shipment for name, terms in PAYMENT_TERMS_PRESETS.items()} == {
        "tt_30_70": True,
        "net_30_after_delivery": False,
        "advance_100": True,
        "lc_at_sight": False,
    }
    assert domain.holding(TT_30_70) == {0, 1}  # the deposit too, not only the balance before shipment
    assert domain.holding(LC_AT_SIGHT) == set()


def test_amounts_of_a_currency_without_cents_are_whole() -> None:
    amounts = [a for _, a in domain.installment_amounts(TT_30_70, D(1001), domain.unit("JPY"))]
    assert amounts == [D(300), D(701)]
    assert [a for _, a in domain.installment_amounts(TT_30_70, D("323.50"), domain.unit("USD"))] == [
        D("97.05"),
        D("226.45"),
    ]


def test_a_shipment_invoices_only_what_its_installment_has_not_invoiced_yet() -> None:
    assert domain.unbilled(LINES, {1: 4, 2: 9, 3: 1}, {1: 8}) == {1: 2, 2: 4}  # capped at ordered; unknown line out
    assert domain.fully_invoiced(LINES, {1: 10, 2: 4})
    assert not domain.fully_invoiced(LINES, {1: 10})
    assert domain.value(LINES, {1: 2, 2: 1}) == D("74.70")


def test_a_part_is_its_percent_of_what_it_carries_and_the_last_part_the_remainder() -> None:
    assert domain.part_amount(D("226.45"), D(0), D("87.05"), D(70), domain.CENT, last=False) == D("60.93")
    assert domain.part_amount(D("226.45"), D("60.93"), D("236.45"), D(70), domain.CENT, last=True) == D("165.52")
    assert domain.part_amount(D("10.00"), D("9.00"), D("100"), D(70), domain.CENT, last=False) == D("1.00")  # capped


@given(st.lists(st.integers(1, 10), min_size=1, max_size=10), st.integers(1, 100))
def test_parts_always_add_up_to_the_installment(shipments: list[int], percent: int) -> None:
    lines = [Priced(1, "x", sum(shipments), D("3.33"))]
    target = [a for _, a in domain.installment_amounts(_terms(percent), D("3.33") * sum(shipments))][0]
    billed, invoiced = D(0), 0
    for k, q in enumerate(shipments):
        last = k == len(shipments) - 1
        billed += domain.part_amount(target, billed, domain.value(lines, {1: q}), D(percent), domain.CENT, last=last)
        invoiced += q
        assert billed <= target
    assert billed == target


def _terms(percent: int) -> PaymentTerms:
    rest = [{"trigger": "acceptance", "percent": str(100 - percent)}] if percent < 100 else []
    return PaymentTerms.model_validate({"installments": [{"trigger": "delivery", "percent": str(percent)}, *rest]})


def test_invoice_lines_share_the_amount_by_value_with_the_vat_they_include() -> None:
    rows = domain.invoice_lines(LINES, {1: 10, 2: 4}, D("97.05"), D(13))
    assert [(r["line_no"], r["amount"], r["tax"]) for r in rows] == [(1, "37.05", "4.26"), (2, "60.00", "6.90")]
    assert sum(D(r["amount"]) for r in rows) == D("97.05")
    assert domain.tax_included(D("113.00"), D(13)) == D("13.00")
    assert domain.tax_included(D("100.00"), D(0)) == D(0)


def test_tax_rates_by_destination() -> None:
    config = BillingSettings(tax_rates={"HK": D(0), "DE": D(19)})
    assert (config.tax_rate("CN"), config.tax_rate("US"), config.tax_rate("DE")) == (D(13), D(0), D(19))


def test_numbers_by_scheme() -> None:
    assert (
        domain.document_number("INV-{order_id}-{part}", order_id="SO1", part="2-3", year=2027, seq=0) == "INV-SO1-2-3"
    )
    assert domain.document_number("INV-{year}-{seq:06d}", order_id="SO1", part="1", year=2027, seq=42) == (
        "INV-2027-000042"
    )
    assert [domain.part_label(1, n) for n in (1, 2, 3)] == ["2", "2-2", "2-3"]


def test_a_payment_is_spread_over_invoices_in_order_and_the_rest_is_left() -> None:
    assert domain.allocate(D(100), [("A", D(30)), ("B", D(0)), ("C", D(50))]) == ([("A", D(30)), ("C", D(50))], D(20))
    assert domain.allocate(D(40), [("A", D(30)), ("C", D(50))]) == ([("A", D(30)), ("C", D(10))], D(0))


def test_the_goods_may_ship_only_when_every_holding_installment_is_invoiced_and_paid() -> None:
    deposit = Billed(0, "INV-1", D("97.05"), paid=D("97.05"))
    balance = Billed(1, "INV-2", D("226.45"), paid=D("200.00"))
    assert not domain.may_ship(TT_30_70, [deposit])  # the balance not invoiced yet
    assert domain.due_before_shipment(TT_30_70, [deposit, balance]) == (D("26.45"), ["INV-2"], True)
    assert domain.may_ship(TT_30_70, [deposit, Billed(1, "INV-2", D("226.45"), paid=D("226.45"))])
    assert domain.may_ship(ADVANCE_100, [Billed(0, "INV-1", D(10), credited=D(10))])  # credited: nothing owed


def test_settled_needs_the_order_delivered_and_every_installment_complete() -> None:
    paid = [Billed(0, "INV-1", D("97.05"), paid=D("97.05")), Billed(1, "INV-2", D("226.45"), paid=D("226.45"))]
    assert domain.settled(TT_30_70, paid, complete={0, 1}, delivered=True)
    assert not domain.settled(TT_30_70, paid, complete={0, 1}, delivered=False)
    assert not domain.settled(TT_30_70, paid, complete={0}, delivered=True)  # a part of the balance still to come


def test_reminder_levels_follow_the_schedule_relative_to_the_due_date() -> None:
    due, schedule = date(2027, 3, 10), [-3, 1, 7, 15]
    levels = [domain.reminder_level(due, date(2027, 3, d), schedule) for d in (6, 7, 10, 11, 17, 25)]
    assert levels == [0, 1, 1, 2, 3, 4]


def test_aging_buckets_by_days_past_due() -> None:
    today = date(2027, 6, 30)
    due = [today, date(2027, 6, 29), date(2027, 5, 31), date(2027, 5, 1), date(2027, 4, 1), date(2027, 3, 1)]
    assert [domain.aging_bucket(d, today) for d in due] == ["current", "1-30", "1-30", "31-60", "61-90", "90+"]
    open_ = [(Billed(0, "A", D(100), paid=D(40)), today), (Billed(0, "B", D(10)), date(2027, 1, 1))]
    assert domain.aging(open_, today) == {"current": D(60), "1-30": D(0), "31-60": D(0), "61-90": D(0), "90+": D(10)}


def test_days_sales_outstanding() -> None:
    assert domain.days_sales_outstanding(D(500), D(3000), 90) == D("15.0")
    assert domain.days_sales_outstanding(D(500), D(0), 90) is None
