"""Production rules: planning a work order back from the delivery date, MES progress, order readiness. Pure."""

from collections.abc import Iterable
from datetime import date, timedelta
from enum import StrEnum

SHIPPING_BUFFER = timedelta(days=5)


class WorkOrderStatus(StrEnum):
    PLANNED = "planned"
    STARTED = "started"
    COMPLETED = "completed"


def planned_completion(delivery_date: date, buffer: timedelta = SHIPPING_BUFFER) -> date:
    """Production must finish early enough to leave time for packing and transport."""
    return delivery_date - buffer


def next_status(current: str, mes_type: str) -> WorkOrderStatus | None:
    """The work order status an MES event leads to, or None when it changes nothing (never backwards)."""
    if mes_type == "started" and current == WorkOrderStatus.PLANNED:
        return WorkOrderStatus.STARTED
    if mes_type == "completed" and current in (WorkOrderStatus.PLANNED, WorkOrderStatus.STARTED):
        return WorkOrderStatus.COMPLETED
    return None


def late_start(current: str, mes_type: str, *, start_known: bool) -> bool:
    """A `started` that arrives after `completed`: the status stays, but the start time is still recorded."""
    return mes_type == "started" and current == WorkOrderStatus.COMPLETED and not start_known


def order_ready(statuses: Iterable[str]) -> bool:
    """An order is ready for the warehouse when every work order of it is complete."""
    statuses = list(statuses)
    return bool(statuses) and all(s == WorkOrderStatus.COMPLETED for s in statuses)


# Good pieces may fall this far short of the ordered quantity before it is an exception.
SHORT_TOLERANCE = 0.02


def shortfall(ordered: int, good: int, tolerance: float = SHORT_TOLERANCE) -> int:
    """How many pieces a completed work order is short by, when that is beyond the tolerance (else 0)."""
    short = ordered - good
    return short if short > ordered * tolerance else 0
