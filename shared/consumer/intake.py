"""Intake: subscribe, read batches, apply each message once (inbox), retry, then commit the offsets.

Every consumed message ends in exactly one of: applied, recognised as a duplicate, ignored
(an event type this service does not handle), parked until what it depends on appears, or
the topic's dead-letter topic with the reason. The offset is committed only after that.
"""

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage
from pydantic import ValidationError
from sqlalchemy import delete
from sqlmodel import col

from shared import signals, tracing
from shared.backoff import Backoff
from shared.consumer.dead_letters import DeadLetters, RejectionHandler
from shared.consumer.parking import Parking
from shared.consumer.records import Record, reason, record_of
from shared.db import ParkedMessage, is_transient
from shared.errors import Invalid, NotYet
from shared.exceptions import stopped_waiting
from shared.logs import correlation_id
from shared.subscriptions import Parsed, Subscription
from shared.topics import physical
from shared.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("gendan.consumer")

# FastStream's batch loop sleeps this long again after a wait that brought nothing, so it bounds
# the latency an idle consumer adds (its default, 200 ms, showed as a 200 ms p99 hop).
BATCH_WAIT_MS = 20


async def _lenient_headers(raw: tuple[Any, ...], parse: Callable[[Any], Awaitable[Any]]) -> Any:
    """FastStream decodes header values strictly; a partner's null or non-UTF-8 header must not stop a batch."""
    return await parse(tuple(dataclasses.replace(r, headers=_text_headers(r.headers)) for r in raw))


def _text_headers(headers: Any) -> list[tuple[str, bytes]]:
    return [(k, (v or b"").decode(errors="replace").encode()) for k, v in headers or ()]


async def _itself(msg: KafkaMessage) -> KafkaMessage:
    """Decoder handing the handler the message itself: cheaper than resolving it from the context."""
    return msg


