"""Outbox: events are staged in the transaction of the state change; a relay publishes them."""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from aiokafka.errors import InvalidTopicError, MessageSizeTooLargeError, RecordTooLargeError, UnsupportedVersionError
from faststream.kafka import KafkaBroker
from pydantic import BaseModel
from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from shared import tracing
from shared.backoff import Backoff
from shared.clock import Clock
from shared.contracts import Envelope
from shared.db import OutboxMessage, SessionFactory, transaction
from shared.errors import Unpublishable
from shared.topics import physical

log = logging.getLogger("gendan.outbox")

RELAY_LOCK = 7_310_042  # advisory lock: one relay per database at a time keeps per-order order


# What the producer may send in one request is 1 MiB (aiokafka's max_request_size, the broker's
# message.max.bytes); an event stays well below it with its key and headers.
MAX_EVENT_BYTES = 900_000


def headers(row: Any) -> dict[str, str]:
    """The Kafka headers of an outbox event: its content type and event type, and the trace it belongs to."""
    found = {"content-type": "application/json", "event-type": row.event_type}
    if row.traceparent:
        found["traceparent"] = row.traceparent
    return found


def outbox_row(event: Envelope, *, topic: str, clock: Clock) -> dict[str, Any]:
    """The outbox row (column values) that will carry `event` to `topic`, keyed by its order id.

    An event too large to publish is refused here, in the transaction that would stage it, so it
    can never sit in the outbox in front of the events behind it."""
    payload = event.model_dump_json()
    if (size := len(payload.encode())) > MAX_EVENT_BYTES:
        raise Unpublishable(f"{event.type} for order {event.order_id} would be {size} bytes, over {MAX_EVENT_BYTES}")
    return {
        "event_id": event.id,
        "topic": topic,
        "key": event.order_id,
        "event_type": event.type,
        "payload": payload,
        "created_at": clock.now(),
        "traceparent": tracing.current_headers().get("traceparent"),
    }


class SetAside(BaseModel):
    """An outbox row Kafka refused for good: what it is and why."""

    id: int
    event_id: UUID
    topic: str
    key: str
    event_type: str
    created_at: datetime
    failed_at: datetime
    failure: str


class OutboxRelay:
    """Publishes unsent outbox rows in id order with the idempotent producer, then marks them sent."""

    def __init__(
        self,
        sessions: SessionFactory,
        broker: KafkaBroker,
        *,
        clock: Clock,
        prefix: str = "",
        batch_size: int = 500,
        poll_seconds: float = 0.2,
    ) -> None:
        self.sessions, self.broker, self.clock = sessions, broker, clock
        self.prefix, self.batch_size, self.poll_seconds = prefix, batch_size, poll_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Tell the relay that new rows were committed."""
        self._wake.set()

    async def run(self) -> None:
        """Relay until cancelled; a failed round is retried after a pause, never skipped."""
        backoff, failures = Backoff(self.poll_seconds * 2, 5.0), 0
        while True:
            try:
                sent, pause, failures = await self.relay_once(), self.poll_seconds, 0
            except Exception:
                log.exception("outbox relay round failed; retrying")
                sent, pause, failures = 0, backoff.delay(failures), failures + 1
            if sent < self.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=pause)
                self._wake.clear()

    async def relay_once(self) -> int:
        """Publish one batch; returns how many rows were settled (sent or set aside)."""
        async with transaction(self.sessions) as session:
            locked = (await session.exec(select(func.pg_try_advisory_xact_lock(RELAY_LOCK)))).one()
            if not locked:
                return 0
            query = (
                sa_select(  # six columns: more than sqlmodel's select is typed for
                    col(OutboxMessage.id),
                    col(OutboxMessage.topic),
                    col(OutboxMessage.key),
                    col(OutboxMessage.event_type),
                    col(OutboxMessage.payload),
                    col(OutboxMessage.traceparent),
                )
                .where(col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.failed_at).is_(None))
                .order_by(col(OutboxMessage.id))
                .limit(self.batch_size)
            )
            rows = (await session.exec(query)).all()  # type: ignore[call-overload]  # runs; typed up to 4 columns
            if not rows:
                return 0
            outcomes = await self._publish(rows)
            sent, set_aside, stopped = settle(rows, outcomes)
            now = self.clock.now()
            if sent:
                await session.exec(update(OutboxMessage).where(col(OutboxMessage.id).in_(sent)).values(sent_at=now))
            for row_id, failure in set_aside.items():
                await session.exec(
                    update(OutboxMessage).where(col(OutboxMessage.id) == row_id).values(failed_at=now, failure=failure)
                )
                log.error("outbox row %s set aside, Kafka refuses it for good: %s", row_id, failure)
        if stopped is not None:  # what was settled before it is kept; the rest is tried again
            raise stopped
        return len(sent) + len(set_aside)

    async def _publish(self, rows: Sequence[Any]) -> list[BaseException | None]:
        """Hand every row to the producer, then wait for the broker: each row's failure, or None."""
        pending: list[Any] = []
        for row in rows:
            try:
                pending.append(
                    await self.broker.publish(
                        row.payload.encode(),
                        physical(row.topic, self.prefix),
                        key=row.key.encode(),
                        headers=headers(row),
                        no_confirm=True,
                    )
                )
            except Exception as error:  # refused before sending (e.g. too large, or the buffer full)
                pending.append(_failed(error))
                if not isinstance(error, PERMANENT):
                    break  # the rows behind it are not handed over: they go next round, still in order
        results = await asyncio.gather(*pending, return_exceptions=True)
        outcomes = [r if isinstance(r, BaseException) else None for r in results]
        return outcomes + [outcomes[-1]] * (len(rows) - len(outcomes))  # not attempted: as the one that stopped

    async def set_aside(self) -> list[SetAside]:
        """The rows Kafka refused for good, oldest first."""
        query = select(OutboxMessage).where(col(OutboxMessage.failed_at).is_not(None)).order_by(col(OutboxMessage.id))
        async with self.sessions() as session:
            rows = (await session.exec(query)).all()
        return [SetAside.model_validate(row, from_attributes=True) for row in rows]

    async def retry_set_aside(self, row_ids: Sequence[int] | None = None) -> int:
        """Put set-aside rows (all, or those named) back in line, after a fix; returns how many."""
        stmt = update(OutboxMessage).where(col(OutboxMessage.failed_at).is_not(None))
        if row_ids is not None:
            stmt = stmt.where(col(OutboxMessage.id).in_(row_ids))
        async with transaction(self.sessions) as session:
            result = await session.exec(stmt.values(failed_at=None, failure=None))
        self.wake()
        return int(result.rowcount)


async def _failed(error: BaseException) -> None:
    raise error


# Refusals retrying cannot fix: the record itself is wrong for this broker.
PERMANENT = (MessageSizeTooLargeError, RecordTooLargeError, InvalidTopicError, UnsupportedVersionError)


def settle(
    rows: Sequence[Any], outcomes: Sequence[BaseException | None]
) -> tuple[list[int], dict[int, str], BaseException | None]:
    """Split a published batch: the ids sent, the ids set aside with why, and the failure that stops the
    round (a transient one: it and every row behind it are tried again)."""
    sent: list[int] = []
    set_aside: dict[int, str] = {}
    for row, outcome in zip(rows, outcomes, strict=True):
        if outcome is None:
            sent.append(row.id)
        elif isinstance(outcome, PERMANENT):
            set_aside[row.id] = f"{type(outcome).__name__}: {outcome}"[:2000]
        else:
            return sent, set_aside, outcome
    return sent, set_aside, None
