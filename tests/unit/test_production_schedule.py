"""Production's milestone plan and early-warning rules: back-scheduling, reaching and projecting milestones,
the projection from observed rates. Pure functions, no I/O."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest

from services.production import domain, schedule
from services.production.schedule import Observed, Route
from shared.contracts import MilestoneName as M
from shared.fields import LATEST

pytestmark = pytest.mark.unit
TODAY = date(2027, 1, 4)
NOW = datetime(2027, 1, 4, 8, tzinfo=UTC)


def plan(steps: list[schedule.Step]) -> list[tuple[str, date]]:
    return [(s.name.value, s.planned) for s in steps]


def test_a_made_line_is_planned_back_from_its_completion() -> None:
    # 5 000 pieces at 2 000 a day: three days, one of QC; material the day before production starts
    made = schedule.back_schedule(date(2027, 3, 1), Route(quantity=5_000, daily_capacity=2_000), today=TODAY)
    assert plan(made.steps) == [
        ("materials_ready", date(2027, 2, 24)),
        ("production_started", date(2027, 2, 25)),
        ("final_qc_passed", date(2027, 3, 1)),
        ("completed", date(2027, 3, 1)),
    ]
    assert not made.compressed


def test_approvals_come_between_material_and_production() -> None:
    route = Route(quantity=100, daily_capacity=100, sample_days=7, pre_production_days=3, qc_days=2)
    steps = schedule.back_schedule(date(2027, 3, 1), route, today=TODAY).steps
    assert plan(steps) == [
        ("materials_ready", date(2027, 2, 16)),
        ("sample_approved", date(2027, 2, 23)),
        ("pre_production_approved", date(2027, 2, 26)),
        ("production_started", date(2027, 2, 26)),
        ("final_qc_passed", date(2027, 3, 1)),
        ("completed", date(2027, 3, 1)),
    ]
    only_sample = schedule.back_schedule(date(2027, 3, 1), Route(sample_days=5), today=TODAY).steps
    assert [s.name for s in only_sample][:3] == [M.MATERIALS_READY, M.SAMPLE_APPROVED, M.PRODUCTION_STARTED]


def test_a_bought_line_is_received_and_inspected_before_completion() -> None:
    bought = schedule.back_schedule(date(2027, 3, 1), Route(kind="buy", material_lead_days=10), today=TODAY)
    assert plan(bought.steps) == [
        ("materials_ready", date(2027, 2, 28)),
        ("final_qc_passed", date(2027, 3, 1)),
        ("completed", date(2027, 3, 1)),
    ]


def test_no_milestone_is_planned_before_today_and_a_tight_plan_is_compressed() -> None:
    tight = schedule.back_schedule(TODAY + timedelta(days=1), Route(quantity=40_000), today=TODAY)
    assert min(s.planned for s in tight.steps) == TODAY
    assert tight.compressed
    short_lead = schedule.back_schedule(TODAY + timedelta(days=8), Route(material_lead_days=10), today=TODAY)
    assert min(s.planned for s in short_lead.steps) > TODAY and short_lead.compressed  # material needs 10 days


def test_reaching_a_milestone_late_moves_the_ones_after_it() -> None:
    steps = schedule.back_schedule(date(2027, 3, 1), Route(sample_days=7), today=TODAY).steps
    sample = schedule.find(steps, M.SAMPLE_APPROVED)
    assert sample is not None
    assert schedule.reach(steps, M.SAMPLE_APPROVED, sample.planned + timedelta(days=3))
    assert not schedule.reach(steps, M.SAMPLE_APPROVED, sample.planned + timedelta(days=9))  # the first counts
    after = steps[steps.index(sample) + 1 :]
    assert all(s.projected == s.planned + timedelta(days=3) for s in after)
    assert schedule.next_milestone(steps) == schedule.find(steps, M.MATERIALS_READY)  # never reached: still next


def test_a_projection_back_on_plan_clears_the_ones_after_it() -> None:
    steps = schedule.back_schedule(date(2027, 3, 1), Route(), today=TODAY).steps
    qc = schedule.find(steps, M.FINAL_QC_PASSED)
    assert qc is not None
    assert schedule.project(steps, M.FINAL_QC_PASSED, qc.planned + timedelta(days=4))
    assert [s.projected for s in steps[-2:]] == [qc.planned + timedelta(days=4)] * 2
    assert not schedule.project(steps, M.FINAL_QC_PASSED, qc.planned + timedelta(days=4))  # no change: no news
    assert schedule.project(steps, M.FINAL_QC_PASSED, qc.planned)
    assert [s.projected for s in steps] == [None] * len(steps)


def test_the_slowest_operation_sets_the_projection() -> None:
    started = NOW - timedelta(days=2)
    observed = [Observed("cutting", 800), Observed("welding", 100), Observed("painting", 0)]
    projection = schedule.projected_completion(1_000, observed, started_at=started, now=NOW, min_hours=1)
    # welding: 50 a day, 900 to go: 18 days; cutting: 400 a day, one day; painting has nothing to measure yet
    assert projection == schedule.Projection(TODAY + timedelta(days=18), "welding", 50.0)
    assert schedule.at_risk(projection.completion, TODAY + timedelta(days=16), tolerance_days=1)
    assert not schedule.at_risk(projection.completion, TODAY + timedelta(days=17), tolerance_days=1)


def test_no_projection_too_early_when_done_or_beyond_any_date() -> None:
    just = NOW - timedelta(minutes=20)
    assert schedule.projected_completion(100, [Observed("a", 1)], started_at=just, now=NOW, min_hours=1) is None
    done = [Observed("a", 100)]
    assert schedule.projected_completion(100, done, started_at=NOW - timedelta(days=1), now=NOW, min_hours=1) is None
    crawl = schedule.projected_completion(
        10_000_000, [Observed("a", 1)], started_at=NOW - timedelta(days=300), now=NOW, min_hours=1
    )
    assert crawl is not None and crawl.completion == LATEST


def test_finished_pieces_are_the_last_operations() -> None:
    counts = [("cutting", 90), ("machining", 60)]
    assert domain.finished(counts, ["cutting", "machining", "assembly"]) == 0  # assembly has not reported
    assert domain.finished([*counts, ("assembly", 40)], ["cutting", "machining", "assembly"]) == 40
    assert domain.finished(counts, []) == 60  # no routing: the last operation reported
    assert domain.finished([], []) == 0


def test_scrap_share_and_completion_status() -> None:
    assert schedule.scrap_share(95, 5) == 0.05
    assert schedule.scrap_share(0, 0) == 0.0
    assert domain.after_production(True, False) == domain.WorkOrderStatus.AWAITING_QC
    assert domain.after_production(True, True) == domain.after_production(False, False) == "completed"


def test_feasibility_counts_the_masters_material_approvals_and_qc() -> None:
    @dataclass
    class Master:
        sku: str = "GX-S"
        make_or_buy: str = "make"
        supplier: str = ""
        material_lead_days: int = 5
        sample_required: bool = True
        sample_days: int = 7
        pre_production_required: bool = False
        pre_production_days: int = 3
        qc_days: int = 1
        operations: list[str] = field(default_factory=list)
        daily_capacity: int = 100

    plant = domain.Plant(daily_capacity=100)
    gated = domain.demand(1, 100, "make", Master())
    bought = domain.demand(2, 100, "make", Master(make_or_buy="buy", material_lead_days=10, qc_days=0))
    unknown = domain.demand(3, 100, "make", None)
    assert (gated.kind, gated.lead_days, bought.kind, bought.lead_days) == ("make", 13, "buy", 10)
    dates = domain.earliest_completions([gated], load=0, today=TODAY, plant=plant)
    assert dates == {1: TODAY + timedelta(days=14)}  # 5 material + 7 sample + 1 QC, and one day of production
    assert unknown.lead_days is None  # the plant's lead time for its kind
