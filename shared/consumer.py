"""Inbound plumbing: parse, apply once (inbox), retry with backoff, park, dead-letter, then commit.

Every consumed message ends in exactly one of: applied, recognised as a duplicate, ignored
(an event type this service does not handle), parked until what it depends on appears, or
the topic's dead-letter topic with the reason. The offset is committed only after that.
"""

import asyncio
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage
from pydantic import ValidationError
from sqlalchemy import delete
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from shared.contracts import MessageRejected, rejected_type
from shared.db import ParkedMessage, is_transient
from shared.errors import Invalid, NotYet
from shared.fields import scrub
from shared.logs import correlation_id
from shared.subscriptions import Parsed, Subscription
from shared.topics import SERVICE_TOPICS, dlq, physical
from shared.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("gendan.consumer")

# FastStream's batch loop sleeps this long again after a wait that brought nothing, so it bounds
# the latency an idle consumer adds (its default, 200 ms, showed as a 200 ms p99 hop).
BATCH_WAIT_MS = 20
MAX_DEAD_LETTER_BYTES = 900_000


@dataclass(frozen=True)
class Record:
    """Where a message came from: kept in dead-letter headers and parked rows."""

    topic: str
    partition: int
    offset: int
    key: str | None
    headers: dict[str, str] = field(default_factory=dict)


async def _lenient_headers(raw: tuple[Any, ...], parse: Callable[[Any], Awaitable[Any]]) -> Any:
    """FastStream decodes header values strictly; a partner's null or non-UTF-8 header must not stop a batch."""
    return await parse(tuple(dataclasses.replace(r, headers=_text_headers(r.headers)) for r in raw))


def _text_headers(headers: Any) -> list[tuple[str, bytes]]:
    return [(k, (v or b"").decode(errors="replace").encode()) for k, v in headers or ()]


async def _itself(msg: KafkaMessage) -> KafkaMessage:
    """Decoder handing the handler the message itself: cheaper than resolving it from the context."""
    return msg


def _record(topic: str, raw: Any) -> Record:
    """Where a Kafka record came from."""
    return Record(
        topic=topic,
        partition=raw.partition,
        offset=raw.offset,
        key=raw.key.decode(errors="replace") if raw.key else None,
        headers={k: (v or b"").decode(errors="replace") for k, v in raw.headers or ()},
    )


def _reason(error: BaseException) -> str:
    """A reason a person can act on: the fields at fault, or the database's own words."""
    if isinstance(error, ValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()[:5])
        return f"schema-invalid: {problems}"
    if isinstance(error, DBAPIError) and error.orig is not None:  # not SQLAlchemy's wrapper and its hints
        error = error.orig
    return f"{type(error).__name__}: {error}"[:1000]


def _peek_id(body: bytes) -> str:
    """The event id of a message that may not parse, for the rejection report."""
    try:
        value = json.loads(body).get("id", "")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Rejection:
    """An order's lifecycle event that went to the dead-letter topic instead of being applied."""

    order_id: str
    topic: str
    event_type: str
    event_id: str
    reason: str


RejectionHandler = Callable[[Rejection, UnitOfWork], Awaitable[None]]


