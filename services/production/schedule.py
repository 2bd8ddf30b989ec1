"""The milestone plan of a work or purchase order: back-scheduled from the confirmed date, projected from what
is observed, actual as milestones are reached. Pure."""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol, TypeVar

from shared.contracts import Milestone, MilestoneName
from shared.fields import LATEST

D = TypeVar("D", bound="Dated")


@dataclass(frozen=True)
class Route:
    """What a work order's plan is built from: the product master's lead times and the line's quantity."""

    kind: str = "make"
    quantity: int = 1
    daily_capacity: int = 20_000
    material_lead_days: int = 3  # make: material bought in; buy: the supplier's lead time
    sample_days: int | None = None  # None: no sample approval needed
    pre_production_days: int | None = None  # None: no pre-production approval needed
    qc_days: int = 1

    @property
    def production_days(self) -> int:
        return max(1, math.ceil(self.quantity / max(self.daily_capacity, 1)))

    def stages(self) -> list[tuple[MilestoneName, int]]:
        """The milestones of the plan in order, each with the days it takes after the one before it."""
        if self.kind == "buy":  # received, inspected on arrival, complete
            return [(MilestoneName.MATERIALS_READY, 0), (MilestoneName.FINAL_QC_PASSED, self.qc_days)]
        gates = [
            (name, days)
            for name, days in (
                (MilestoneName.SAMPLE_APPROVED, self.sample_days),
                (MilestoneName.PRE_PRODUCTION_APPROVED, self.pre_production_days),
            )
            if days is not None
        ]
        return [
            (MilestoneName.MATERIALS_READY, 0),
            *gates,
            (MilestoneName.PRODUCTION_STARTED, 0 if gates else 1),  # on approval, else the day after materials
            (MilestoneName.FINAL_QC_PASSED, self.production_days + self.qc_days),
        ]


@dataclass
class Step:
    """One milestone of a plan as stored: planned, and once known, projected and actual."""

    name: MilestoneName
    planned: date
    projected: date | None = None
    actual: date | None = None


class Dated(Protocol):
    """A milestone as the rules read and move it (a Step, or a stored row)."""

    @property
    def name(self) -> str: ...

    planned: date
    projected: date | None
    actual: date | None


@dataclass(frozen=True)
class Plan:
    steps: list[Step] = field(default_factory=list)
    compressed: bool = False  # some milestone had to be planned earlier than possible (today, or the lead time)


def back_schedule(completion: date, route: Route, *, today: date) -> Plan:
    """Milestones planned back from the date production must be complete by; none before today, and a plan
    that does not leave the material's lead time is compressed."""
    steps = [Step(MilestoneName.COMPLETED, completion)]
    days_after = 0
    for name, days in reversed(route.stages()):
        steps.insert(0, Step(name, steps[0].planned - timedelta(days=days_after)))
        days_after = days
    compressed = steps[0].planned < today + timedelta(days=route.material_lead_days)
    for step in steps:
        if step.planned < today:
            step.planned, compressed = today, True
    return Plan(steps, compressed)


def reach(steps: Sequence[Dated], name: str, day: date) -> bool:
    """A milestone reached on `day` (the first time counts); later ones move by its lateness. True if anything
    changed."""
    step = find(steps, name)
    if step is None or step.actual is not None:
        return False
    step.actual, step.projected = day, None
    late = day - step.planned
    later = steps[list(steps).index(step) + 1 :]
    _shift(later, late if late > timedelta(0) else None)
    return True


def project(steps: Sequence[Dated], name: str, day: date | None) -> bool:
    """A milestone now expected on `day` (None: as planned); later ones not reached move with it. True if
    anything changed."""
    step = find(steps, name)
    if step is None or step.actual is not None:
        return False
    day = None if day is None or day == step.planned else min(day, LATEST)
    changed = step.projected != day
    step.projected = day
    late = day - step.planned if day is not None else None
    return _shift(steps[list(steps).index(step) + 1 :], late) or changed


def _shift(steps: Sequence[Dated], late: timedelta | None) -> bool:
    changed = False
    for step in steps:
        if step.actual is not None:
            continue
        projected = min(step.planned + late, LATEST) if late is not None and late > timedelta(0) else None
        changed |= step.projected != projected
        step.projected = projected
    return changed


def find(steps: Sequence[D], name: str) -> D | None:
    return next((s for s in steps if s.name == name), None)


def published(steps: Sequence[Dated]) -> list[Milestone]:
    """The plan as production.milestones_changed carries it."""
    return [
        Milestone(name=MilestoneName(s.name), planned=s.planned, projected=s.projected, actual=s.actual) for s in steps
    ]


def next_milestone(steps: Sequence[D]) -> D | None:
    """The first milestone not reached yet."""
    return next((s for s in steps if s.actual is None), None)


# --- projection -------------------------------------------------------------------------


@dataclass(frozen=True)
class Observed:
    """One operation's good pieces so far."""

    operation: str
    good: int


@dataclass(frozen=True)
class Projection:
    completion: date
    operation: str  # the slowest operation: the stage a delay is attributed to
    per_day: float  # its observed good pieces per day


def projected_completion(
    quantity: int, observed: Sequence[Observed], *, started_at: datetime, now: datetime, min_hours: float
) -> Projection | None:
    """When the work order completes if each operation keeps its observed rate since the start: the slowest
    operation's finish. None until `min_hours` have been observed, or when every operation is done."""
    hours = (now - started_at).total_seconds() / 3600
    if hours < min_hours:
        return None
    worst: Projection | None = None
    for op in observed:
        remaining = quantity - op.good
        if remaining <= 0 or op.good <= 0:
            continue  # done, or nothing good yet to measure a rate by (silence and breakdowns are other rules)
        per_day = op.good / hours * 24
        days = remaining / per_day
        finish = (
            LATEST if days > (LATEST - now.date()).days else min(now.date() + timedelta(days=math.ceil(days)), LATEST)
        )
        if worst is None or finish > worst.completion:
            worst = Projection(finish, op.operation, round(per_day, 1))
    return worst


def at_risk(projected: date, planned: date, tolerance_days: int) -> bool:
    """A projected completion later than the plan allows."""
    return projected > planned + timedelta(days=tolerance_days)


def scrap_share(good: int, scrap: int) -> float:
    """The share of an operation's pieces it scrapped."""
    return scrap / (good + scrap) if good + scrap else 0.0
