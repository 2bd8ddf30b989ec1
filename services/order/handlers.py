"""Order handlers: one small function per command or event."""

from uuid import uuid4

from sqlalchemy.orm import defer
from sqlmodel import select

from services.order import domain
from services.order.models import Order, TimelineEntry
from shared.consumer import Rejection
from shared.contracts import Envelope, ErpOrder, MessageRejected, OrderAccepted, OrderClosed, OrderTerms
from shared.errors import Invalid
from shared.fields import scrub
from shared.unit_of_work import UnitOfWork


class OrderConflict(Invalid):
    """The customer's order number is already taken by an order with other terms."""


class OrderRejected(Invalid):
    """The order cannot be taken in as stated."""


def _record(uow: UnitOfWork, event: Envelope) -> None:
    uow.session.add(
        TimelineEntry(
            order_id=event.order_id,
            event_id=str(event.id),
            type=event.type,
            source=event.source,
            occurred_at=event.occurred_at,
            data=event.data,
        )
    )


async def accept_order(terms: OrderTerms, uow: UnitOfWork) -> tuple[Order, bool]:
    """Take an order in; the same customer order number again returns the first order unchanged."""
    query = select(Order).where(Order.customer == terms.customer, Order.external_ref == terms.external_ref)
    if existing := (await uow.session.exec(query)).first():
        if OrderTerms.model_validate(existing.terms) != terms:
            raise OrderConflict(f"order {terms.external_ref} of {terms.customer} exists with other terms")
        return existing, False
    now = uow.clock.now()
    if problem := domain.intake_problem(terms, today=now.date()):
        raise OrderRejected(problem)
    order = Order(
        id=f"SO{uuid4().hex[:16].upper()}",
        customer=terms.customer,
        external_ref=terms.external_ref,
        currency=terms.currency,
        delivery_date=terms.delivery_date,
        total_amount=terms.compute_total(),
        terms=terms.model_dump(mode="json"),
        status="accepted",
        created_at=now,
        updated_at=now,
    )
    uow.session.add(order)
    accepted = OrderAccepted(**terms.model_dump(), total_amount=order.total_amount)
    _record(uow, uow.emit(accepted, order_id=order.id))
    return order, True


async def on_erp_order(message: ErpOrder, uow: UnitOfWork) -> None:
    """An order from an ERP system takes the same path as one posted over HTTP."""
    terms = OrderTerms.model_validate(message.model_dump(include=set(OrderTerms.model_fields)))
    await accept_order(terms, uow)


async def on_lifecycle_event(event: Envelope, uow: UnitOfWork) -> None:
    """Any service's event: add it to the timeline, move the status, close when delivered and paid."""
    why = f"{event.type} for an order not taken in yet"
    terms_unread = defer(Order.terms)  # type: ignore[arg-type]  # the order's terms are not needed here
    order = await uow.require(Order, event.order_id, why=why, lock=True, options=[terms_unread])
    _record(uow, event)
    order.status = domain.advance(order.status, event.type)
    order.updated_at = uow.clock.now()
    if event.type.endswith(".message_rejected"):
        _mark(order, domain.attention(event.payload(MessageRejected), event.source), uow)
    if event.type == "logistics.shipment_delivered":
        order.delivered_at = event.occurred_at
    if event.type == "billing.order_settled":
        order.settled_at = event.occurred_at
    closed = order.closed_at is not None
    if domain.can_close(delivered=order.delivered_at is not None, settled=order.settled_at is not None, closed=closed):
        order.closed_at = uow.clock.now()
        order.status = "closed"
        _record(uow, uow.emit(OrderClosed(closed_at=order.closed_at), order_id=order.id, cause=event))


def _mark(order: Order, attention: str, uow: UnitOfWork) -> None:
    order.attention, order.attention_at = attention, uow.clock.now()


async def on_rejected(rejection: Rejection, uow: UnitOfWork) -> None:
    """This service could not apply one of an order's events: the order shows it."""
    order = await uow.session.get(Order, rejection.order_id, with_for_update=True)
    if order is not None:
        rejected = MessageRejected(
            rejected_topic=rejection.topic,
            rejected_type=scrub(rejection.event_type, 500),
            rejected_id=scrub(rejection.event_id, 500),
            reason=scrub(rejection.reason, 500),
        )
        _mark(order, domain.attention(rejected, "order"), uow)
