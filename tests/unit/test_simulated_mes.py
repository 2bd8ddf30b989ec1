"""The simulated MES follows work-order changes and cancellations before it reports completion."""

import asyncio
import json
from typing import Any, cast

import pytest
from faststream.kafka import KafkaBroker

from deploy.simulators import Partners, SimulatorSettings
from shared.clock import SystemClock
from shared.contracts import Envelope, EventData, ProductionOrderCreated, WorkOrderCancelled, WorkOrderChanged

pytestmark = pytest.mark.unit


class Broker:
    """Keeps what the MES would publish."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def publish(self, body: bytes, topic: str, key: bytes) -> None:
        self.sent.append(json.loads(body))


def envelope(payload: EventData) -> Envelope:
    return Envelope.new(payload, source="production", order_id="SO1", clock=SystemClock())


CREATED = envelope(
    ProductionOrderCreated(
        work_order_id="WO1", line_no=1, product="GX", quantity=100, kind="make", planned_completion="2027-02-01"
    )
)


async def follow(*meanwhile: EventData) -> list[tuple[str, int]]:
    """The MES answering WO1 while `meanwhile` arrives after it started work; what it reported."""
    broker = Broker()
    partners = Partners(cast(KafkaBroker, broker), SimulatorSettings(sim_delay_seconds=0.05, sim_jitter_seconds=0))
    mes = asyncio.create_task(partners.mes(CREATED))
    await asyncio.sleep(0.07)  # started reported, completion not yet
    for payload in meanwhile:
        answer = partners.mes_changed if isinstance(payload, WorkOrderChanged) else partners.mes_cancelled
        await answer(envelope(payload))
    await mes
    return [(m["type"], m["good_quantity"]) for m in broker.sent]


async def test_completion_reports_the_changed_quantity() -> None:
    changed = WorkOrderChanged(
        work_order_id="WO1", line_no=1, quantity=60, planned_completion="2027-02-01", change_id="CR1"
    )
    assert await follow(changed) == [("started", 0), ("completed", 60)]
    assert await follow() == [("started", 0), ("completed", 100)]


async def test_a_cancelled_work_order_is_not_completed() -> None:
    assert await follow(WorkOrderCancelled(work_order_id="WO1", line_no=1, made_quantity=0, change_id="CR1")) == [
        ("started", 0)
    ]
