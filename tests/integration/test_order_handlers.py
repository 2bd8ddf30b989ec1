"""Order handlers on a real database: idempotent intake, timeline, closing once."""

import pytest
from sqlmodel import select

from services.order import handlers, review
from services.order.models import Order, TimelineEntry
from shared.clock import FixedClock
from shared.consumer import Rejection
from shared.contracts import Event, OrderSettled, OrderTerms, ProductionMessageRejected, ShipmentDelivered
from shared.db import OutboxMessage
from shared.errors import NotYet
from shared.unit_of_work import UnitOfWorkFactory
from tests.e2e.flows import order_body
from tests.integration.orders import accepted

pytestmark = pytest.mark.integration
REVIEWED = ["order.review_requested", "production.feasibility_assessed", "order.accepted"]
SERVICE = "order"


async def test_same_customer_order_number_is_taken_once(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    terms = OrderTerms.model_validate(order_body(3, today=clock.now().date()))
    async with units() as uow:
        first, created = await review.take_in(terms, uow, by="test")
    async with units() as uow:
        again, created_again = await review.take_in(terms, uow, by="test")
    assert created and not created_again and again.id == first.id

    changed = terms.model_copy(update={"contact": "someone else"})
    with pytest.raises(review.OrderConflict):
        async with units() as uow:
            await review.take_in(changed, uow, by="test")
    async with units() as uow:
        assert len((await uow.session.exec(select(OutboxMessage))).all()) == 1


@pytest.mark.parametrize("settled_first", [True, False])
async def test_order_closes_once_when_delivered_and_settled_in_any_order(
    units: UnitOfWorkFactory, clock: FixedClock, settled_first: bool
) -> None:
    order = await accepted(units, OrderTerms.model_validate(order_body(3, today=clock.now().date())))
    settled = Event.new(OrderSettled(invoiced_total=1, paid_total=1), source="billing", order_id=order.id, clock=clock)
    delivered = Event.new(
        ShipmentDelivered(shipment_id="SH1", delivered_at=clock.now(), received_quantity=13),
        source="logistics",
        order_id=order.id,
        clock=clock,
    )
    first, second = (settled, delivered) if settled_first else (delivered, settled)
    late = Event.new(OrderSettled(invoiced_total=1, paid_total=1), source="billing", order_id=order.id, clock=clock)
    for event in (first, second, late):
        async with units() as uow:
            await handlers.on_lifecycle_event(event, uow)

    async with units() as uow:
        stored = await uow.session.get(Order, order.id)
        types = (await uow.session.exec(select(TimelineEntry.type).order_by(TimelineEntry.id))).all()
    assert stored is not None and stored.status == "closed" and stored.closed_at is not None
    assert types == [*REVIEWED, first.envelope.type, second.envelope.type, "order.closed", late.envelope.type]


async def test_event_for_unknown_order_waits(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    event = Event.new(OrderSettled(invoiced_total=1, paid_total=1), source="billing", order_id="SO404", clock=clock)
    with pytest.raises(NotYet):
        async with units() as uow:
            await handlers.on_lifecycle_event(event, uow)


async def test_an_event_another_service_rejected_marks_the_order(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    order = await accepted(units, OrderTerms.model_validate(order_body(1, today=clock.now().date())))
    rejected = ProductionMessageRejected(
        rejected_topic="order.events",
        rejected_type="order.accepted",
        reason="rejected: lines.0.product: must not contain NUL characters",
    )
    report = Event.new(rejected, source="production", order_id=order.id, clock=clock)
    async with units() as uow:
        await handlers.on_lifecycle_event(report, uow)
    async with units() as uow:
        marked = await uow.session.get(Order, order.id)
    assert marked is not None and marked.status == "accepted"
    assert marked.attention == "production could not apply order.accepted: " + rejected.reason

    own = Rejection(order.id, "billing.events", "billing.invoice_issued", "e1", "failed 3 times: boom")
    async with units() as uow:
        await handlers.on_rejected(own, uow)
    async with units() as uow:
        marked = await uow.session.get(Order, order.id)
    assert (
        marked is not None and marked.attention == "order could not apply billing.invoice_issued: failed 3 times: boom"
    )
