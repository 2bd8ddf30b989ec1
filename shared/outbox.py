"""Outbox: events are staged in the transaction of the state change; a relay publishes them."""

import asyncio
import contextlib
import logging
from typing import Any

from faststream.kafka import KafkaBroker
from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from shared.clock import Clock
from shared.contracts import Envelope
from shared.db import OutboxMessage, SessionFactory, transaction
from shared.topics import physical

log = logging.getLogger("gendan.outbox")

RELAY_LOCK = 7_310_042  # advisory lock: one relay per database at a time keeps per-order order


def outbox_row(event: Envelope, *, topic: str, clock: Clock) -> dict[str, Any]:
    """The outbox row (column values) that will carry `event` to `topic`, keyed by its order id."""
    return {
        "event_id": event.id,
        "topic": topic,
        "key": event.order_id,
        "event_type": event.type,
        "payload": event.model_dump_json(),
        "created_at": clock.now(),
    }


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
        pause = self.poll_seconds
        while True:
            try:
                sent = await self.relay_once()
                pause = self.poll_seconds
            except Exception:
                log.exception("outbox relay round failed; retrying")
                sent, pause = 0, min(pause * 2, 5.0)
            if sent < self.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=pause)
                self._wake.clear()

    async def relay_once(self) -> int:
        """Publish one batch; returns how many rows were sent."""
        async with transaction(self.sessions) as session:
            locked = (await session.exec(select(func.pg_try_advisory_xact_lock(RELAY_LOCK)))).one()
            if not locked:
                return 0
            query = (
                sa_select(  # five columns: more than sqlmodel's select is typed for
                    col(OutboxMessage.id),
                    col(OutboxMessage.topic),
                    col(OutboxMessage.key),
                    col(OutboxMessage.event_type),
                    col(OutboxMessage.payload),
                )
                .where(col(OutboxMessage.sent_at).is_(None))
                .order_by(col(OutboxMessage.id))
                .limit(self.batch_size)
            )
            rows = (await session.exec(query)).all()  # type: ignore[call-overload]  # runs; typed up to 4 columns
            if not rows:
                return 0
            pending = [
                await self.broker.publish(
                    row.payload.encode(),
                    physical(row.topic, self.prefix),
                    key=row.key.encode(),
                    headers={"content-type": "application/json", "event-type": row.event_type},
                    no_confirm=True,
                )
                for row in rows
            ]
            await asyncio.gather(*pending)
            ids = [row.id for row in rows]
            await session.exec(
                update(OutboxMessage).where(col(OutboxMessage.id).in_(ids)).values(sent_at=self.clock.now())
            )
        return len(rows)
