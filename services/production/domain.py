"""Production rules: planning a work order back from the delivery date, capacity and feasibility, MES progress,
the impact of a change, order readiness. Pure."""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal, Protocol

from shared.fields import LATEST
from shared.findings import Findings

SHIPPING_BUFFER = timedelta(days=5)


class WorkOrderStatus(StrEnum):
    PLANNED = "planned"
    STARTED = "started"  # make: the MES started it; buy: the supplier confirmed it
    AWAITING_QC = "awaiting_qc"  # made or received; waits for the final or incoming inspection
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN = (WorkOrderStatus.PLANNED, WorkOrderStatus.STARTED, WorkOrderStatus.AWAITING_QC)
"""Work orders the plant still has to finish: the load, and what a change or cancellation can still stop."""
UNDER_WAY = (WorkOrderStatus.STARTED, WorkOrderStatus.AWAITING_QC)
"""Work in progress: started (or confirmed by the supplier), perhaps made and waiting for inspection."""


class Refused(ValueError):
    """A person's request that the work order's state does not allow (answered 409)."""


@dataclass(frozen=True)
class Policy:
    """The early-warning thresholds (settings), as the handlers and watch rules apply them."""

    delay_tolerance_days: int = 1
    scrap_threshold: float = 0.05
    risk_min_hours: float = 1.0
    rework_days: int = 2
    shipping_buffer: timedelta = SHIPPING_BUFFER


class ProductFacts(Protocol):
    """What planning reads of a product master entry."""

    sku: str
    make_or_buy: str
    supplier: str
    material_lead_days: int
    sample_required: bool
    sample_days: int
    pre_production_required: bool
    pre_production_days: int
    qc_days: int
    operations: list[str]
    daily_capacity: int


def make_or_buy(line_kind: str, product: ProductFacts | None) -> Literal["make", "buy"]:
    """A line the order says is bought is bought; otherwise the product master decides (made when unknown)."""
    return "buy" if line_kind == "buy" or (product is not None and product.make_or_buy == "buy") else "make"


def after_production(final_inspection: bool, final_passed: bool) -> WorkOrderStatus:
    """Where a work order the MES completed (or a received purchase) goes: complete, unless an inspection
    still has to pass."""
    return WorkOrderStatus.AWAITING_QC if final_inspection and not final_passed else WorkOrderStatus.COMPLETED


def finished(quantity_by_operation: Sequence[tuple[str, int]], routing: Sequence[str]) -> int:
    """Finished good pieces: the last operation of the routing's count (the last reported one without a
    routing); none before it reports."""
    counts = dict(quantity_by_operation)
    if routing:
        return counts.get(routing[-1], 0)
    return quantity_by_operation[-1][1] if quantity_by_operation else 0


def planned_completion(delivery_date: date, buffer: timedelta = SHIPPING_BUFFER) -> date:
    """Production must finish early enough to leave time for packing and transport."""
    return delivery_date - buffer


def next_status(current: str, mes_type: str) -> WorkOrderStatus | None:
    """The work order status an MES event leads to, or None when it changes nothing (never backwards)."""
    if mes_type == "started" and current == WorkOrderStatus.PLANNED:
        return WorkOrderStatus.STARTED
    if mes_type == "completed" and current in OPEN:
        return WorkOrderStatus.COMPLETED
    return None


def late_start(current: str, mes_type: str, *, start_known: bool) -> bool:
    """A `started` that arrives after `completed`: the status stays, but the start time is still recorded."""
    return mes_type == "started" and current == WorkOrderStatus.COMPLETED and not start_known


def order_ready(statuses: Iterable[str]) -> bool:
    """An order is ready for the warehouse when every work order of it that was not cancelled is complete."""
    live = [s for s in statuses if s != WorkOrderStatus.CANCELLED]
    return bool(live) and all(s == WorkOrderStatus.COMPLETED for s in live)


