"""Logistics planning rules: the mode from the cost and transit table (with its reason), the legs of an export by
sea, partial packing and delivery per order line, the ETA, the claim lifecycle. Pure functions, no I/O."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.logistics import planning
from services.logistics.planning import Mode
from services.logistics.settings import SEED, load_mode_table

pytestmark = pytest.mark.unit
TODAY = date(2027, 1, 4)
TABLE = load_mode_table(SEED / "modes.yaml")


def choose(kg: str, days: int, country: str = "CN", m3: str = "0") -> planning.ModeChoice:
    due = TODAY + timedelta(days=days)
    return planning.choose(
        today=TODAY, due=due, country=country, weight_kg=Decimal(kg), volume_m3=Decimal(m3), table=TABLE
    )


def test_the_seed_table_is_the_default_table() -> None:
    assert TABLE == planning.DEFAULT_TABLE


@pytest.mark.parametrize(
    ("kg", "days", "country", "m3", "mode"),
    [
        ("12", 40, "CN", "0", Mode.EXPRESS),  # a parcel: express is cheapest
        ("400", 40, "CN", "0", Mode.TRUCK),  # freight at home goes by road
        ("400", 5, "CN", "0", Mode.TRUCK),  # too late for anything: the fastest that carries it
        ("400", 40, "US", "0", Mode.SEA),  # freight abroad with time goes by sea
        ("400", 20, "US", "0", Mode.AIR),  # 18 days at sea + 3 days booking do not fit in 20
        ("12", 40, "US", "0", Mode.EXPRESS),
        ("25", 40, "CN", "2", Mode.TRUCK),  # light but bulky: 2 m3 is chargeable as 334 kg by express
    ],
)
def test_the_cheapest_mode_that_arrives_in_time_is_chosen(
    kg: str, days: int, country: str, m3: str, mode: Mode
) -> None:
    assert choose(kg, days, country, m3).mode == mode


def test_the_reason_compares_the_modes_it_could_take() -> None:
    choice = choose("400", 20, "US")
    assert choice.reason.startswith(f"air: cheapest arriving by {TODAY + timedelta(days=20)}")
    assert "sea 100.00 in 18d" in choice.reason and "air 1400.00 in 4d" in choice.reason
    assert "truck" not in choice.reason  # trucks do not go abroad
    assert (choice.cost, choice.arrives) == (Decimal("1400.00"), TODAY + timedelta(days=7))
    late = choose("400", 2, "US")
    assert late.mode == Mode.AIR and "fastest; none arrives by" in late.reason


def test_an_export_by_sea_travels_in_three_legs_a_direct_shipment_in_one() -> None:
    legs = planning.legs_of(Mode.SEA, "DE", TABLE)
    assert [(leg.mode, leg.carrier) for leg in legs] == [
        (Mode.TRUCK, "deppon"),
        (Mode.SEA, "cosco"),
        (Mode.EXPRESS, "dhl-express"),
    ]
    assert sum(leg.days for leg in legs) == TABLE.spec(Mode.SEA).transit_days
    [direct] = planning.legs_of(Mode.TRUCK, "CN", TABLE)
    assert (direct.mode, direct.carrier, direct.days) == (Mode.TRUCK, "deppon", 3)


def test_volume_of_packages() -> None:
    assert planning.volume([(120, 80, 100, 2), (50, 40, 30, 10)]) == Decimal("2.520")


def test_a_packed_batch_takes_the_wms_count_per_line_never_more_than_is_left() -> None:
    left = {1: 1000, 2: 50}
    assert planning.packed_lines(left, {1: 600}, 600) == {1: 600}
    assert planning.packed_lines(left, {1: 1200, 2: 10}, 0) == {1: 1000, 2: 10}
    assert planning.packed_lines(left, {3: 5}, 5) == {}  # a line the order does not have


def test_a_batch_without_lines_is_spread_over_the_lines_in_order_or_takes_everything_left() -> None:
    assert planning.packed_lines({1: 1000, 2: 50}, {}, 1020) == {1: 1000, 2: 20}
    assert planning.packed_lines({1: 0, 2: 50}, {}, 0) == {2: 50}


def test_what_is_left_to_pack_after_partial_batches() -> None:
    assert planning.left_to_pack({1: 1000, 2: 50}, [{1: 600}, {1: 400, 2: 20}]) == {1: 0, 2: 30}


def test_600_and_400_of_1000_deliver_the_order_only_together() -> None:
    ordered = {1: 1000}
    assert not planning.order_delivered(ordered, [{1: 600}])
    assert planning.order_delivered(ordered, [{1: 600}, {1: 400}])
    assert not planning.order_delivered({1: 1000, 2: 5}, [{1: 600}, {1: 400}])


def test_received_pieces_per_line_from_the_proof_of_delivery() -> None:
    carried = {1: 60, 2: 40}
    assert planning.received_lines(carried, None, {}) == carried  # a delivery without a count: all of it
    assert planning.received_lines(carried, 90, {}) == {1: 60, 2: 30}  # short on the last line
    assert planning.received_lines(carried, 90, {1: 55, 2: 40}) == {1: 55, 2: 40}  # counted per line
    assert planning.received_lines(carried, 0, {}) == {}


def test_a_reshipment_carries_what_was_not_delivered_or_what_is_asked() -> None:
    assert planning.reshipment_lines({1: 60, 2: 40}, {1: 60, 2: 30}, {}) == {2: 10}
    assert planning.reshipment_lines({1: 60}, {}, {}) == {1: 60}  # lost: everything again
    assert planning.reshipment_lines({1: 60}, {1: 60}, {1: 5}) == {1: 5}


def test_the_eta_follows_the_mode_then_the_scans() -> None:
    assert planning.eta_at_plan(Mode.SEA, today=TODAY, table=TABLE) == TODAY + timedelta(days=21)
    at_port = planning.eta_after_scan(
        on=TODAY, status="delivered", days_after_leg=16, leg_days=2, carrier_eta=None, final_leg=False
    )
    assert at_port == TODAY + timedelta(days=16)  # the truck delivered to the port: sea and last mile remain
    out = planning.eta_after_scan(
        on=TODAY, status="out_for_delivery", days_after_leg=0, leg_days=2, carrier_eta=None, final_leg=True
    )
    assert out == TODAY
    given = TODAY + timedelta(days=9)
    said = planning.eta_after_scan(
        on=TODAY, status="customs", days_after_leg=2, leg_days=14, carrier_eta=given, final_leg=False
    )
    assert said == given  # the carrier's own ETA wins
    assert planning.eta_is_late(TODAY + timedelta(days=1), TODAY)
    assert not planning.eta_is_late(TODAY, TODAY) and not planning.eta_is_late(None, TODAY)


@pytest.mark.parametrize(
    ("current", "to", "allowed"),
    [
        ("opened", "submitted", True),
        ("submitted", "accepted", True),
        ("submitted", "rejected", True),
        ("accepted", "paid", True),
        ("paid", "closed", True),
        ("rejected", "submitted", True),  # resubmitted with more evidence
        ("opened", "paid", False),
        ("opened", "accepted", False),
        ("closed", "opened", False),
        ("closed", "closed", False),
        ("submitted", "submitted", True),  # evidence or amount added
    ],
)
def test_the_claim_lifecycle(current: str, to: str, allowed: bool) -> None:
    assert planning.claim_may_move(current, to) is allowed