class Consumer:
    """Applies messages of one service's subscriptions, exactly once in effect."""

    def __init__(
        self,
        *,
        service: str,
        units: UnitOfWorkFactory,
        broker: KafkaBroker,
        prefix: str = "",
        max_attempts: int = 3,
        backoff: float = 0.2,
        backoff_max: float = 10.0,
        park_timeout: timedelta = timedelta(days=7),
        on_rejected: RejectionHandler | None = None,
    ) -> None:
        self.service, self.units, self.broker, self.prefix = service, units, broker, prefix
        self.max_attempts = max_attempts
        self.backoff = Backoff(backoff, backoff_max)
        self.parking = Parking(units, self.backoff, park_timeout)
        self.dead_letters = DeadLetters(broker, units, self.group, self.backoff, prefix, on_rejected)
        self.subscriptions: dict[str, Subscription] = {}

    def group(self, topic: str) -> str:
        """Consumer group (and inbox name) of this service for one topic."""
        return f"{self.prefix}gendan-{self.service}.{topic}"

    def register(self, sub: Subscription, *, batch: int = 200) -> None:
        """Subscribe on the broker: batches of up to `batch` records, offsets committed once all are settled."""
        self.subscriptions[sub.topic] = sub

        @self.broker.subscriber(
            physical(sub.topic, self.prefix),
            group_id=self.group(sub.topic),
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            batch=True,
            max_records=batch,
            batch_timeout_ms=BATCH_WAIT_MS,
            title=f"{self.service}:{sub.topic}",
            description=sub.description,
            parser=_lenient_headers,
            decoder=_itself,
        )
        async def consume(msg: Any) -> None:  # the KafkaMessage itself (see _itself)
            try:
                await self.deliver_batch(
                    sub, [(raw.value or b"", record_of(sub.topic, raw)) for raw in msg.raw_message]
                )
            except Exception:  # not settled: rewind to the batch's first records; the inbox absorbs repeats
                log.exception("batch on %s not settled; it will be read again", sub.topic)
                await asyncio.sleep(self.backoff.cap)
                await msg.nack()
                return
            await msg.ack()

    async def deliver_batch(self, sub: Subscription, items: list[tuple[bytes, Record]]) -> None:
        """Settle a batch: in one transaction when every message applies cleanly, else one by one."""
        ready: list[tuple[Parsed, bytes, Record]] = []
        signals.BATCH.labels(self.units.source, sub.topic).observe(len(items))
        for body, record in items:
            try:
                parsed = sub.parse(body)
            except (ValidationError, ValueError) as error:
                await self.dead_letters.reject(body, record, reason(error))
                continue
            if parsed.handler is not None:
                ready.append((parsed, body, record))
        if len(ready) > 1:
            try:
                released = await self._apply_all([(parsed, record) for parsed, _, record in ready])
            except Exception as error:  # a message to park, reject or retry: settle each on its own
                log.info("batch of %d settles one by one: %s", len(ready), reason(error))
            else:
                signals.message(self.units.source, sub.topic, "applied", len(ready))
                await self._replay(released)
                return
        for parsed, body, record in ready:
            await self._settle(parsed, body, record, None)

    async def deliver(self, sub: Subscription, body: bytes, record: Record, parked_id: int | None = None) -> bool:
        """Settle one message; returns False only when a parked message must stay parked."""
        try:
            parsed = sub.parse(body)
        except (ValidationError, ValueError) as error:
            await self.dead_letters.reject(body, record, reason(error))
            await self.parking.unpark(parked_id)
            return True
        if parsed.handler is None:
            await self.parking.unpark(parked_id)
            return True
        return await self._settle(parsed, body, record, parked_id)

    async def _settle(self, parsed: Parsed, body: bytes, record: Record, parked_id: int | None) -> bool:
        token = correlation_id.set(parsed.correlation)
        try:
            return await self._apply_with_retry(parsed, body, record, parked_id)
        finally:
            correlation_id.reset(token)

    async def _apply_all(self, batch: list[tuple[Parsed, Record]]) -> list[str]:
        """Apply several messages in one transaction (the fast path under load)."""
        async with self.units() as uow:
            keys = [(self.group(record.topic), parsed.message_id) for parsed, record in batch]
            fresh = await uow.claim_all(keys)  # one statement for the whole batch's inbox
            for (parsed, record), key in zip(batch, keys, strict=True):
                if key in fresh:
                    fresh.discard(key)  # the same message twice in one batch runs once
                    assert parsed.handler is not None
                    with tracing.span(f"apply {record.topic}", record.headers):
                        await parsed.handler(parsed.message, uow)
        return uow.released

    async def _apply_with_retry(self, parsed: Parsed, body: bytes, record: Record, parked_id: int | None) -> bool:
        """Apply; park what must wait, dead-letter what never applies, retry the rest with backoff."""
        failures, attempt = 0, 0
        while True:
            try:
                released = await self._apply(parsed, record, parked_id)
                break
            except (Invalid, ValidationError) as error:  # retrying cannot change the answer
                why = reason(error) if isinstance(error, ValidationError) else str(error)
                await self.dead_letters.reject(body, record, f"rejected: {why}")
                await self.parking.unpark(parked_id)
                return True
            except NotYet as wait:
                if parked_id is None:
                    await self.parking.park(body, record, wait)
                return parked_id is None
            except Exception as error:
                if not is_transient(error):
                    failures += 1
                    if failures >= self.max_attempts:
                        await self.dead_letters.reject(body, record, f"failed {failures} times: {reason(error)}")
                        await self.parking.unpark(parked_id)
                        return True
                signals.message(self.units.source, record.topic, "retried")
                log.warning("retrying %s@%s/%s: %s", record.topic, record.partition, record.offset, reason(error))
                await self.backoff.pause(attempt)
                attempt += 1
        signals.message(self.units.source, record.topic, "applied")
        await self._replay(released)
        return True

    async def _apply(self, parsed: Parsed, record: Record, parked_id: int | None) -> list[str]:
        async with self.units() as uow:
            waited_for = None
            if parked_id is not None:
                unparked = delete(ParkedMessage).where(col(ParkedMessage.id) == parked_id)
                waited_for = (await uow.session.exec(unparked.returning(col(ParkedMessage.waits_for)))).scalar()
            await self._handle_once(parsed, record, uow)
            if waited_for is not None:
                await stopped_waiting(uow, waited_for)
        return uow.released

    async def _handle_once(self, parsed: Parsed, record: Record, uow: UnitOfWork) -> None:
        """Run the handler unless this consumer's inbox shows the message was applied before."""
        if await uow.claim(self.group(record.topic), parsed.message_id):
            assert parsed.handler is not None
            with tracing.span(f"apply {record.topic}", record.headers):
                await parsed.handler(parsed.message, uow)

    async def _replay(self, released: list[str]) -> None:
        for key in released:
            await self.replay(key)

    async def replay(self, key: str) -> None:
        """Retry the messages parked waiting for `key`."""
        await self.parking.replay(key, self._redeliver, self.dead_letters.reject)

    async def _redeliver(self, topic: str, body: bytes, record: Record, parked_id: int) -> bool:
        sub = self.subscriptions.get(topic)
        if sub is None:
            await self.dead_letters.reject(body, record, "parked for a topic no longer consumed")
            await self.parking.unpark(parked_id)
            return True
        return await self.deliver(sub, body, record, parked_id=parked_id)

    async def sweep(self, every: float = 2.0) -> None:
        """Retry parked messages every `every` seconds until cancelled (see Parking.sweep)."""
        await self.parking.sweep(self._redeliver, self.dead_letters.reject, every=every)
