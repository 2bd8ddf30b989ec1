"""Order handlers: one small function per command or event."""

from sqlalchemy.orm import defer
from sqlmodel import select

from services.order import domain
from services.order.models import Order, TimelineEntry
from shared.consumer import Rejection
from shared.contracts import Envelope, ErpOrder, Event, EventData, OrderAccepted, OrderClosed, OrderTerms
from shared.errors import Invalid
from shared.ids import new_id
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
        id=new_id("SO"),
        customer=terms.customer,
        external_ref=terms.external_ref,
        currency=terms.currency,
        delivery_date=terms.delivery_date,
        total_amount=terms.compute_total(),
        terms=terms.model_dump(mode="json"),
        status=domain.OrderStatus.ACCEPTED,
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


async def on_lifecycle_event(event: Event[EventData], uow: UnitOfWork) -> None:
    """Any service's event: add it to the timeline, move the status, close when delivered and paid."""
    why = f"{event.envelope.type} for an order not taken in yet"
    terms_unread = defer(Order.terms)  # type: ignore[arg-type]  # the order's terms are not needed here
    order = await uow.require(Order, event.order_id, why=why, lock=True, options=[terms_unread])
    _record(uow, event.envelope)
    order.status = domain.advance(order.status, event.data)
    order.updated_at = uow.clock.now()
    found = domain.facts(event)
    order.delivered_at = found.delivered_at or order.delivered_at
    order.settled_at = found.settled_at or order.settled_at
    if found.attention:
        _mark(order, found.attention, uow)
    closed = order.closed_at is not None
    if domain.can_close(delivered=order.delivered_at is not None, settled=order.settled_at is not None, closed=closed):
        order.closed_at = uow.clock.now()
        order.status = domain.OrderStatus.CLOSED
        closing = uow.emit(OrderClosed(closed_at=order.closed_at), order_id=order.id, cause=event.envelope)
        _record(uow, closing)


def _mark(order: Order, attention: str, uow: UnitOfWork) -> None:
    order.attention, order.attention_at = attention, uow.clock.now()


async def on_rejected(rejection: Rejection, uow: UnitOfWork) -> None:
    """This service could not apply one of an order's events: the order shows it."""
    if order := await uow.get(Order, rejection.order_id, lock=True):
        _mark(order, domain.attention(rejection.as_event(), "order"), uow)
