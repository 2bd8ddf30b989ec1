"""The outbox on the real Kafka and PostgreSQL: events too large are refused when staged; the relay never
stops for a row Kafka refuses, and sets it aside where it can be seen and retried."""

from typing import ClassVar
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer
from faststream.kafka import KafkaBroker
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from deploy.infra import Servers
from shared.broker import delete_topics, ensure_topics, kafka_options, kafka_security
from shared.contracts import Envelope, EventData, ProductionStarted
from shared.db import OutboxMessage
from shared.errors import Unpublishable
from shared.outbox import MAX_EVENT_BYTES, OutboxRelay, outbox_row
from shared.topics import physical
from shared.unit_of_work import UnitOfWorkFactory

pytestmark = pytest.mark.integration
SERVICE = "production"


class Blob(EventData):
    """An event type with no bound on its text, as a careless future contract might be."""

    event_type: ClassVar[str] = "production.blob"
    blob: str


async def test_an_event_too_large_for_kafka_cannot_be_staged(units: UnitOfWorkFactory) -> None:
    with pytest.raises(Unpublishable, match=f"over {MAX_EVENT_BYTES}"):
        async with units() as uow:
            uow.emit(ProductionStarted(work_order_id="WO1"), order_id="SO1")
            uow.emit(Blob(blob="x" * MAX_EVENT_BYTES), order_id="SO1")
    async with units() as uow:
        assert (await uow.session.exec(select(OutboxMessage))).all() == []  # nothing of it committed


async def published(kafka: str, topic: str, expected: int) -> list[str]:
    """The event types on a topic, in order, once `expected` are there."""
    consumer = AIOKafkaConsumer(topic, **kafka_options(kafka), auto_offset_reset="earliest")
    await consumer.start()
    try:
        types: list[str] = []
        while len(types) < expected:
            batch = await consumer.getmany(timeout_ms=10_000)
            assert batch, f"only {types} arrived"
            types += [dict(r.headers)["event-type"].decode() for rs in batch.values() for r in rs]
        return types
    finally:
        await consumer.stop()


async def test_relay_sets_aside_a_row_kafka_refuses_and_publishes_the_rest(
    units: UnitOfWorkFactory, infra: Servers
) -> None:
    prefix = f"t{uuid4().hex[:8]}."
    await ensure_topics(infra.kafka, prefix=prefix, partitions=1)
    broker = KafkaBroker(infra.kafka, security=kafka_security(), enable_idempotence=True)
    await broker.start()
    relay = OutboxRelay(units.sessions, broker, clock=units.clock, prefix=prefix)
    try:
        async with units() as uow:
            uow.emit(ProductionStarted(work_order_id="WO1"), order_id="SO1")
            # A row that slipped past the staging check (written before it existed): 2 MB, too large for Kafka.
            huge = Envelope.new(Blob(blob="x" * 2_000_000), source="production", order_id="SO1", clock=units.clock)
            small = Envelope.new(Blob(blob=""), source="production", order_id="SO1", clock=units.clock)
            row = outbox_row(small, topic=uow.topic, clock=uow.clock)
            await uow.session.exec(insert(OutboxMessage).values({**row, "payload": huge.model_dump_json()}))
            uow.emit(ProductionStarted(work_order_id="WO2"), order_id="SO1")

        assert await relay.relay_once() == 3
        topic = physical(units.topic, prefix)
        assert await published(infra.kafka, topic, 2) == ["production.started", "production.started"]
        [aside] = await relay.set_aside()
        assert aside.event_type == "production.blob" and "MessageSizeTooLarge" in aside.failure
        assert await relay.relay_once() == 0  # it does not come back by itself

        assert await relay.retry_set_aside([aside.id]) == 1  # after a fix it can be tried again
        assert await relay.relay_once() == 1
        [again] = await relay.set_aside()  # still too large: set aside again, nothing else held up
        assert again.id == aside.id
        async with units() as uow:
            unsent = select(OutboxMessage).where(col(OutboxMessage.sent_at).is_(None))
            assert [r.id for r in (await uow.session.exec(unsent)).all()] == [aside.id]
    finally:
        await broker.stop()
        await delete_topics(infra.kafka, prefix)
