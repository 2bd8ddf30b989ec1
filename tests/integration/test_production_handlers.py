"""Production handlers on a real database: one work order per line, readiness only when all complete."""

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from services.production import handlers, purchasing
from services.production.models import WorkOrder
from shared.clock import FixedClock
from shared.contracts import Envelope, Event, MesEvent, OrderAccepted, OrderTerms, SupplierEvent
from shared.db import OutboxMessage
from shared.errors import NotYet
from shared.unit_of_work import UnitOfWorkFactory
from tests.e2e.flows import order_body

pytestmark = pytest.mark.integration
SERVICE = "production"


def two_line_order(clock: FixedClock) -> Event[Any]:
    body = order_body(2)
    body["lines"].append({"line_no": 2, "product": "GX-bought", "quantity": 5, "unit_price": "1", "make_or_buy": "buy"})
    terms = OrderTerms.model_validate(body)
    return Event.new(
        OrderAccepted(**terms.model_dump(), total_amount=terms.compute_total()),
        source="order",
        order_id="SO1",
        clock=clock,
    )


def supplier(clock: FixedClock, po: str, kind: str, quantity: int = 0) -> SupplierEvent:
    return SupplierEvent(
        message_id=f"{po}-{kind}", occurred_at=clock.now(), type=kind, purchase_order_id=po, quantity=quantity
    )


def mes(clock: FixedClock, wo: str, kind: str, good: int = 0) -> MesEvent:
    return MesEvent(message_id=f"{wo}-{kind}", occurred_at=clock.now(), type=kind, work_order_id=wo, good_quantity=good)


async def test_order_is_ready_when_its_last_work_order_completes(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    async with units() as uow:
        await handlers.on_order_accepted(two_line_order(clock), uow)
    async with units() as uow:
        work_orders = (await uow.session.exec(select(WorkOrder).order_by(WorkOrder.line_no))).all()
    assert [(w.kind, w.quantity) for w in work_orders] == [("make", 12), ("buy", 5)]

    made, bought = work_orders
    async with units() as uow:  # bought: received first, then inspected on arrival
        await purchasing.on_supplier_event(supplier(clock, bought.id, "received", bought.quantity), uow)

    # both complete at the same moment, in two transactions: exactly one must see the order ready
    async def complete_made() -> None:
        async with units() as uow:
            await handlers.on_mes_event(mes(clock, made.id, "completed", made.quantity), uow)

    async def complete_bought() -> None:
        async with units() as uow:
            await purchasing.on_supplier_event(supplier(clock, bought.id, "inspected", bought.quantity), uow)

    await asyncio.gather(complete_made(), complete_bought())

    async with units() as uow:
        types = (await uow.session.exec(select(OutboxMessage.event_type))).all()
    assert types.count("production.order_ready") == 1
    assert types.count("production.completed") == 2


async def test_mes_event_for_unknown_work_order_waits(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    with pytest.raises(NotYet) as waiting:
        async with units() as uow:
            await handlers.on_mes_event(mes(clock, "WO404", "started"), uow)
    assert waiting.value.key == "WO404"


async def test_a_late_start_keeps_its_time_and_the_status(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    async with units() as uow:
        await handlers.on_order_accepted(two_line_order(clock), uow)
    async with units() as uow:
        first = (await uow.session.exec(select(WorkOrder).where(WorkOrder.line_no == 1))).one()
    started = mes(clock, first.id, "started")
    clock.advance(timedelta(hours=3))
    async with units() as uow:  # completed reaches us first
        await handlers.on_mes_event(mes(clock, first.id, "completed", 12), uow)
    async with units() as uow:
        await handlers.on_mes_event(started, uow)
    async with units() as uow:
        again = await uow.session.get(WorkOrder, first.id)
        rows = (await uow.session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert again is not None and again.status == "completed" and again.started_at == started.occurred_at
    events = [Envelope.model_validate_json(r.payload) for r in rows if r.event_type != "production.milestones_changed"]
    assert [(e.type, e.occurred_at) for e in events[-2:]] == [
        ("production.completed", clock.now()),
        ("production.started", started.occurred_at),  # when it happened, not when it arrived
    ]
