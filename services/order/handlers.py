"""Order handlers: one small function per command or event."""

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import defer
from sqlmodel import col, select

from services.order import (
    aftersales,
    board,
    changes,
    domain,
    files,
    formalities,
    milestones,
    post_review,
    review,
    tasks,
    tracking,
)
from services.order.models import Complaint, Order
from services.order.review import record
from services.order.settings import OrderSettings
from shared.consumer import Rejection
from shared.contracts import (
    Event,
    EventData,
    ExceptionRaised,
    ExceptionResolved,
    FormalityChanged,
    MessageRejected,
    Milestone,
    OrderClosed,
    RemedyDone,
)
from shared.fields import scrub
from shared.unit_of_work import UnitOfWork
from shared.watcher import Rule


async def on_lifecycle_event(event: Event[EventData], uow: UnitOfWork) -> None:
    """Any service's event: add it to the timeline, move the status, close when delivered and paid."""
    why = f"{event.envelope.type} for an order not taken in yet"
    order = await uow.require(Order, event.order_id, why=why, lock=True, options=[terms_unread()])
    record(uow, event.envelope)
    if isinstance(event.data, MessageRejected):  # not a step forward: the order is marked, not moved
        await _mark(order, domain.attention(event.data, event.source), event.data, uow)
        return
    before = order.status
    order.status = domain.advance(order.status, event.data)
    order.updated_at = uow.clock.now()
    found = domain.facts(event)
    order.delivered_at = found.delivered_at or order.delivered_at
    order.settled_at = found.settled_at or order.settled_at
    tracking.follow(order, event)
    await milestones.stage_milestone(uow, order, event.envelope)
    await changes.follow_production(event, uow)
    plans = await tracking.follow_plan(uow, order, event)
    await follow_through(uow, order, event, moved=order.status != before, plans=plans)
    if order.open_exceptions:  # only then can this event clear one
        for cleared, reason in domain.cleared_by(found, event.envelope.type):
            await board.resolve_own(uow, order_id=order.id, kind_name=cleared, reason=reason, **_it(order))
    closed = order.closed_at is not None
    if domain.can_close(delivered=order.delivered_at is not None, settled=order.settled_at is not None, closed=closed):
        order.closed_at = uow.clock.now()
        order.status = domain.OrderStatus.CLOSED
        closing = uow.emit(OrderClosed(closed_at=order.closed_at), order_id=order.id, cause=event.envelope)
        record(uow, closing)
        await files.check(uow, order)
        await post_review.write(uow, order)


async def follow_through(
    uow: UnitOfWork, order: Order, event: Event[EventData], *, moved: bool, plans: list[list[Milestone]] | None
) -> None:
    """What an event means for the order's file, tasks and complaints."""
    await files.file_reference(uow, order, event)
    if moved:
        await files.check(uow, order)
    if plans is not None:  # production's plan moved
        await tasks.follow_plan(uow, order, plans)
    elif isinstance(event.data, FormalityChanged):
        await formalities.follow(uow, order, event)  # type: ignore[arg-type]
    elif isinstance(event.data, RemedyDone):
        complaint = await uow.get(Complaint, event.data.complaint_id, lock=True)
        await aftersales.on_remedy_done(event, uow, complaint)  # type: ignore[arg-type]


async def on_exception_event(event: Event[ExceptionRaised | ExceptionResolved], uow: UnitOfWork) -> None:
    """Another service raised, updated or resolved an exception: the board and the order's timeline show it."""
    await board.record(uow, event.data, service=event.source, order_id=event.order_id)
    if await uow.get(Order, event.order_id) is not None:
        record(uow, event.envelope)


def terms_unread() -> Any:
    """Load an order without its terms (up to 256 KiB of JSON) where they are not needed."""
    return defer(Order.terms)  # type: ignore[arg-type]


def _it(order: Order) -> dict[str, str]:
    return {"subject_type": "order", "subject_id": order.id}


async def _mark(order: Order, attention: str, rejected: MessageRejected, uow: UnitOfWork) -> None:
    """A service could not apply one of the order's events: the order shows it, and the board has it."""
    order.attention, order.attention_at = attention, uow.clock.now()
    await board.raise_own(
        uow,
        order_id=order.id,
        kind_name="order.event_rejected",
        subject_type="message",
        subject_id=scrub(rejected.rejected_id or rejected.rejected_topic, 100),
        title=attention,
        facts={"topic": rejected.rejected_topic, "event_type": rejected.rejected_type, "reason": rejected.reason},
    )


async def on_rejected(rejection: Rejection, uow: UnitOfWork) -> None:
    """This service could not apply one of an order's events: the order shows it."""
    if order := await uow.get(Order, rejection.order_id, lock=True):
        rejected = rejection.as_event()
        await _mark(order, domain.attention(rejected, "order"), rejected, uow)


def stalled_orders(limits: dict[domain.OrderStatus, timedelta]) -> Rule:
    """Watch rule: an open order with no lifecycle event for longer than its stage's limit."""

    async def stalled_orders(uow: UnitOfWork) -> None:
        now = uow.clock.now()
        shortest = min(limits.values())
        query = select(Order).where(col(Order.status).not_in(domain.ENDED), col(Order.updated_at) < now - shortest)
        for order in await uow.all(query.options(terms_unread()), lock=True):
            quiet = now - order.updated_at
            if domain.stalled_for(order.status, quiet, limits):
                await board.raise_own(
                    uow,
                    order_id=order.id,
                    kind_name="order.stalled",
                    title=f"Order {order.external_ref} of {order.customer} has not moved since"
                    f" {order.updated_at:%Y-%m-%d %H:%M} UTC ({order.status})",
                    facts={"stage": order.status, "last_event_at": order.updated_at.isoformat()},
                    **_it(order),
                )

    return stalled_orders


def past_due_orders() -> Rule:
    """Watch rule: an order past its promised delivery date and not delivered."""

    async def past_due_orders(uow: UnitOfWork) -> None:
        today = uow.clock.now().date()
        query = select(Order).where(
            col(Order.delivered_at).is_(None), col(Order.delivery_date) < today, col(Order.status).not_in(domain.ENDED)
        )
        for order in await uow.all(query.options(terms_unread()), lock=True):
            await board.raise_own(
                uow,
                order_id=order.id,
                kind_name="order.past_due",
                title=f"Order {order.external_ref} of {order.customer} was promised for {order.delivery_date}"
                f" and is {order.status}, not delivered",
                facts={"promised": order.delivery_date.isoformat(), "stage": order.status},
                **_it(order),
            )

    return past_due_orders


def rules(settings: OrderSettings) -> list[Rule]:
    """The order service's time-based rules: stalled and past-due orders, escalation of the board."""
    limits = {stage: timedelta(hours=settings.stall_hours.get(stage, hours)) for stage, hours in _hours().items()}
    return [
        stalled_orders(limits),
        past_due_orders(),
        review.overdue_clarifications(),
        review.overdue_reviews(),
        changes.unanswered_changes(),
        tasks.overdue_tasks(),
        board.escalations(),
    ]


def _hours() -> dict[domain.OrderStatus, float]:
    return {stage: limit.total_seconds() / 3600 for stage, limit in domain.STALL_LIMITS.items()}
