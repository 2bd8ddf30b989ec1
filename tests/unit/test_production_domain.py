"""Production's capacity, feasibility and change rules: pure functions, no I/O."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from services.production import domain
from services.production.domain import Demand, Plant
from shared.fields import LATEST

pytestmark = pytest.mark.unit
TODAY = date(2027, 1, 4)
PLANT = Plant(daily_capacity=100, make_lead_days=3, buy_lead_days=10)


@dataclass
class Wo:
    """A work order as the change rules read it."""

    id: str
    line_no: int
    quantity: int
    status: str = "planned"
    kind: str = "make"
    good_quantity: int = 0
    unit_price: Decimal = Decimal("2.50")


def test_a_line_waits_for_the_load_and_the_lines_before_it() -> None:
    demands = [Demand(1, 50), Demand(2, 100), Demand(3, 1, "buy")]
    dates = domain.earliest_completions(demands, load=0, today=TODAY, plant=PLANT)
    # 50 pieces: one day; 150: two days; 151: two days, but bought (10 days' lead)
    assert dates == {1: date(2027, 1, 8), 2: date(2027, 1, 9), 3: date(2027, 1, 16)}

    loaded = domain.earliest_completions(demands[:1], load=250, today=TODAY, plant=PLANT)
    assert loaded == {1: date(2027, 1, 10)}  # 300 queued: three days after the lead


def test_an_impossible_load_is_the_last_date_an_order_can_carry() -> None:
    dates = domain.earliest_completions([Demand(1, 10)], load=10**15, today=TODAY, plant=PLANT)
    assert dates == {1: LATEST}


def test_the_default_plant_makes_an_ordinary_order_due_in_two_weeks() -> None:
    [earliest] = domain.earliest_completions([Demand(1, 500)], load=5000, today=TODAY, plant=Plant()).values()
    assert earliest == date(2027, 1, 8)
    assert domain.feasible(earliest, date(2027, 1, 18))  # due in 14 days, 5 of them to ship
    assert not domain.feasible(date(2027, 1, 14), date(2027, 1, 18))


def test_a_change_replans_only_when_it_moves_the_delivery_date() -> None:
    confirmed = date(2027, 2, 1)  # planned from a date confirmed for the line
    assert domain.replanned(confirmed, date(2027, 2, 13), date(2027, 2, 13)) == confirmed
    assert domain.replanned(confirmed, date(2027, 2, 13), date(2027, 3, 1)) == date(2027, 2, 24)


def test_cancelled_work_orders_do_not_hold_up_readiness() -> None:
    assert domain.order_ready(["completed", "cancelled"])
    assert not domain.order_ready(["cancelled"])
    assert not domain.order_ready(["started", "cancelled"])
    assert domain.next_status("cancelled", "completed") is None


def assess(work_orders: list[Wo], proposed: list[Demand], cancelled: tuple[int, ...] = ()) -> domain.Assessment:
    return domain.assess_change(
        work_orders, proposed, cancelled, delivery_date=date(2027, 2, 13), load=0, today=TODAY, plant=PLANT
    )


def test_an_unknown_order_is_feasible_with_nothing_made() -> None:
    found = assess([], [Demand(1, 100)])
    assert (found.feasible, found.made, found.work_in_progress, found.material_bought) == (True, 0, 0, 0)
    assert found.new_date == date(2027, 1, 8)


def test_a_line_cannot_go_below_what_is_made() -> None:
    done = Wo("WO1", 1, 100, "completed", good_quantity=98)
    found = assess([done], [Demand(1, 90)])
    assert not found.feasible
    assert found.note == "line 1 cannot go below the 98 pieces already made"
    assert (found.made, found.new_date) == (98, None)
    assert assess([done], [Demand(1, 98)]).feasible


def test_a_completed_line_cannot_be_cancelled() -> None:
    found = assess([Wo("WO1", 1, 10, "completed", good_quantity=10), Wo("WO2", 2, 5)], [], (1, 2))
    assert not found.feasible
    assert found.note == "line 1 is already made (10 pieces) and cannot be cancelled"


def test_a_reduced_bought_line_strands_its_material_once_ordered() -> None:
    bought = Wo("WO1", 1, 100, "started", kind="buy", unit_price=Decimal("2.50"))
    found = assess([bought, Wo("WO2", 2, 30, "started"), Wo("WO3", 3, 7)], [Demand(1, 60, "buy")], (2,))
    assert found.feasible
    assert found.material_bought == Decimal("60.00")  # 40 pieces x 2.50 x 0.6; the make line 2 strands nothing
    assert (found.work_in_progress, found.made, found.new_date) == (130, 0, None)
    not_yet = assess([Wo("WO1", 1, 100, "planned", kind="buy")], [Demand(1, 60, "buy")])
    assert not_yet.material_bought == 0  # nothing ordered from the supplier yet


def test_only_the_added_pieces_wait_for_capacity() -> None:
    found = assess([Wo("WO1", 1, 1000, "completed", good_quantity=1000), Wo("WO2", 2, 10)], [Demand(1, 1150)])
    assert (found.new_date, found.made) == (date(2027, 1, 9), 1000)  # 150 more: two days after the lead
    late = domain.assess_change(
        [], [Demand(1, 5000)], [], delivery_date=date(2027, 1, 20), load=0, today=TODAY, plant=PLANT
    )
    assert late.feasible and late.new_date == date(2027, 2, 26)
    assert late.note == "the added pieces can be complete by 2027-02-26, too late to ship by 2027-01-20"


def test_a_line_change_resizes_the_open_work_order_or_adds_one() -> None:
    assert domain.change_line([Wo("WO1", 1, 10)], 15) == domain.LineChange(resize=15)
    assert domain.change_line([Wo("WO1", 1, 10)], 10) == domain.LineChange()
    done = Wo("WO1", 1, 10, "completed", good_quantity=10)
    assert domain.change_line([done], 25) == domain.LineChange(add=15)
    assert domain.change_line([done, Wo("WO2", 1, 15)], 25) == domain.LineChange()  # applied before
    assert domain.change_line([done, Wo("WO2", 1, 15)], 20) == domain.LineChange(resize=10)
    assert domain.change_line([done, Wo("WO2", 1, 15)], 10) == domain.LineChange(cancel=("WO2",))
    assert domain.change_line([Wo("WO1", 1, 10, "cancelled")], 4) == domain.LineChange(add=4)
    assert domain.change_line([], 4) == domain.LineChange(add=4)
