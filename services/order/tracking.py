"""The tracking table's read model: what every service's events say about an order's money and dates."""

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Integer, Numeric, case, func
from sqlmodel import col, select

from services.order.domain import ENDED, SHIPPING_ALLOWANCE, OrderStatus
from services.order.models import LineProgress, Order
from shared.contracts import (
    CreditNoteIssued,
    Event,
    EventData,
    InvoiceIssued,
    Milestone,
    MilestoneName,
    MilestonesChanged,
    OrderTerms,
    PaymentReceived,
    ProductionOrderCreated,
    ShipmentDelivered,
    ShipmentHeld,
    ShipmentPlanned,
    ShipmentReleased,
    WorkOrderChanged,
)
from shared.unit_of_work import UnitOfWork


def follow(order: Order, event: Event[EventData]) -> None:
    """Fold one lifecycle event into the order's row: planned completion, amounts invoiced, paid, credited."""
    data = event.data
    if isinstance(data, ProductionOrderCreated | WorkOrderChanged):
        if order.planned_completion is None or data.planned_completion > order.planned_completion:
            order.planned_completion = data.planned_completion
    elif isinstance(data, InvoiceIssued):
        order.invoiced_amount += data.amount
        if order.next_due_date is None or data.due_date < order.next_due_date:
            order.next_due_date = data.due_date
    elif isinstance(data, PaymentReceived):
        order.paid_amount += data.amount
    elif isinstance(data, CreditNoteIssued):
        order.credited_amount += data.amount
    elif isinstance(data, ShipmentHeld):
        order.shipment_hold = f"{data.reason} ({data.amount_due} {data.currency} due)"[:1000]
    elif isinstance(data, ShipmentReleased):
        order.shipment_hold = None
    elif isinstance(data, ShipmentPlanned):
        order.shipments += 1
    elif isinstance(data, ShipmentDelivered):
        order.shipments_delivered += 1
    if order.paid_amount >= order.invoiced_amount - order.credited_amount:
        order.next_due_date = None  # nothing left to collect


async def plans_of(uow: UnitOfWork, order_id: str) -> list[list[Milestone]]:
    """Production's milestone plan of each of the order's work orders still running or done (not cancelled)."""
    query = select(LineProgress).where(col(LineProgress.order_id) == order_id, col(LineProgress.status) != "cancelled")
    return [[Milestone.model_validate(m) for m in p.milestones] for p in await uow.all(query) if p.milestones]


async def follow_plan(uow: UnitOfWork, order: Order, event: Event[EventData]) -> list[list[Milestone]] | None:
    """Production moved a line's milestone plan: the order's next milestone and planned completion follow.
    Returns the order's plans as they are now (None for any other event)."""
    if not isinstance(event.data, MilestonesChanged):
        return None
    plans = await plans_of(uow, order.id)
    order.milestone, order.milestone_date = next_planned(plans)
    if completion := completion_date(plans):
        order.planned_completion = completion
    return plans


def expected(milestone: Milestone) -> date:
    """When a milestone not yet reached is expected: the projection once there is one, else the plan."""
    return milestone.projected or milestone.planned


def next_planned(plans: list[list[Milestone]]) -> tuple[str | None, date | None]:
    """The order's next production milestone: the earliest expected among the milestones no line has reached."""
    waiting = [m for plan in plans for m in plan if m.actual is None]
    if not waiting:
        return None, None
    first = min(waiting, key=lambda m: (expected(m), list(MilestoneName).index(m.name)))
    return first.name.value, expected(first)


def completion_date(plans: list[list[Milestone]]) -> date | None:
    """When the last line completes: its actual completion, else the expected one."""
    ends = [m.actual or expected(m) for plan in plans for m in plan if m.name == MilestoneName.COMPLETED]
    return max(ends, default=None)


def search_text(terms: OrderTerms) -> str:
    """What full-text search on the tracking table looks in: customer, reference, products and SKUs."""
    words = [terms.customer, terms.external_ref, terms.contact]
    for line in terms.lines:
        words += [line.product, line.sku or ""]
    return " ".join(w for w in words if w).lower()


# --- what the tracking table shows of a row ----------------------------------------------------------

