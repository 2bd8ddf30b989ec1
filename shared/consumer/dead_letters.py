"""Dead letters: a message that cannot be applied goes to `<topic>.dlq` with why and where it came from;
if it was an order's lifecycle event, the order hears of it."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from faststream.kafka import KafkaBroker
from sqlalchemy.dialects.postgresql import insert

from shared import signals
from shared.backoff import Backoff
from shared.clock import Clock
from shared.consumer.records import Record, peek_id
from shared.contracts import REJECTED, MessageRejected
from shared.db import DeadLetterCount
from shared.fields import scrub
from shared.topics import SERVICE_TOPICS, dlq, physical
from shared.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("gendan.consumer")

MAX_DEAD_LETTER_BYTES = 900_000


@dataclass(frozen=True)
class Rejection:
    """An order's lifecycle event that went to the dead-letter topic instead of being applied."""

    order_id: str
    topic: str
    event_type: str
    event_id: str
    reason: str

    def as_event(self, model: type[MessageRejected] = MessageRejected) -> MessageRejected:
        """The report as an event (e.g. `production.message_rejected`), what came from outside made storable."""
        return model(
            rejected_topic=self.topic,
            rejected_type=scrub(self.event_type, 500),
            rejected_id=scrub(self.event_id, 500),
            reason=scrub(self.reason, 500),
        )


RejectionHandler = Callable[[Rejection, UnitOfWork], Awaitable[None]]


def publish_rejections(service: str) -> RejectionHandler:
    """The usual report: `<service>.message_rejected` on the service's own topic, keyed by the order."""

    async def publish(rejection: Rejection, uow: UnitOfWork) -> None:
        uow.emit(rejection.as_event(REJECTED[service]), order_id=rejection.order_id)

    return publish


@dataclass
class DeadLetters:
    """Publishes dead letters (until Kafka takes them) and reports rejected lifecycle events once."""

    broker: KafkaBroker
    units: UnitOfWorkFactory
    group: Callable[[str], str]
    backoff: Backoff
    prefix: str = ""
    on_rejected: RejectionHandler | None = None

    @property
    def clock(self) -> Clock:
        return self.units.clock

    async def reject(self, body: bytes, record: Record, reason: str) -> None:
        """Dead-letter a message; if it was an order's lifecycle event, say so on the order (once)."""
        await self.publish(body, record, reason)
        if self.on_rejected is None or record.topic not in SERVICE_TOPICS or not record.key:
            return
        rejection = Rejection(record.key, record.topic, record.headers.get("event-type", ""), peek_id(body), reason)
        try:
            await self.backoff.until_done(lambda: self._report(rejection, record), log=log, what="rejection report")
        except Exception:  # the dead letter holds the message; a failing report must not stop the partition
            log.exception("could not report the rejected event of order %s", rejection.order_id)

    async def _report(self, rejection: Rejection, record: Record) -> None:
        assert self.on_rejected is not None
        async with self.units() as uow:
            if await uow.claim(f"{self.group(record.topic)}.rejected", record.position):
                await self.on_rejected(rejection, uow)

    async def publish(self, body: bytes, record: Record, reason: str) -> None:
        """Publish to `<topic>.dlq` with the reason and origin in headers; retried until Kafka takes it."""
        headers = {
            **record.headers,
            "x-dlq-reason": reason,
            "x-original-topic": physical(record.topic, self.prefix),
            "x-original-partition": str(record.partition),
            "x-original-offset": str(record.offset),
            "x-consumer-group": self.group(record.topic),
            "x-failed-at": self.clock.now().isoformat(),
        }
        if len(body) > MAX_DEAD_LETTER_BYTES:  # the original fit the broker; with our headers it might not
            body, headers["x-dlq-body-truncated"] = body[:MAX_DEAD_LETTER_BYTES], str(len(body))
        key = record.key.encode() if record.key else None

        async def send() -> None:
            await self.broker.publish(body, physical(dlq(record.topic), self.prefix), key=key, headers=headers)

        await self.backoff.until_done(send, log=log, what="dead-letter publish", retry_if=lambda _: True)
        signals.message(self.units.source, record.topic, "dead_lettered")
        log.warning("dead-lettered %s@%s/%s: %s", record.topic, record.partition, record.offset, reason)
        await self._count(record.topic, reason)

    async def _count(self, topic: str, reason: str) -> None:
        """One more dead letter of `topic` for people to work (a lost count only delays the board by one)."""
        now, why = self.clock.now(), scrub(reason, 2000)
        stmt = insert(DeadLetterCount).values(topic=topic, total=1, last_at=now, last_reason=why)
        counted = stmt.on_conflict_do_update(
            index_elements=["topic"],
            set_={"total": DeadLetterCount.__table__.c.total + 1, "last_at": now, "last_reason": why},  # type: ignore[attr-defined]
        )
        try:
            async with self.units() as uow:
                await uow.session.exec(counted)
        except Exception:
            log.exception("could not count the dead letter of %s", topic)
