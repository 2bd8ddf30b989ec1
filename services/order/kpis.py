"""Key figures of a period from what the order service holds: on-time delivery, lead times per stage, delay
causes, orders and exceptions per stage and customer. Pure: the caller loads the facts."""

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel, Field

from services.order.domain import STAGE_OF_EVENT, STAGES, OrderStatus

# The stage an event on the timeline starts (its first such event is the stage's start).
STAGE_OF_TYPE = {model.event_type: stage for model, stage in STAGE_OF_EVENT.items()}
DAY = 86_400.0


@dataclass(frozen=True)
class OrderFacts:
    id: str
    customer: str
    status: str
    created_at: datetime
    promised: date
    delivered_at: datetime | None
    planned_completion: date | None


@dataclass(frozen=True)
class Step:
    """One lifecycle event on an order's timeline."""

    order_id: str
    type: str
    occurred_at: datetime


@dataclass(frozen=True)
class Raised:
    """One exception raised on the board."""

    order_id: str
    customer: str | None
    stage: str
    cause: str
    raised_at: datetime


class OnTime(BaseModel):
    delivered: int = Field(description="Orders delivered in the period.")
    on_time: int = Field(description="Of those, delivered on or before the promised date.")
    rate: float | None = Field(description="on_time / delivered; none when nothing was delivered.")


class LeadTime(BaseModel):
    """How long orders spent in a stage (first event of the stage to the first of the next), in days."""

    stage: str
    orders: int
    actual_mean_days: float
    actual_p50_days: float
    planned_orders: int = Field(description="Orders with a plan for this stage.")
    planned_mean_days: float | None
    planned_p50_days: float | None


class CauseCount(BaseModel):
    stage: str
    cause: str
    exceptions: int


class StageCount(BaseModel):
    stage: str
    orders: int = Field(description="Orders created in the period now at this stage.")
    exceptions: int = Field(description="Exceptions of this stage raised in the period.")


class CustomerCount(BaseModel):
    customer: str
    orders: int = Field(description="Orders created in the period.")
    delivered: int
    on_time: int
    exceptions: int = Field(description="Exceptions raised in the period.")


class Kpis(BaseModel):
    """The key figures of a period, [from, to] in UTC days."""

    period_from: date
    period_to: date
    on_time_delivery: OnTime
    lead_times: list[LeadTime]
    delay_causes: list[CauseCount]
    per_stage: list[StageCount]
    per_customer: list[CustomerCount]


def within(at: datetime, start: datetime, end: datetime) -> bool:
    return start <= at < end


def on_time(orders: Iterable[OrderFacts], start: datetime, end: datetime) -> OnTime:
    """Orders delivered in the period, and how many of them by the promised date."""
    delivered = [o for o in orders if o.delivered_at is not None and within(o.delivered_at, start, end)]
    punctual = sum(1 for o in delivered if o.delivered_at and o.delivered_at.date() <= o.promised)
    rate = round(punctual / len(delivered), 4) if delivered else None
    return OnTime(delivered=len(delivered), on_time=punctual, rate=rate)


def stage_starts(steps: Iterable[Step]) -> dict[str, dict[OrderStatus, datetime]]:
    """Per order, when each stage began: the first timeline event of that stage."""
    starts: dict[str, dict[OrderStatus, datetime]] = defaultdict(dict)
    for step in steps:
        stage = STAGE_OF_TYPE.get(step.type)
        began = starts[step.order_id]
        if stage is not None and (stage not in began or step.occurred_at < began[stage]):
            began[stage] = step.occurred_at
    return dict(starts)


def stage_spans(began: dict[OrderStatus, datetime]) -> dict[OrderStatus, tuple[datetime, datetime]]:
    """Each stage's start and the start of the next stage the order reached (skipped stages are passed over)."""
    reached = [s for s in STAGES if s in began]
    spans: dict[OrderStatus, tuple[datetime, datetime]] = {}
    for stage, following in zip(reached, reached[1:], strict=False):
        if began[following] >= began[stage]:
            spans[stage] = (began[stage], began[following])
    return spans


