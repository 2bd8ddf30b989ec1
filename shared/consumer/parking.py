"""Parking: a message that arrives before what it depends on waits in the database, and is replayed
when that appears (or by the sweep), or dead-lettered when it has waited too long."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import col, select

from shared import signals
from shared.backoff import Backoff
from shared.consumer.records import Record
from shared.db import ParkedMessage
from shared.errors import NotYet
from shared.exceptions import stopped_waiting
from shared.unit_of_work import UnitOfWorkFactory

log = logging.getLogger("gendan.consumer")

# Settles a parked message again; False when it must stay parked.
Redeliver = Callable[[str, bytes, Record, int], Awaitable[bool]]
Reject = Callable[[bytes, Record, str], Awaitable[None]]


@dataclass
class Parking:
    """The parked messages of one service."""

    units: UnitOfWorkFactory
    backoff: Backoff
    timeout: timedelta = timedelta(days=7)

    async def park(self, body: bytes, record: Record, wait: NotYet) -> None:
        """Keep a message until `wait.key` appears; waits out database outages (dropping it is not an option)."""
        await self.backoff.until_done(lambda: self._store(body, record, wait), log=log, what="parking")
        signals.message(self.units.source, record.topic, "parked")
        log.info("parked %s@%s/%s until %s: %s", record.topic, record.partition, record.offset, wait.key, wait)

    async def _store(self, body: bytes, record: Record, wait: NotYet) -> None:
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

    async def unpark(self, parked_id: int | None) -> None:
        """Forget a parked message that has been settled otherwise (dead-lettered, ignored)."""
        if parked_id is not None:
            await self.backoff.until_done(lambda: self._delete(parked_id), log=log, what="unparking")

    async def _delete(self, parked_id: int) -> None:
        async with self.units() as uow:
            unparked = delete(ParkedMessage).where(col(ParkedMessage.id) == parked_id)
            waited_for = (await uow.session.exec(unparked.returning(col(ParkedMessage.waits_for)))).scalar()
            if waited_for is not None:  # settled otherwise (dead-lettered): it waits no more either
                await stopped_waiting(uow, waited_for, "the waiting message went to the dead-letter topic")

    async def replay(self, key: str, redeliver: Redeliver, reject: Reject) -> None:
        """Retry the messages parked waiting for `key`, oldest first; a failure is left to the sweep."""
        try:
            await self._replay(key, redeliver, reject)
        except Exception:
            log.exception("replaying messages parked for %s failed; the sweep will retry", key)

    async def _replay(self, key: str, redeliver: Redeliver, reject: Reject) -> None:
        async with self.units() as uow:
            query = select(ParkedMessage).where(ParkedMessage.waits_for == key).order_by(col(ParkedMessage.id))
            rows = (await uow.session.exec(query)).all()
        for row in rows:
            assert row.id is not None
            record = Record(row.topic, row.partition, row.offset, row.key, row.headers)
            delivered = await redeliver(row.topic, row.body, record, row.id)
            if not delivered and row.parked_at < self.units.clock.now() - self.timeout:
                await reject(row.body, record, f"parked too long: {row.reason} (waited for {row.waits_for})")
                await self.unpark(row.id)

    async def sweep(
        self,
        redeliver: Redeliver,
        reject: Reject,
        *,
        every: float = 2.0,
        recent: timedelta = timedelta(minutes=1),
        all_every: int = 150,
    ) -> None:
        """Retry parked messages: recent ones every `every` seconds (a release may have raced their
        parking), all of them every `all_every` rounds (and dead-letter those parked too long)."""
        rounds = 0
        while True:
            await asyncio.sleep(every)
            rounds += 1
            since = None if rounds % all_every == 0 else self.units.clock.now() - recent
            try:
                for key in await self.keys(since):
                    await self.replay(key, redeliver, reject)
            except Exception:
                log.exception("parked-message sweep failed; will retry")

    async def keys(self, since: datetime | None = None) -> list[str]:
        """What parked messages (parked since `since`, or all) are waiting for."""
        query = select(ParkedMessage.waits_for).distinct()
        if since is not None:
            query = query.where(col(ParkedMessage.parked_at) >= since)
        async with self.units() as uow:
            return list((await uow.session.exec(query)).all())