def publish_rejections(service: str) -> RejectionHandler:
    """The usual report: `<service>.message_rejected` on the service's own topic, keyed by the order."""

    async def publish(rejection: Rejection, uow: UnitOfWork) -> None:
        rejected = MessageRejected(
            event_type=rejected_type(service),
            rejected_topic=rejection.topic,
            rejected_type=scrub(rejection.event_type, 500),
            rejected_id=scrub(rejection.event_id, 500),
            reason=scrub(rejection.reason, 500),
        )
        uow.emit(rejected, order_id=rejection.order_id)

    return publish


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
        self.on_rejected = on_rejected
        self.park_timeout = park_timeout
        self.max_attempts, self.backoff, self.backoff_max = max_attempts, backoff, backoff_max
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
                await self.deliver_batch(sub, [(raw.value or b"", _record(sub.topic, raw)) for raw in msg.raw_message])
            except Exception:  # not settled: rewind to the batch's first records; the inbox absorbs repeats
                log.exception("batch on %s not settled; it will be read again", sub.topic)
                await asyncio.sleep(self.backoff_max)
                await msg.nack()
                return
            await msg.ack()

    async def deliver_batch(self, sub: Subscription, items: list[tuple[bytes, Record]]) -> None:
        """Settle a batch: in one transaction when every message applies cleanly, else one by one."""
        ready: list[tuple[Parsed, bytes, Record]] = []
        for body, record in items:
            try:
                parsed = sub.parse(body)
            except (ValidationError, ValueError) as error:
                await self.reject(body, record, _reason(error))
                continue
            if parsed.handler is not None:
                ready.append((parsed, body, record))
        if len(ready) > 1:
            try:
                released = await self._apply_all([(parsed, record) for parsed, _, record in ready])
            except Exception as error:  # a message to park, reject or retry: settle each on its own
                log.info("batch of %d settles one by one: %s", len(ready), _reason(error))
            else:
                for key in released:
                    await self.replay(key)
                return
        for parsed, body, record in ready:
            await self._settle(parsed, body, record, None)

    async def deliver(self, sub: Subscription, body: bytes, record: Record, parked_id: int | None = None) -> bool:
        """Settle one message; returns False only when a parked message must stay parked."""
        try:
            parsed = sub.parse(body)
        except (ValidationError, ValueError) as error:
            await self.reject(body, record, _reason(error))
            await self._unpark(parked_id)
            return True
        if parsed.handler is None:
            await self._unpark(parked_id)
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
            for parsed, record in batch:
                await self._handle_once(parsed, record, uow)
        return uow.released

    async def _apply_with_retry(self, parsed: Parsed, body: bytes, record: Record, parked_id: int | None) -> bool:
        failures, attempt = 0, 0
        while True:
            try:
                released = await self._apply(parsed, record, parked_id)
                break
            except (Invalid, ValidationError) as error:  # retrying cannot change the answer
                reason = _reason(error) if isinstance(error, ValidationError) else str(error)
                await self.reject(body, record, f"rejected: {reason}")
                await self._unpark(parked_id)
                return True
            except NotYet as wait:
                if parked_id is None:
                    await self._park(body, record, wait)
                return parked_id is None
            except Exception as error:
                attempt += 1
                if not is_transient(error):
                    failures += 1
                    if failures >= self.max_attempts:
                        await self.reject(body, record, f"failed {failures} times: {_reason(error)}")
                        await self._unpark(parked_id)
                        return True
                log.warning("retrying %s@%s/%s: %s", record.topic, record.partition, record.offset, _reason(error))
                await self._pause(attempt)
        for key in released:
            await self.replay(key)
        return True

    async def _apply(self, parsed: Parsed, record: Record, parked_id: int | None) -> list[str]:
        async with self.units() as uow:
            if parked_id is not None:
                await uow.session.exec(delete(ParkedMessage).where(col(ParkedMessage.id) == parked_id))
            await self._handle_once(parsed, record, uow)
        return uow.released

    async def _handle_once(self, parsed: Parsed, record: Record, uow: UnitOfWork) -> None:
        """Run the handler unless this consumer's inbox shows the message was applied before."""
        if await uow.claim(self.group(record.topic), parsed.message_id):
            assert parsed.handler is not None
            await parsed.handler(parsed.message, uow)

    async def _pause(self, attempt: int) -> None:
        """Exponential backoff, capped."""
        await asyncio.sleep(min(self.backoff * 2 ** min(attempt, 16), self.backoff_max))

    async def _park(self, body: bytes, record: Record, wait: NotYet) -> None:
        await self._until_done(lambda: self._store_parked(body, record, wait))
        log.info("parked %s@%s/%s until %s: %s", record.topic, record.partition, record.offset, wait.key, wait)

    async def _store_parked(self, body: bytes, record: Record, wait: NotYet) -> None:
        async with self.units() as uow:
            uow.session.add(
                ParkedMessage(
                    waits_for=wait.key,
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    key=record.key,
                    body=body,
                    headers=record.headers,
                    reason=str(wait),
                    parked_at=uow.clock.now(),
                )
            )

    async def _unpark(self, parked_id: int | None) -> None:
        if parked_id is not None:
            await self._until_done(lambda: self._delete_parked(parked_id))

    async def _delete_parked(self, parked_id: int) -> None:
        async with self.units() as uow:
            await uow.session.exec(delete(ParkedMessage).where(col(ParkedMessage.id) == parked_id))

    async def _until_done(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run a bookkeeping step, waiting out transient failures (a dropped message is not an option)."""
        attempt = 0
        while True:
            try:
                return await step()
            except Exception as error:
                if not is_transient(error):
                    raise
                attempt += 1
                log.warning("waiting for the database: %s", _reason(error))
                await self._pause(attempt)

    async def replay(self, key: str) -> None:
        """Retry the messages parked waiting for `key`, oldest first; a failure is left to the sweep."""
        try:
            await self._replay(key)
        except Exception:
            log.exception("replaying messages parked for %s failed; the sweep will retry", key)

    async def _replay(self, key: str) -> None:
        async with self.units() as uow:
            query = select(ParkedMessage).where(ParkedMessage.waits_for == key).order_by(col(ParkedMessage.id))
            rows = (await uow.session.exec(query)).all()
        for row in rows:
            record = Record(row.topic, row.partition, row.offset, row.key, row.headers)
            sub = self.subscriptions.get(row.topic)
            if sub is None:
                await self.reject(row.body, record, f"parked for a topic no longer consumed: {row.reason}")
                await self._unpark(row.id)
                continue
            delivered = await self.deliver(sub, row.body, record, parked_id=row.id)
            if not delivered and row.parked_at < self.units.clock.now() - self.park_timeout:
                await self.reject(row.body, record, f"parked too long: {row.reason} (waited for {row.waits_for})")
                await self._unpark(row.id)

    async def sweep(self, every: float = 2.0, recent: timedelta = timedelta(minutes=1), all_every: int = 150) -> None:
        """Retry parked messages: recent ones every `every` seconds (a release may have raced their
        parking), all of them every `all_every` rounds (and dead-letter those parked too long)."""
        rounds = 0
        while True:
            await asyncio.sleep(every)
            rounds += 1
            since = None if rounds % all_every == 0 else self.units.clock.now() - recent
            try:
                for key in await self._parked_keys(since):
                    await self.replay(key)
            except Exception:
                log.exception("parked-message sweep failed; will retry")

    async def _parked_keys(self, since: datetime | None) -> list[str]:
        query = select(ParkedMessage.waits_for).distinct()
        if since is not None:
            query = query.where(col(ParkedMessage.parked_at) >= since)
        async with self.units() as uow:
            return list((await uow.session.exec(query)).all())

    async def reject(self, body: bytes, record: Record, reason: str) -> None:
        """Dead-letter a message; if it was an order's lifecycle event, say so on the order (once)."""
        await self.dead_letter(body, record, reason)
        if self.on_rejected is None or record.topic not in SERVICE_TOPICS or not record.key:
            return
        rejection = Rejection(record.key, record.topic, record.headers.get("event-type", ""), _peek_id(body), reason)
        try:
            await self._until_done(lambda: self._report(rejection, record))
        except Exception:  # the dead letter holds the message; a failing report must not stop the partition
            log.exception("could not report the rejected event of order %s", rejection.order_id)

    async def _report(self, rejection: Rejection, record: Record) -> None:
        assert self.on_rejected is not None
        async with self.units() as uow:
            where = f"{record.topic}/{record.partition}/{record.offset}"
            if await uow.claim(f"{self.group(record.topic)}.rejected", where):
                await self.on_rejected(rejection, uow)

    async def dead_letter(self, body: bytes, record: Record, reason: str) -> None:
        """Publish to `<topic>.dlq` with the reason and origin in headers; retried until Kafka takes it."""
        headers = {
            **record.headers,
            "x-dlq-reason": reason,
            "x-original-topic": physical(record.topic, self.prefix),
            "x-original-partition": str(record.partition),
            "x-original-offset": str(record.offset),
            "x-consumer-group": self.group(record.topic),
            "x-failed-at": self.units.clock.now().isoformat(),
        }
        if len(body) > MAX_DEAD_LETTER_BYTES:  # the original fit the broker; with our headers it might not
            body, headers["x-dlq-body-truncated"] = body[:MAX_DEAD_LETTER_BYTES], str(len(body))
        attempt = 0
        while True:
            try:
                await self.broker.publish(
                    body,
                    physical(dlq(record.topic), self.prefix),
                    key=record.key.encode() if record.key else None,
                    headers=headers,
                )
                log.warning("dead-lettered %s@%s/%s: %s", record.topic, record.partition, record.offset, reason)
                return
            except Exception:
                log.exception("dead-letter publish failed; retrying")
                await self._pause(attempt)
                attempt += 1
