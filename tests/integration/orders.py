"""Orders for the order service's handler tests: the masters seeded, an order taken in and through review."""

from datetime import timedelta
from typing import Any

from deploy.system import SEED
from services.order import masters, review
from services.order.models import Order
from shared import tables
from shared.contracts import Event, LineFeasibility, OrderTerms, ProductionFeasibilityAssessed
from shared.unit_of_work import UnitOfWorkFactory


async def seed_masters(units: UnitOfWorkFactory) -> None:
    """The products and customers the demo and the tests order (deploy/seed)."""
    for name, model in (("products", masters.ProductIn), ("customers", masters.CustomerIn)):
        entries: list[Any] = tables.parse((SEED / f"{name}.csv").read_bytes(), "text/csv", model)
        async with units() as uow:
            await masters.upsert(uow, entries)


def feasible(order: Order, *, days: int = 1) -> ProductionFeasibilityAssessed:
    """Production's answer that every line can be completed `days` from the order's creation."""
    terms = OrderTerms.model_validate(order.terms)
    done = order.created_at.date() + timedelta(days=days)
    lines = [LineFeasibility(line_no=line.line_no, earliest_completion=done, feasible=True) for line in terms.lines]
    return ProductionFeasibilityAssessed(order_version=order.version, lines=lines)


async def accepted(units: UnitOfWorkFactory, terms: OrderTerms) -> Order:
    """An order taken in and accepted in review (masters seeded, production's feasibility applied)."""
    await seed_masters(units)
    async with units() as uow:
        order, _ = await review.take_in(terms, uow, by="test")
    async with units() as uow:
        event = Event.new(feasible(order), source="production", order_id=order.id, clock=uow.clock)
        await review.on_feasibility(event, uow)
    async with units() as uow:
        found = await uow.get(Order, order.id)
    assert found is not None and found.status == "accepted", found
    return found
