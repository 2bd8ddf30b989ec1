"""Logistics handlers on a real database: planning, carrier scope, delivery published once."""

from typing import Any

import pytest
from sqlmodel import select

from services.logistics import handlers
from services.logistics.models import Shipment
from shared.clock import FixedClock
from shared.contracts import CarrierTracking, Event, OrderAccepted, OrderTerms, WmsEvent
from shared.db import OutboxMessage
from shared.errors import Invalid, NotYet
from shared.unit_of_work import UnitOfWorkFactory
from tests.e2e.flows import order_body

pytestmark = pytest.mark.integration
SERVICE = "logistics"


def accepted(clock: FixedClock) -> Event[Any]:
    terms = OrderTerms.model_validate(order_body(4, today=clock.now().date()))
    payload = OrderAccepted(**terms.model_dump(), total_amount=terms.compute_total())
    return Event.new(payload, source="order", order_id="SO1", clock=clock)


def packed(clock: FixedClock, kg: str = "400") -> WmsEvent:
    return WmsEvent(
        message_id="pk1", occurred_at=clock.now(), type="packed", order_id="SO1", packages=4, weight_kg=kg, quantity=14
    )


def scan(clock: FixedClock, shipment: Shipment, status: str, carrier: str | None = None) -> CarrierTracking:
    return CarrierTracking(
        message_id=f"{status}-{carrier}",
        occurred_at=clock.now(),
        carrier=carrier or shipment.carrier,
        tracking_number=shipment.tracking_number,
        status=status,
        received_quantity=14 if status == "delivered" else None,
    )


async def test_packed_goods_before_the_order_is_known_wait(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    with pytest.raises(NotYet) as waiting:
        async with units() as uow:
            await handlers.on_wms_event(packed(clock), uow)
    assert waiting.value.key == "SO1"


async def test_shipment_planned_tracked_and_delivered_once(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    async with units() as uow:
        await handlers.on_order_accepted(accepted(clock), uow)
    async with units() as uow:
        await handlers.on_wms_event(packed(clock), uow)
    async with units() as uow:
        shipment = (await uow.session.exec(select(Shipment))).one()
    assert (shipment.mode, shipment.carrier) == ("truck", "deppon")  # 400 kg inside China, 40 days left

    with pytest.raises(Invalid, match="sf-express"):
        async with units() as uow:
            await handlers.on_carrier_tracking(scan(clock, shipment, "in_transit", carrier="sf-express"), uow)
    for status in ("picked_up", "delivered", "in_transit", "delivered"):
        async with units() as uow:
            await handlers.on_carrier_tracking(scan(clock, shipment, status), uow)

    async with units() as uow:
        types = (await uow.session.exec(select(OutboxMessage.event_type).order_by(OutboxMessage.id))).all()
    assert [t for t in types if t != "logistics.document_issued"] == [
        "logistics.shipment_planned",
        "logistics.shipment_dispatched",
        "logistics.shipment_tracked",
        "logistics.shipment_delivered",
    ]
