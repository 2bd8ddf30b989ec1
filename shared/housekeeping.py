"""Housekeeping: forget sent outbox rows and old inbox marks once no redelivery can need them."""

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import col

from shared.clock import Clock
from shared.db import InboxMessage, OutboxMessage, SessionFactory, transaction

log = logging.getLogger("gendan.housekeeping")


async def purge(sessions: SessionFactory, clock: Clock, *, outbox_keep: timedelta, inbox_keep: timedelta) -> int:
    """Delete sent outbox rows and inbox marks older than their retention; returns rows deleted."""
    now = clock.now()
    async with transaction(sessions) as session:
        sent = await session.exec(delete(OutboxMessage).where(col(OutboxMessage.sent_at) < now - outbox_keep))
        seen = await session.exec(delete(InboxMessage).where(col(InboxMessage.processed_at) < now - inbox_keep))
    return int(sent.rowcount + seen.rowcount)


async def run(sessions: SessionFactory, clock: Clock, *, outbox_keep: timedelta, inbox_keep: timedelta) -> None:
    """Purge once an hour until cancelled."""
    while True:
        try:
            if deleted := await purge(sessions, clock, outbox_keep=outbox_keep, inbox_keep=inbox_keep):
                log.info("purged %d outbox and inbox rows", deleted)
        except Exception:
            log.exception("housekeeping failed; will retry")
        await asyncio.sleep(3600)