def planned_days(stage: OrderStatus, order: OrderFacts, began: datetime) -> float | None:
    """What was planned for a stage, where the order says: production until its planned completion."""
    if stage == OrderStatus.IN_PRODUCTION and order.planned_completion is not None:
        return float((order.planned_completion - began.date()).days)
    return None


def _stats(values: Sequence[float]) -> tuple[float, float]:
    return round(statistics.fmean(values), 2), round(statistics.median(values), 2)


def lead_times(
    starts: dict[str, dict[OrderStatus, datetime]], orders: dict[str, OrderFacts], start: datetime, end: datetime
) -> list[LeadTime]:
    """Actual (mean, median) and planned days per stage, over the stages that ended in the period."""
    actual: dict[OrderStatus, list[float]] = defaultdict(list)
    planned: dict[OrderStatus, list[float]] = defaultdict(list)
    for order_id, began in starts.items():
        for stage, (first, then) in stage_spans(began).items():
            if not within(then, start, end):
                continue
            actual[stage].append((then - first).total_seconds() / DAY)
            order = orders.get(order_id)
            plan = planned_days(stage, order, first) if order else None
            if plan is not None:
                planned[stage].append(plan)
    found = []
    for stage in STAGES:
        if actual[stage]:
            mean, p50 = _stats(actual[stage])
            plan_mean, plan_p50 = _stats(planned[stage]) if planned[stage] else (None, None)
            found.append(
                LeadTime(
                    stage=stage,
                    orders=len(actual[stage]),
                    actual_mean_days=mean,
                    actual_p50_days=p50,
                    planned_orders=len(planned[stage]),
                    planned_mean_days=plan_mean,
                    planned_p50_days=plan_p50,
                )
            )
    return found


def delay_causes(raised: Iterable[Raised]) -> list[CauseCount]:
    """Exceptions raised, by stage and cause, most first."""
    counts = Counter((r.stage, r.cause) for r in raised)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [CauseCount(stage=stage, cause=cause, exceptions=n) for (stage, cause), n in ranked]


def per_stage(created: Iterable[OrderFacts], raised: Iterable[Raised]) -> list[StageCount]:
    """Orders (created in the period, by where they stand) and exceptions (raised in it) per stage."""
    orders = Counter(o.status for o in created)
    exceptions = Counter(r.stage for r in raised)
    names = sorted(set(orders) | set(exceptions))
    return [StageCount(stage=n, orders=orders[n], exceptions=exceptions[n]) for n in names]


def per_customer(
    created: Iterable[OrderFacts], delivered: Iterable[OrderFacts], raised: Iterable[Raised]
) -> list[CustomerCount]:
    """Per customer: orders created, delivered (and on time), exceptions raised in the period."""
    orders = Counter(o.customer for o in created)
    arrived = Counter(o.customer for o in delivered)
    punctual = Counter(o.customer for o in delivered if o.delivered_at and o.delivered_at.date() <= o.promised)
    exceptions = Counter(r.customer or "" for r in raised)
    names = sorted(set(orders) | set(arrived) | set(exceptions))
    return [
        CustomerCount(customer=n, orders=orders[n], delivered=arrived[n], on_time=punctual[n], exceptions=exceptions[n])
        for n in names
    ]


def measure(
    *,
    orders: Sequence[OrderFacts],
    steps: Iterable[Step],
    raised: Sequence[Raised],
    start: datetime,
    end: datetime,
    period: tuple[date, date],
) -> Kpis:
    """The period's key figures from the orders touched in it, their timelines and the exceptions raised in it."""
    created = [o for o in orders if within(o.created_at, start, end)]
    delivered = [o for o in orders if o.delivered_at is not None and within(o.delivered_at, start, end)]
    return Kpis(
        period_from=period[0],
        period_to=period[1],
        on_time_delivery=on_time(orders, start, end),
        lead_times=lead_times(stage_starts(steps), {o.id: o for o in orders}, start, end),
        delay_causes=delay_causes(raised),
        per_stage=per_stage(created, raised),
        per_customer=per_customer(created, delivered, raised),
    )