NEXT_MILESTONE = {
    OrderStatus.IN_REVIEW: "review_decision",
    OrderStatus.ACCEPTED: "production_start",
    OrderStatus.IN_PRODUCTION: "production_completion",
    OrderStatus.PRODUCED: "shipment",
    OrderStatus.SHIPPING: "delivery",
    OrderStatus.IN_TRANSIT: "delivery",
    OrderStatus.DELIVERED: "payment",
}


def promised(order: Order) -> date:
    """The date promised to the customer: the confirmed one once accepted, else the one asked for."""
    return order.confirmed_date or order.delivery_date


def projected_delivery(order: Order) -> date:
    """When the goods should arrive: the carrier's ETA, else not before the promise nor before production allows."""
    if order.eta is not None:
        return order.eta
    if order.planned_completion is None:
        return promised(order)
    return max(promised(order), order.planned_completion + SHIPPING_ALLOWANCE)


def next_milestone(order: Order) -> tuple[str | None, date | None]:
    """What the order waits for next and when it is planned (None where no date is known); nothing once ended."""
    stage = OrderStatus(order.status)
    if stage in ENDED:
        return None, None
    if stage in (OrderStatus.ACCEPTED, OrderStatus.IN_PRODUCTION) and order.milestone:
        return order.milestone, order.milestone_date  # production's own plan, line by line
    planned: dict[OrderStatus, date | None] = {
        OrderStatus.IN_PRODUCTION: order.planned_completion,
        OrderStatus.SHIPPING: order.eta or promised(order),
        OrderStatus.IN_TRANSIT: order.eta or promised(order),
        OrderStatus.DELIVERED: order.next_due_date,
    }
    return NEXT_MILESTONE[stage], planned.get(stage)


def is_late(order: Order, *, today: date) -> bool:
    """Delivered after the promise; or not delivered and past the promise, or projected past it."""
    if order.status in (OrderStatus.REJECTED, OrderStatus.CANCELLED):
        return False
    if order.delivered_at is not None:
        return order.delivered_at.date() > promised(order)
    return today > promised(order) or projected_delivery(order) > promised(order)


def outstanding(order: Order) -> Decimal:
    """Invoiced and not yet paid or credited (an overpayment shows as nothing outstanding)."""
    return max(Decimal(0), order.invoiced_amount - order.paid_amount - order.credited_amount)


def row(order: Order, *, today: date) -> dict[str, Any]:
    """An order as one row of the tracking table (the fields of TrackingRow)."""
    milestone, when = next_milestone(order)
    return {
        **order.model_dump(exclude={"terms", "search"}),
        "next_milestone": milestone,
        "next_milestone_date": when,
        "promised_date": promised(order),
        "projected_delivery": projected_delivery(order),
        "late": is_late(order, today=today),
        "outstanding_amount": outstanding(order),
    }


# The same rules as SQL, for filtering and sorting in the database (kept beside the Python ones).
PROMISED = func.coalesce(col(Order.confirmed_date), col(Order.delivery_date), type_=Date)
PROJECTED = func.coalesce(
    col(Order.eta),
    func.greatest(PROMISED, col(Order.planned_completion) + SHIPPING_ALLOWANCE.days, type_=Date),
    type_=Date,
)
OUTSTANDING = func.greatest(
    0, col(Order.invoiced_amount) - col(Order.paid_amount) - col(Order.credited_amount), type_=Numeric(18, 2)
)
DELIVERED_ON = func.date(func.timezone("UTC", col(Order.delivered_at)), type_=Date)


def late_clause(today: date) -> Any:
    """SQL for is_late."""
    open_late = (today > PROMISED) | (PROJECTED > PROMISED)
    delivered_late = DELIVERED_ON > PROMISED
    return col(Order.status).not_in([OrderStatus.REJECTED, OrderStatus.CANCELLED]) & case(
        (col(Order.delivered_at).is_(None), open_late), else_=delivered_late
    )


def severity_rank(ranks: dict[str, int]) -> Any:
    """SQL: the rank of the order's worst open exception, 0 when none."""
    return func.coalesce(case(ranks, value=col(Order.worst_severity)), 0, type_=Integer)
