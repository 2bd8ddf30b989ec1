"""Housekeeping keeps unsent events and recent inbox marks, and forgets the rest."""

from datetime import timedelta
from uuid import uuid4

import pytest
from sqlmodel import select

from shared import housekeeping
from shared.clock import FixedClock
from shared.db import InboxMessage, OutboxMessage
from shared.unit_of_work import UnitOfWorkFactory

pytestmark = pytest.mark.integration
SERVICE = "order"


def outbox(clock: FixedClock, sent: bool) -> OutboxMessage:
    return OutboxMessage(
        event_id=uuid4(),
        topic="order.events",
        key="SO1",
        event_type="order.accepted",
        payload="{}",
        created_at=clock.now(),
        sent_at=clock.now() if sent else None,
    )


async def test_purge_forgets_only_what_no_redelivery_needs(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    async with units() as uow:
        uow.session.add_all([outbox(clock, sent=True), outbox(clock, sent=False)])
        await uow.claim("c", "old")
    clock.advance(timedelta(days=2))
    async with units() as uow:
        await uow.claim("c", "recent")

    deleted = await housekeeping.purge(
        units.sessions, clock, outbox_keep=timedelta(hours=24), inbox_keep=timedelta(days=1)
    )

    async with units() as uow:
        left = (await uow.session.exec(select(OutboxMessage))).all()
        inbox = (await uow.session.exec(select(InboxMessage.message_id))).all()
    assert deleted == 2
    assert [row.sent_at for row in left] == [None]
    assert inbox == ["recent"]