# Good pieces may fall this far short of the ordered quantity before it is an exception.
SHORT_TOLERANCE = 0.02


def shortfall(ordered: int, good: int, tolerance: float = SHORT_TOLERANCE) -> int:
    """How many pieces a completed work order is short by, when that is beyond the tolerance (else 0)."""
    short = ordered - good
    return short if short > ordered * tolerance else 0


# --- capacity -------------------------------------------------------------------------


@dataclass(frozen=True)
class Plant:
    """What the plant can promise: pieces completed per day, and the lead time before a line's first piece."""

    daily_capacity: int = 20_000
    make_lead_days: int = 3
    buy_lead_days: int = 10
    material_share: Decimal = Decimal("0.6")  # of a bought line's price, spent on material once it is ordered

    def lead(self, kind: str) -> timedelta:
        """Buying waits for a supplier; making only for the plant's own preparation."""
        return timedelta(days=self.buy_lead_days if kind == "buy" else self.make_lead_days)


@dataclass(frozen=True)
class Demand:
    """Pieces of one line the plant would have to make (or buy)."""

    line_no: int
    quantity: int
    kind: str = "make"
    lead_days: int | None = None  # from the product master; None: the plant's lead time for the kind


def demand(line_no: int, quantity: int, line_kind: str, product: ProductFacts | None) -> Demand:
    """A line's demand as the product master knows it: bought or made, and the days before its first piece
    (material, the customer's approvals, QC; a bought line's supplier lead time and incoming QC)."""
    kind = make_or_buy(line_kind, product)
    if product is None:
        return Demand(line_no, quantity, kind)
    gates = (product.sample_days if product.sample_required else 0) + (
        product.pre_production_days if product.pre_production_required and kind == "make" else 0
    )
    return Demand(line_no, quantity, kind, product.material_lead_days + gates * (kind == "make") + product.qc_days)


def earliest_completions(demands: Sequence[Demand], *, load: int, today: date, plant: Plant) -> dict[int, date]:
    """When each line could be complete at the earliest: queued behind the plant's open load and the
    order's earlier lines, after the lead time of its kind."""
    queued, dates = load, {}
    horizon = max((LATEST - today).days, 0)  # a load beyond any date an order can carry is "never", not an overflow
    for demand in demands:
        queued += demand.quantity
        days = min(math.ceil(queued / plant.daily_capacity), horizon)
        lead = plant.lead(demand.kind) if demand.lead_days is None else timedelta(days=demand.lead_days)
        dates[demand.line_no] = min(today + lead + timedelta(days=days), LATEST)
    return dates


def feasible(earliest: date, due: date) -> bool:
    """Completion must leave the shipping allowance before the date the customer wants the line."""
    return earliest <= planned_completion(due)


def replanned(planned: date, planned_from: date, delivery_date: date) -> date:
    """A work order's planned completion after a change: planned back from the new delivery date when the
    change moved it, else kept (it may come from a date confirmed per line)."""
    return planned if delivery_date == planned_from else planned_completion(delivery_date)


# --- changes --------------------------------------------------------------------------


class WorkOrderFacts(Protocol):
    """What the change rules read of a work order."""

    id: str
    line_no: int
    quantity: int
    kind: str
    status: str
    good_quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class Assessment(Findings):
    """Production's answer to a requested change, before anyone decides."""

    new_date: date | None
    material_bought: Decimal
    work_in_progress: int
    made: int


def _live(work_orders: Iterable[WorkOrderFacts]) -> list[WorkOrderFacts]:
    return [w for w in work_orders if w.status != WorkOrderStatus.CANCELLED]


def _committed(work_orders: Iterable[WorkOrderFacts]) -> int:
    """The pieces a line's work orders (not cancelled) are for."""
    return sum(w.quantity for w in _live(work_orders))


def _made(work_orders: Iterable[WorkOrderFacts]) -> int:
    return sum(w.good_quantity for w in work_orders if w.status == WorkOrderStatus.COMPLETED)


