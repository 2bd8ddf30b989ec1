"""The consumer plumbing on a real database, with FastStream's in-memory broker in place of Kafka."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy import text
from sqlmodel import col, func, select

from shared.clock import FixedClock
from shared.consumer import Consumer, Record, publish_rejections
from shared.contracts import Envelope, Event, MesEvent, MessageRejected, ShipmentTracked
from shared.db import InboxMessage, OutboxMessage, ParkedMessage
from shared.errors import Invalid, NotYet
from shared.subscriptions import on_events, on_partner
from shared.unit_of_work import UnitOfWork, UnitOfWorkFactory

pytestmark = pytest.mark.integration
SERVICE = "production"


def mes(mid: str, wo: str = "WO1", kind: str = "started") -> bytes:
    when = datetime(2027, 1, 4, tzinfo=UTC)
    return MesEvent(message_id=mid, occurred_at=when, type=kind, work_order_id=wo).model_dump_json().encode()


class Harness:
    """A consumer of mes.events whose handler behaviour each test sets, and a dead-letter tap."""

    def __init__(self, units: UnitOfWorkFactory) -> None:
        self.broker = KafkaBroker()
        self.consumer = Consumer(service="test", units=units, broker=self.broker, backoff=0.001)
        self.applied: list[str] = []
        self.dead: list[tuple[bytes, dict[str, str]]] = []
        self.behaviour = lambda message, attempt: None
        self.attempts: dict[str, int] = {}
        self.consumer.register(on_partner("mes.events", MesEvent, self.handle))

        @self.broker.subscriber("mes.events.dlq")
        async def tap(msg: KafkaMessage) -> None:
            self.dead.append((msg.body, dict(msg.headers)))

    async def handle(self, message: MesEvent, uow: UnitOfWork) -> None:
        attempt = self.attempts[message.message_id] = self.attempts.get(message.message_id, 0) + 1
        self.behaviour(message, attempt)
        if message.type == "completed":
            uow.release(message.work_order_id)
        self.applied.append(message.message_id)


async def parked(units: UnitOfWorkFactory) -> int:
    async with units() as uow:
        return (await uow.session.exec(select(func.count()).select_from(ParkedMessage))).one()


async def test_schema_invalid_goes_to_dead_letters_with_reason(units: UnitOfWorkFactory) -> None:
    h = Harness(units)
    async with TestKafkaBroker(h.broker) as broker:
        await broker.publish(b'{"message_id": "x"}', "mes.events")
        await broker.publish(mes("m1"), "mes.events")
    [(body, headers)] = h.dead
    assert body == b'{"message_id": "x"}'
    assert headers["x-dlq-reason"].startswith("schema-invalid: occurred_at: Field required")
    assert headers["x-original-topic"] == "mes.events"
    assert h.applied == ["m1"]


async def test_redelivered_message_is_applied_once(units: UnitOfWorkFactory) -> None:
    h = Harness(units)
    async with TestKafkaBroker(h.broker) as broker:
        for _ in range(3):
            await broker.publish(mes("m1"), "mes.events")
    assert h.applied == ["m1"]


async def test_early_message_is_parked_then_replayed_when_released(units: UnitOfWorkFactory) -> None:
    h = Harness(units)

    def wait_for_wo2(message: MesEvent, attempt: int) -> None:
        if message.message_id == "early" and "wo2-done" not in h.applied:
            raise NotYet("WO2", "needs WO2 first")

    h.behaviour = wait_for_wo2
    async with TestKafkaBroker(h.broker) as broker:
        await broker.publish(mes("early"), "mes.events")
        assert await parked(units) == 1 and h.applied == []
        await broker.publish(mes("wo2-done", "WO2", "completed"), "mes.events")
    assert h.applied == ["wo2-done", "early"]
    assert await parked(units) == 0


async def test_sweep_replays_a_message_whose_release_was_missed(units: UnitOfWorkFactory) -> None:
    h = Harness(units)
    ready = False
    h.behaviour = lambda message, attempt: _wait_if(not ready)
    async with TestKafkaBroker(h.broker) as broker:
        await broker.publish(mes("raced"), "mes.events")
        assert await parked(units) == 1
        ready = True  # what it waited for appeared, but no handler released the key
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(h.consumer.sweep(every=0.01), timeout=0.5)
    assert h.applied == ["raced"] and await parked(units) == 0


async def test_message_parked_too_long_is_dead_lettered(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    h = Harness(units)

    def never_ready(message: MesEvent, attempt: int) -> None:
        raise NotYet("WO-never", "needs a work order that never comes")

    h.behaviour = never_ready
    async with TestKafkaBroker(h.broker) as broker:
        await broker.publish(mes("orphan"), "mes.events")
        await h.consumer.replay("WO-never")
        assert await parked(units) == 1 and h.dead == []
        clock.advance(timedelta(days=8))
        await h.consumer.replay("WO-never")
    assert await parked(units) == 0
    [(body, headers)] = h.dead
    assert headers["x-dlq-reason"] == "parked too long: needs a work order that never comes (waited for WO-never)"


async def test_batch_applies_in_one_transaction_or_falls_back_one_by_one(units: UnitOfWorkFactory) -> None:
    h = Harness(units)
    h.behaviour = lambda message, attempt: _wait_if(message.message_id == "early")
    sub = h.consumer.subscriptions["mes.events"]
    at = [Record("mes.events", 0, offset, None) for offset in range(10)]
    async with TestKafkaBroker(h.broker):
        await h.consumer.deliver_batch(sub, [(mes("a"), at[0]), (mes("b"), at[1]), (mes("a"), at[2])])
        assert h.attempts == {"a": 1, "b": 1}  # the duplicate seen by the inbox
        async with units() as uow:
            transactions = (await uow.session.exec(text("SELECT count(DISTINCT xmin::text) FROM inbox"))).one()
        assert transactions == (1,)  # both marks written by one transaction
        batch = [(mes("c"), at[3]), (mes("early"), at[4]), (b"junk", at[5]), (mes("d"), at[6])]
        await h.consumer.deliver_batch(sub, batch)
        await h.consumer.deliver_batch(sub, [(mes("a"), at[8]), (mes("e"), at[9])])  # a: applied two batches ago
    async with units() as uow:
        applied = set((await uow.session.exec(select(InboxMessage.message_id))).all())
    assert applied == {"a", "b", "c", "d", "e"}
    assert h.attempts["a"] == 1 and h.attempts["e"] == 1
    assert h.attempts["c"] == 2  # the batch was rolled back, then c applied alone
    assert await parked(units) == 1
    assert [headers["x-original-offset"] for _, headers in h.dead] == ["5"]


async def test_parking_waits_out_a_database_outage(units: UnitOfWorkFactory) -> None:
    h = Harness(units)
    h.behaviour = lambda message, attempt: _wait_if(True)
    store, failures = h.consumer.parking._store, [ConnectionRefusedError("database restarting")] * 2

    async def flaky_store(*args: object) -> None:
        if failures:
            raise failures.pop()
        await store(*args)  # type: ignore[arg-type]

    h.consumer.parking._store = flaky_store  # type: ignore[method-assign]
    async with TestKafkaBroker(h.broker) as broker:
        await broker.publish(mes("early"), "mes.events")
    assert failures == [] and await parked(units) == 1


def _wait_if(condition: bool) -> None:
    if condition:
        raise NotYet("WO9", "waits for WO9")


async def test_transient_failures_are_retried_not_dead_lettered(units: UnitOfWorkFactory) -> None:
    h = Harness(units)

    def flaky(message: MesEvent, attempt: int) -> None:
        if attempt <= 5:
            raise ConnectionRefusedError("database restarting")

    h.behaviour = flaky
    async with TestKafkaBroker(h.broker) as broker:
        await broker.publish(mes("m1"), "mes.events")
    assert h.applied == ["m1"] and h.dead == []


async def test_a_handler_that_keeps_failing_is_dead_lettered_after_bounded_attempts(units: UnitOfWorkFactory) -> None:
    h = Harness(units)

    def broken(message: MesEvent, attempt: int) -> None:
        if message.message_id == "bad":
            raise KeyError("bug")

    h.behaviour = broken
    async with TestKafkaBroker(h.broker) as broker:
        await broker.publish(mes("bad"), "mes.events")
        await broker.publish(mes("good"), "mes.events")
    assert h.attempts["bad"] == 3
    assert h.dead[0][1]["x-dlq-reason"] == "failed 3 times: KeyError: 'bug'"
    assert h.applied == ["good"]


async def test_rejected_message_is_dead_lettered_at_once(units: UnitOfWorkFactory) -> None:
    h = Harness(units)

    def reject(message: MesEvent, attempt: int) -> None:
        raise Invalid("carrier reported someone else's shipment")

    h.behaviour = reject
    async with TestKafkaBroker(h.broker) as broker:
        await broker.publish(mes("m1"), "mes.events")
    assert h.attempts["m1"] == 1
    assert h.dead[0][1]["x-dlq-reason"] == "rejected: carrier reported someone else's shipment"


async def test_rejected_lifecycle_event_is_reported_on_its_order_once(units: UnitOfWorkFactory) -> None:
    broker = KafkaBroker()
    consumer = Consumer(
        service="production", units=units, broker=broker, backoff=0.001, on_rejected=publish_rejections("production")
    )

    async def cannot_apply(event: Event[ShipmentTracked], uow: UnitOfWork) -> None:
        raise Invalid("work order cannot be made")

    consumer.register(on_events("logistics.events", {ShipmentTracked: cannot_apply}))
    tracked = ShipmentTracked(shipment_id="SH1", status="in_transit")
    event = Envelope.new(tracked, source="logistics", order_id="SO1", clock=units.clock)
    async with TestKafkaBroker(broker) as test_broker:
        for _ in range(2):  # a redelivery is dead-lettered again, but reported once
            await test_broker.publish(
                event.model_dump_json().encode(),
                "logistics.events",
                key=b"SO1",
                headers={"event-type": event.type},
            )
    async with units() as uow:
        [row] = (await uow.session.exec(select(OutboxMessage))).all()
    report = Envelope.model_validate_json(row.payload)
    assert (report.type, report.order_id) == ("production.message_rejected", "SO1")
    rejected = report.payload(MessageRejected)
    assert rejected.rejected_type == "logistics.shipment_tracked" and rejected.rejected_id == str(event.id)
    assert rejected.reason == "rejected: work order cannot be made"


async def test_work_deferred_once_per_key_runs_last_touch_only_before_the_events_are_written(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    ran: list[str] = []

    def count(label: str, uow: UnitOfWork) -> Callable[[], Awaitable[None]]:
        async def work() -> None:
            ran.append(label)
            uow.emit(ShipmentTracked(shipment_id=label, status="counted"), order_id="SO1")

        return work

    async with units() as uow:
        uow.once("a", count("a1", uow))
        uow.once("b", count("b1", uow))
        uow.once("a", count("a2", uow))  # replaces a1, and now comes after b
        assert ran == []  # nothing before the end of the transaction
    assert ran == ["b1", "a2"]
    async with units() as uow:
        staged = (await uow.session.exec(select(OutboxMessage.payload).order_by(col(OutboxMessage.id)))).all()
    assert [Envelope.model_validate_json(p).data["shipment_id"] for p in staged] == ["b1", "a2"]
