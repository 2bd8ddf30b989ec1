"""A careless partner on every topic: oversized and NUL-laden fields are dead-lettered with the field named,
and an order taken in right after them still closes."""

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from deploy.system import System
from shared import topics
from shared.broker import kafka_options
from tests.e2e.flows import order_body, post_orders, wait_closed

pytestmark = pytest.mark.e2e

HUGE = "x" * 1_500_000  # over Kafka's 1 MiB once decompressed; gzip lets the broker take it
NOW = datetime.now(UTC).isoformat()


def hostile(run: str) -> dict[str, list[tuple[dict[str, Any], str]]]:
    """Per partner topic: messages valid but for one field, and the field the reason must name."""
    erp = order_body(1) | {"occurred_at": NOW}
    return {
        topics.ERP_ORDERS: [
            ({"message_id": f"{run}-erp-nul", **erp, "lines": [{**erp["lines"][0], "product": "GX\x00"}]}, "product"),
            ({"message_id": f"{run}-erp-huge", **erp, "delivery_address": HUGE}, "delivery_address"),
            ({"message_id": f"{run}-erp-ccy", **erp, "currency": "XXY"}, "currency"),
        ],
        topics.MES_EVENTS: [
            (_mes(run, "huge", operation=HUGE), "operation"),
            (_mes(run, "nul", work_order_id="WO\x00"), "work_order_id"),
        ],
        topics.WMS_EVENTS: [
            ({"message_id": f"{run}-wms-nul", "occurred_at": NOW, "type": "packed", "order_id": "SO\x00"}, "order_id"),
        ],
        topics.CARRIER_TRACKING: [
            (_scan(run, "huge", location=HUGE), "location"),
            (_scan(run, "ctl", location="Shenzhen\x1b[2J"), "location"),
        ],
        topics.FINANCE_PAYMENTS: [
            (_payment(run, "nul", invoice_number="INV\x00"), "invoice_number"),
            (_payment(run, "date", occurred_at="9999-12-31T00:00:00+00:00"), "occurred_at"),
        ],
    }


def _mes(run: str, name: str, **fields: Any) -> dict[str, Any]:
    base = {"message_id": f"{run}-mes-{name}", "occurred_at": NOW, "type": "started", "work_order_id": "WO1"}
    return base | fields


def _scan(run: str, name: str, **fields: Any) -> dict[str, Any]:
    base = {"carrier": "sf-express", "tracking_number": "GD1", "status": "in_transit"}
    return {"message_id": f"{run}-scan-{name}", "occurred_at": NOW} | base | fields


def _payment(run: str, name: str, **fields: Any) -> dict[str, Any]:
    base = {"message_id": f"{run}-pay-{name}", "occurred_at": NOW, "invoice_number": "INV-1", "amount": "1.00"}
    return base | {"currency": "USD"} | fields


async def send_all(system: System, messages: dict[str, list[tuple[dict[str, Any], str]]]) -> None:
    producer = AIOKafkaProducer(
        **kafka_options(system.kafka), compression_type="gzip", max_request_size=4 * 1024 * 1024
    )
    await producer.start()
    try:
        for topic, items in messages.items():
            for body, _ in items:
                await producer.send_and_wait(system.topic_prefix + topic, json.dumps(body).encode(), key=b"partner")
    finally:
        await producer.stop()


async def dead_letters(system: System, topic: str, ids: set[str], timeout: float = 60) -> dict[str, ConsumerRecord]:
    """The dead letters of `topic` whose body carries one of the message ids, by id."""
    consumer = AIOKafkaConsumer(
        system.topic_prefix + topics.dlq(topic), **kafka_options(system.kafka), auto_offset_reset="earliest"
    )
    await consumer.start()
    found: dict[str, ConsumerRecord] = {}
    try:
        async with asyncio.timeout(timeout):
            while set(found) != ids:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        found |= {mid: record for mid in ids if f'"{mid}"'.encode() in record.value[:300]}
        return found
    finally:
        await consumer.stop()


async def test_hostile_partner_messages_are_dead_lettered_and_orders_still_close(shared_system: System) -> None:
    run = datetime.now(UTC).strftime("%H%M%S%f")
    messages = hostile(run)
    await send_all(shared_system, messages)
    [order] = await post_orders(shared_system, [order_body(2)])  # right behind them

    for topic, items in messages.items():
        expected = {body["message_id"]: field for body, field in items}
        dead = await dead_letters(shared_system, topic, set(expected))
        for mid, field in expected.items():
            reason = dict(dead[mid].headers)["x-dlq-reason"].decode()
            assert reason.startswith("schema-invalid") and field in reason, (topic, mid, reason)
    await wait_closed(shared_system, [order["id"]])


async def test_hostile_http_input_is_refused_with_a_message(shared_system: System) -> None:
    body = order_body(3)
    async with shared_system.client("order", timeout=30) as client:
        nul = await client.post("/orders", json={**body, "lines": [{**body["lines"][0], "product": "GX\x00"}]})
        currency = await client.post("/orders", json={**body, "currency": "XXY"})
        infinite = await client.post("/orders", json={**body, "delivery_date": "9999-12-31"})
        too_soon = await client.post("/orders", json={**body, "delivery_date": datetime.now(UTC).date().isoformat()})
        too_big = await client.post("/orders", content=b"{" + b" " * 2_000_000 + b"}")
        query = await client.get("/orders", params={"status": "closed\x00"})
        path = await client.get("/orders/SO%00")
    assert nul.status_code == 422 and "NUL" in nul.text and "product" in nul.text
    assert currency.status_code == 422 and "ISO 4217" in currency.text
    assert infinite.status_code == 422 and "delivery_date" in infinite.text
    assert too_soon.status_code == 422 and "no time to make" in too_soon.json()["detail"]
    assert too_big.status_code == 413
    assert query.status_code == 400 and "NUL" in query.json()["detail"]
    assert path.status_code == 400