def _stranded(work_orders: Iterable[WorkOrderFacts], reduced_by: int, share: Decimal) -> Decimal:
    """Material already bought for pieces no longer wanted: bought lines whose purchase has started."""
    stranded = Decimal(0)
    for w in work_orders:
        if reduced_by <= 0:
            break
        if w.kind == "buy" and w.status in UNDER_WAY:
            pieces = min(reduced_by, w.quantity)
            stranded += pieces * w.unit_price * share
            reduced_by -= pieces
    return stranded


def assess_change(
    work_orders: Sequence[WorkOrderFacts],
    proposed: Sequence[Demand],
    cancelled: Iterable[int],
    *,
    delivery_date: date,
    load: int,
    today: date,
    plant: Plant,
) -> Assessment:
    """The impact of a change: what is made and in progress on the lines it touches, the material it
    strands, the date increased or new lines could be complete, and whether it can be done at all."""
    by_line: dict[int, list[WorkOrderFacts]] = {}
    for w in work_orders:
        by_line.setdefault(w.line_no, []).append(w)
    wanted = {d.line_no: d.quantity for d in proposed}
    for line_no in cancelled:
        wanted[line_no] = 0
    problems: list[str] = []
    made = in_progress = 0
    stranded = Decimal(0)
    for line_no, quantity in sorted(wanted.items()):
        line = by_line.get(line_no, [])
        committed = _committed(line)
        if quantity == committed:
            continue
        line_made = _made(line)
        made += line_made
        in_progress += sum(w.quantity for w in line if w.status in UNDER_WAY)
        stranded += _stranded(line, committed - quantity, plant.material_share)
        if quantity == 0 and line_made:
            problems.append(f"line {line_no} is already made ({line_made} pieces) and cannot be cancelled")
        elif quantity < line_made:
            problems.append(f"line {line_no} cannot go below the {line_made} pieces already made")
    more = [
        Demand(d.line_no, d.quantity - _committed(by_line.get(d.line_no, [])), d.kind, d.lead_days)
        for d in proposed
        if d.quantity > _committed(by_line.get(d.line_no, []))
    ]
    new_date = max(earliest_completions(more, load=load, today=today, plant=plant).values(), default=None)
    late = new_date is not None and not feasible(new_date, delivery_date)
    return Assessment(
        new_date=new_date,
        material_bought=stranded.quantize(Decimal("0.01")),
        work_in_progress=in_progress,
        made=made,
        problems=tuple(problems),
        warnings=(f"the added pieces can be complete by {new_date}, too late to ship by {delivery_date}",) * late,
    )


@dataclass(frozen=True)
class LineChange:
    """What an accepted change does to one line's work orders."""

    resize: int | None = None  # the new quantity of the line's open work order
    cancel: tuple[str, ...] = ()  # work orders to stop
    add: int = 0  # pieces of a new work order (the line is new, or grew beyond what is complete)


def change_line(work_orders: Sequence[WorkOrderFacts], quantity: int) -> LineChange:
    """Bring a line's work orders to `quantity`: the open one takes what completed ones do not cover; with
    none open, a new work order makes the rest. Applying the same quantity again changes nothing."""
    live = _live(work_orders)
    open_orders = [w for w in live if w.status in OPEN]
    rest = quantity - sum(w.quantity for w in live if w.status == WorkOrderStatus.COMPLETED)
    if not open_orders:
        return LineChange(add=max(rest, 0))
    first, *others = open_orders
    if rest <= 0:
        return LineChange(cancel=tuple(w.id for w in open_orders))
    return LineChange(resize=rest if rest != first.quantity else None, cancel=tuple(w.id for w in others))


COMPLAINT_PREFIX = "CP"  # the order service's complaint ids


def is_rework(cause: str) -> bool:
    """A work order opened to put a customer's complaint right (named by the complaint, as one a change grew is
    named by the change)."""
    return cause.startswith(COMPLAINT_PREFIX)
