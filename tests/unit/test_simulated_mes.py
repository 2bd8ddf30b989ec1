"""The simulated MES follows work-order changes and cancellations before it reports completion, reports the
routing's operations, waits for the customer's approvals; the simulated supplier delivers purchase orders."""

import asyncio
import json
from typing import Any, cast

import pytest
from faststream.kafka import KafkaBroker

from deploy.simulators import Partners, SimulatorSettings
from shared.clock import SystemClock
from shared.contracts import (
    Envelope,
    EventData,
    ProductionOrderCreated,
    PurchaseOrderCreated,
    WorkOrderCancelled,
    WorkOrderChanged,
    WorkOrderReleased,
)

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


def created(**fields: object) -> Envelope:
    base = {"work_order_id": "WO2", "line_no": 1, "product": "GX", "quantity": 30, "kind": "make"}
    return envelope(ProductionOrderCreated.model_validate({**base, "planned_completion": "2027-02-01", **fields}))


def simulated() -> tuple[Broker, Partners]:
    broker = Broker()
    settings = SimulatorSettings(sim_delay_seconds=0, sim_jitter_seconds=0)
    return broker, Partners(cast(KafkaBroker, broker), settings)


async def test_the_mes_reports_each_operation_of_the_routing() -> None:
    broker, partners = simulated()
    await partners.mes(created(operations=["cutting", "welding"]))
    assert [(m["type"], m["operation"], m["good_quantity"]) for m in broker.sent] == [
        ("started", "", 0),
        ("operation_reported", "cutting", 30),
        ("operation_reported", "welding", 30),
        ("completed", "", 30),
    ]
    assert len({m["message_id"] for m in broker.sent}) == 4


async def test_a_gated_work_order_waits_for_its_release_and_the_mes_approves_nothing() -> None:
    broker, partners = simulated()
    await partners.mes(created(released=False))
    assert broker.sent == []
    await partners.mes_released(envelope(WorkOrderReleased(work_order_id="WO2")))
    assert [m["type"] for m in broker.sent] == ["started", "completed"]


async def test_bought_and_hand_reported_lines_are_not_the_mes_s() -> None:
    broker, partners = simulated()
    await partners.mes(created(kind="buy"))
    await partners.mes(created(work_order_id="WO3", operations=["manual"]))
    assert broker.sent == []


async def test_a_supplier_confirms_ships_delivers_and_passes_inspection() -> None:
    broker, partners = simulated()
    po = PurchaseOrderCreated(
        purchase_order_id="PO1", line_no=2, product="mount", quantity=40, supplier="DPC", needed_by="2027-02-01"
    )
    await partners.supplier(envelope(po))
    assert [(m["type"], m["quantity"], m["confirmed_date"], m["passed"]) for m in broker.sent] == [
        ("confirmed", 0, "2027-02-01", None),
        ("shipped", 40, None, None),
        ("received", 40, None, None),
        ("inspected", 40, None, True),
    ]
