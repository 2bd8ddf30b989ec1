"""Logistics's change rules: what has shipped, whether a change can be carried out, the date and freight it
means, a planned shipment replanned, cancelled shipments. Pure functions, no I/O."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.logistics import domain
from services.logistics.domain import Freight, Mode, Proposal, ShipmentStatus

pytestmark = pytest.mark.unit
TODAY = date(2027, 1, 4)
DUE = TODAY + timedelta(days=40)
FREIGHT = Freight()


@dataclass
class Order:
    """A consignment as the change rules read it."""

    quantity: int
    delivery_date: date = DUE
    country: str = "CN"


@dataclass
class Sh:
    """A shipment as the change rules read it."""

    quantity: int
    weight_kg: Decimal
    mode: str = Mode.TRUCK
    status: str = ShipmentStatus.PLANNED
    id: str = "SH1"


def assess(
    order: Order | None, *shipments: Sh, quantity: int, due: date = DUE, cancels: bool = False
) -> domain.Assessment:
    proposal = Proposal(quantity=quantity, delivery_date=due, cancels=cancels)
    return domain.assess_change(order, shipments, proposal, today=TODAY, freight=FREIGHT)


def test_a_mode_promises_the_date_asked_or_its_earliest_arrival() -> None:
    assert domain.promised(Mode.SEA, today=TODAY, due=DUE) == DUE
    assert domain.promised(Mode.SEA, today=TODAY, due=TODAY + timedelta(days=10)) == date(2027, 1, 22)
    assert domain.promised("express", today=TODAY, due=TODAY) == date(2027, 1, 6)


def test_freight_is_estimated_by_the_piece_and_priced_by_mode() -> None:
    assert FREIGHT.weight(250) == Decimal("25.0")
    assert FREIGHT.cost("air", Decimal(10)) == Decimal("30.0")
    assert FREIGHT.cost(Mode.SEA, Decimal(10)) == Decimal("1.0")
    assert domain.weight_after(Decimal("5.000"), -100, FREIGHT) == Decimal(0)  # never below nothing


def test_an_order_not_known_yet_is_feasible_with_nothing_shipped() -> None:
    answer = assess(None, quantity=0, cancels=True)
    assert (answer.feasible, answer.shipped, answer.new_date, answer.cost) == (True, 0, None, 0)
    assert answer.note == "logistics has nothing planned for it yet"


def test_only_picked_up_and_delivered_pieces_have_shipped() -> None:
    shipments = [
        Sh(10, Decimal(1), status=ShipmentStatus.PLANNED),
        Sh(20, Decimal(1), status=ShipmentStatus.CANCELLED),
        Sh(30, Decimal(1), status=ShipmentStatus.PICKED_UP),
        Sh(40, Decimal(1), status=ShipmentStatus.DELIVERED),
    ]
    assert domain.shipped(shipments) == 70


def test_a_cancellation_after_pickup_cannot_be_done() -> None:
    answer = assess(Order(14), Sh(14, Decimal(400), status=ShipmentStatus.IN_TRANSIT), quantity=0, cancels=True)
    assert (answer.feasible, answer.shipped) == (False, 14)
    assert answer.note == "14 pieces already left the warehouse and cannot be cancelled"


def test_a_cancellation_before_pickup_can_be_done() -> None:
    answer = assess(Order(14), Sh(14, Decimal(400)), quantity=6, cancels=True)
    assert (answer.feasible, answer.shipped, answer.new_date, answer.cost, answer.note) == (True, 0, None, 0, "")


def test_the_order_cannot_shrink_below_what_shipped_nor_grow_after_it() -> None:
    gone = Sh(14, Decimal(400), status=ShipmentStatus.PICKED_UP)
    smaller = assess(Order(14), gone, quantity=10)
    assert (smaller.feasible, smaller.note) == (
        False,
        "the order cannot go below the 14 pieces that already left the warehouse",
    )
    larger = assess(Order(14), gone, quantity=20)
    assert (larger.feasible, larger.shipped) == (False, 14)
    assert larger.note == "the goods already left in one shipment; the 6 added pieces cannot follow"


def test_a_new_date_after_pickup_changes_nothing_logistics_does() -> None:
    answer = assess(
        Order(14), Sh(14, Decimal(400), status=ShipmentStatus.PICKED_UP), quantity=14, due=DUE + timedelta(5)
    )
    assert (answer.feasible, answer.new_date, answer.cost, answer.shipped) == (True, None, 0, 14)
    assert answer.note == domain.ON_THEIR_WAY


def test_a_change_of_neither_date_nor_quantity_has_no_impact() -> None:
    answer = assess(Order(14), Sh(14, Decimal(400)), quantity=14)
    assert (answer.feasible, answer.new_date, answer.cost, answer.note) == (True, None, 0, "")


def test_added_pieces_before_packing_cost_their_estimated_freight() -> None:
    answer = assess(Order(400), quantity=500)  # 40 kg -> 50 kg by truck inside China
    assert (answer.feasible, answer.new_date, answer.cost, answer.shipped) == (True, DUE, Decimal("4.00"), 0)


def test_added_pieces_that_outgrow_express_pay_the_new_mode_on_the_whole_shipment() -> None:
    answer = assess(Order(250), Sh(250, Decimal(25), mode=Mode.EXPRESS), quantity=350)
    # 25 kg by express (100.00) becomes 35 kg by truck (14.00): cheaper, so no extra cost
    assert (answer.new_date, answer.cost) == (DUE, 0)


def test_a_date_pulled_in_abroad_forces_air_freight() -> None:
    order = Order(4000, country="US")
    answer = assess(order, Sh(4000, Decimal(400), mode=Mode.SEA), quantity=4000, due=TODAY + timedelta(days=10))
    assert (answer.feasible, answer.new_date) == (True, TODAY + timedelta(days=10))
    assert answer.cost == Decimal("1160.00")  # 400 kg by air (1 200) instead of by sea (40)


def test_a_date_too_close_for_any_mode_is_promised_later_with_a_warning() -> None:
    answer = assess(Order(4000, country="US"), quantity=4000, due=TODAY + timedelta(days=2))
    assert (answer.feasible, answer.new_date) == (True, date(2027, 1, 8))  # air takes four days
    assert answer.note == "by air the goods can arrive on 2027-01-08 at the earliest"


def test_a_replanned_shipment_follows_its_pieces_and_may_change_mode() -> None:
    plan = domain.replan(
        Sh(250, Decimal("25.000"), mode=Mode.EXPRESS),
        added=100,
        was_due=DUE,
        due=DUE,
        country="CN",
        today=TODAY,
        freight=FREIGHT,
    )
    assert (plan.quantity, plan.weight_kg, plan.mode) == (350, Decimal("35.000"), Mode.TRUCK)
    assert plan.note == "250 -> 350 pieces, 25.000 -> 35.000 kg; express with sf-express -> truck with deppon"


def test_a_moved_date_replans_the_mode_and_says_so() -> None:
    sea = Sh(4000, Decimal("400.000"), mode=Mode.SEA)
    soon = TODAY + timedelta(days=10)
    plan = domain.replan(sea, added=0, was_due=DUE, due=soon, country="US", today=TODAY, freight=FREIGHT)
    assert (plan.quantity, plan.weight_kg, plan.mode) == (4000, Decimal("400.000"), Mode.AIR)
    assert plan.note == f"due {DUE} -> {soon}; sea with cosco -> air with air-china-cargo"
    later = domain.replan(
        sea, added=0, was_due=DUE, due=DUE + timedelta(days=1), country="US", today=TODAY, freight=FREIGHT
    )
    assert (later.mode, later.note) == (Mode.SEA, f"due {DUE} -> {DUE + timedelta(days=1)}")


def test_a_change_that_leaves_the_shipment_as_it_was_says_nothing() -> None:
    plan = domain.replan(
        Sh(14, Decimal(400)), added=0, was_due=DUE, due=DUE, country="CN", today=TODAY, freight=FREIGHT
    )
    assert (plan.quantity, plan.weight_kg, plan.mode, plan.note) == (14, Decimal(400), Mode.TRUCK, "")


def test_a_cancelled_order_ships_nothing_and_its_shipment_stays_cancelled() -> None:
    assert domain.needs_shipment(14)
    assert not domain.needs_shipment(14, cancelled=True)
    assert not domain.needs_shipment(0)
    assert not domain.moves_forward(ShipmentStatus.CANCELLED, ShipmentStatus.PICKED_UP)
    assert not domain.left_warehouse(ShipmentStatus.CANCELLED)
    assert not domain.left_warehouse(ShipmentStatus.PLANNED)
    assert domain.left_warehouse(ShipmentStatus.OUT_FOR_DELIVERY)
    assert domain.cancels_everything(0) and not domain.cancels_everything(1)


def test_a_packing_report_without_a_count_covers_the_whole_order() -> None:
    assert domain.packed_pieces(12, ordered=14) == 12
    assert domain.packed_pieces(0, ordered=14) == 14
