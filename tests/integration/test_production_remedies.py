"""A complaint's rework: one more work order of the line, named by the complaint; its completion answers the
complaint and does not make the order ready again."""

from typing import Any

import pytest
from sqlmodel import col, select

from services.production import formalities, handlers, remedies
from services.production.models import WorkOrder
from shared.clock import FixedClock
from shared.contracts import Event, MesEvent, OrderAccepted, OrderRemedyRequested, OrderTerms, Remedy
from shared.unit_of_work import UnitOfWorkFactory
from tests.e2e.flows import order_body
from tests.integration.journal import handle, types

pytestmark = pytest.mark.integration
SERVICE = "production"


def accepted(clock: FixedClock) -> Event[Any]:
    terms = OrderTerms.model_validate(order_body(1, today=clock.now().date()))
    return Event.new(
        OrderAccepted(**terms.model_dump(), total_amount=terms.compute_total()),
        source="order",
        order_id="SO1",
        clock=clock,
    )


def mes(clock: FixedClock, wo: str, kind: str, good: int = 0) -> MesEvent:
    return MesEvent(message_id=f"{wo}-{kind}", occurred_at=clock.now(), type=kind, work_order_id=wo, good_quantity=good)


async def test_a_rework_is_a_work_order_of_its_own_and_answers_the_complaint(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock))
    async with units() as uow:
        [original] = await uow.all(select(WorkOrder))
    await handle(units, handlers.on_mes_event, mes(clock, original.id, "completed", original.quantity))

    asked = OrderRemedyRequested(
        complaint_id="CP1", remedy=Remedy.REWORK, service="production", category="quality", line_no=1, quantity=4
    )
    request = Event.new(asked, source="order", order_id="SO1", clock=clock)
    made = await handle(units, remedies.on_remedy_requested, request)
    assert "production.order_created" in types(made)
    assert await handle(units, remedies.on_remedy_requested, request) == []  # asked again: one rework order
    async with units() as uow:
        rework = (await uow.all(select(WorkOrder).where(col(WorkOrder.change_id) == "CP1")))[0]
    assert (rework.quantity, rework.kind, rework.line_no) == (4, "make", 1)

    done = await handle(units, handlers.on_mes_event, mes(clock, rework.id, "completed", 4))
    assert "production.remedy_done" in types(done) and "production.order_ready" not in types(done)
    [answer] = [e for e in done if e.type == "production.remedy_done"]
    assert answer.data == {"complaint_id": "CP1", "remedy": "rework", "reference": rework.id, "note": ""}


async def test_a_failed_commodity_inspection_holds_the_goods_until_one_passes(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock))
    async with units() as uow:
        [work_order] = await uow.all(select(WorkOrder))
    failed = formalities.CommodityInspectionIn(status="failed", certificate="CIQ-1", reason="labels missing")
    made = await handle(
        units, lambda message, uow: formalities.commodity_inspection(uow, work_order.id, message), failed
    )
    assert "production.exception_raised" in types(made)
    [step] = [e.data for e in made if e.type == "production.formality_changed"]
    assert (step["step"], step["status"], step["blocks_shipment"]) == ("commodity_inspection", "failed", True)
    passed = formalities.CommodityInspectionIn(status="passed", certificate="CIQ-2")
    made = await handle(
        units, lambda message, uow: formalities.commodity_inspection(uow, work_order.id, message), passed
    )
    assert "production.exception_resolved" in types(made)
