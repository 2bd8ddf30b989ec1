"""Malformed messages on every partner topic end in its dead-letter topic; the partition keeps moving."""

import asyncio
import json
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from deploy.system import System
from shared import topics
from shared.broker import kafka_options
from tests.e2e.flows import order_body, rows, wait_closed

pytestmark = pytest.mark.e2e

MALFORMED = [
    b"not json at all",
    b'{"message_id": "m-1"}',
    json.dumps({"message_id": "m-2", "occurred_at": "yesterday", "type": "exploded"}).encode(),
    b"[]",
    b"",
    json.dumps({"message_id": "m-3", "occurred_at": datetime.now(UTC).isoformat(), "amount": -5}).encode(),
]
PARTITIONS = 6
BAD_HEADERS, HEADERS = b'{"headers": "broken"}', [("trace", None), ("binary", b"\xff\xfe")]


async def read_all(kafka: str, topic: str, expected: int, timeout: float = 30) -> list:
    """Every record of a topic, from the beginning, once `expected` have arrived."""
    consumer = AIOKafkaConsumer(**kafka_options(kafka), enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        records: list = []
        async with asyncio.timeout(timeout):
            while len(records) < expected:
                batch = await consumer.getmany(timeout_ms=500)
                records += [r for rs in batch.values() for r in rs]
        return records
    finally:
        await consumer.stop()


async def test_malformed_partner_messages_are_dead_lettered_with_reason(system: System) -> None:
    producer = AIOKafkaProducer(**kafka_options(system.kafka))
    await producer.start()
    try:
        for topic in topics.PARTNER_TOPICS:
            for partition, body in enumerate(MALFORMED):
                await producer.send_and_wait(system.topic_prefix + topic, body, partition=partition, key=b"bad")
            await producer.send_and_wait(system.topic_prefix + topic, BAD_HEADERS, partition=0, headers=HEADERS)
        erp_order = {**order_body(7), "message_id": "erp-7", "occurred_at": datetime.now(UTC).isoformat()}
        for partition in range(PARTITIONS):  # the same good order behind the bad one on every partition
            await producer.send_and_wait(
                system.topic_prefix + topics.ERP_ORDERS, json.dumps(erp_order).encode(), partition=partition
            )
    finally:
        await producer.stop()

    async with asyncio.timeout(60):
        while not (
            found := await rows(
                system, "order", "SELECT id FROM orders WHERE external_ref = $1", erp_order["external_ref"]
            )
        ):
            await asyncio.sleep(0.3)
    await wait_closed(system, [found[0]["id"]])  # MES, WMS, carrier and finance partitions kept moving

    assert len(found) == 1, "the same ERP order six times made more than one order"
    for topic in topics.PARTNER_TOPICS:
        dead = await read_all(system.kafka, system.topic_prefix + topics.dlq(topic), len(MALFORMED) + 1)
        assert sorted(r.value for r in dead) == sorted([*MALFORMED, BAD_HEADERS]), topic
        for record in (r for r in dead if r.value != BAD_HEADERS):
            headers = {k: v.decode() for k, v in record.headers}
            assert headers["x-dlq-reason"].startswith("schema-invalid"), headers
            assert headers["x-original-topic"] == system.topic_prefix + topic
            assert headers["x-original-partition"] == str(MALFORMED.index(record.value))
            assert int(headers["x-original-offset"]) >= 0
        [broken] = [r for r in dead if r.value == BAD_HEADERS]
        assert dict(broken.headers)["binary"] == "\ufffd\ufffd".encode()
