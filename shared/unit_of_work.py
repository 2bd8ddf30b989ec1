"""The unit of work: one transaction holding a state change, the events it causes and the inbox mark."""

from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Protocol, TypeVar

from sqlalchemy import DateTime, Text, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm.interfaces import ORMOption
from sqlmodel import SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from shared.clock import Clock
from shared.contracts import Envelope, EventData
from shared.db import InboxMessage, OutboxMessage, SessionFactory, transaction
from shared.errors import NotYet
from shared.outbox import outbox_row

M = TypeVar("M", bound=SQLModel)
Key = str | tuple[Any, ...]  # a primary key; a tuple for a composite one


class Emitter(Protocol):
    def __call__(self, payload: EventData, *, occurred_at: datetime | None = None) -> Envelope: ...


@dataclass
class UnitOfWork:
    """What a handler gets: the session, the clock, and a way to emit events into the outbox."""

    session: AsyncSession
    clock: Clock
    source: str
    topic: str
    released: list[str] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    locked: set[tuple[type[SQLModel], Key]] = field(default_factory=set)
    deferred: dict[Hashable, Callable[[], Awaitable[None]]] = field(default_factory=dict)

    def emit(
        self,
        payload: EventData,
        *,
        order_id: str,
        cause: Envelope | None = None,
        correlation_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        """Stage an event on this service's topic; it is published only if the transaction commits.

        Raises Unpublishable when the event could never be published."""
        event = Envelope.new(
            payload,
            source=self.source,
            order_id=order_id,
            clock=self.clock,
            cause=cause,
            correlation_id=correlation_id,
            occurred_at=occurred_at,
        )
        self.outbox.append(outbox_row(event, topic=self.topic, clock=self.clock))
        return event

    def emitter(self, *, order_id: str, correlation_id: str | None) -> "Emitter":
        """`emit` bound to one order and flow, for handlers that raise several events."""
        return partial(self.emit, order_id=order_id, correlation_id=correlation_id)

    async def get(self, model: type[M], key: Key, *, lock: bool = False, options: Sequence[ORMOption] = ()) -> M | None:
        """The row with primary key `key`, locked for this transaction when `lock`.

        A row this transaction locked before is not read again: the session holds it, current and
        still locked (a batch often carries several events of one order)."""
        if lock and (model, key) in self.locked:
            lock = False
        row = await self.session.get(model, key, with_for_update=lock, options=options)
        if lock and row is not None:
            self.locked.add((model, key))
        return row

    async def require(
        self, model: type[M], key: str, *, why: str, lock: bool = False, options: Sequence[ORMOption] = ()
    ) -> M:
        """The row with primary key `key`; if it is not there yet, the message waits for it (NotYet)."""
        row = await self.get(model, key, lock=lock, options=options)
        if row is None:
            raise NotYet(key, why)
        return row

    async def all(self, query: SelectOfScalar[M], *, lock: bool = False) -> list[M]:
        """The rows of a query; with `lock`, locked and read afresh (not a copy loaded before the lock)."""
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return list((await self.session.exec(query)).all())

    async def first(self, query: SelectOfScalar[M], *, lock: bool = False) -> M | None:
        """The first row of a query, or None; `lock` as in `all`."""
        rows = await self.all(query.limit(1), lock=lock)
        return rows[0] if rows else None

    def once(self, key: Hashable, work: Callable[[], Awaitable[None]]) -> None:
        """Do `work` at the end of this transaction, before its events are written, once per `key`: the last
        `work` given for a key replaces the earlier ones (a batch touching one thing many times, e.g. a
        customer's receivables, counts it once, after the last touch)."""
        self.deferred.pop(key, None)
        self.deferred[key] = work

    def release(self, key: str) -> None:
        """Say that `key` now exists, so messages parked waiting for it are replayed after commit."""
        self.released.append(key)

    async def claim(self, consumer: str, message_id: str) -> bool:
        """Record a message as applied; False when this consumer applied it before."""
        return bool(await self.claim_all([(consumer, message_id)]))

    async def claim_all(self, messages: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Record several (consumer, message id) as applied in one statement; the ones not applied before.

        A pair given twice is claimed once (PostgreSQL's DO NOTHING skips a conflict within the statement)."""
        if not messages:
            return set()
        pairs = list(dict.fromkeys(messages))
        params = {"consumers": [c for c, _ in pairs], "ids": [m for _, m in pairs], "now": self.clock.now()}
        return {(c, m) for c, m in (await self.session.exec(CLAIM, params=params)).all()}


# One statement whatever the batch size, so it is compiled and prepared once: the pairs come as two arrays.
CLAIM = (
    insert(InboxMessage.__table__)  # type: ignore[attr-defined]  # Core: the ORM would read the arrays as rows
    .from_select(
        [col(InboxMessage.consumer), col(InboxMessage.message_id), col(InboxMessage.processed_at)],
        select(
            func.unnest(bindparam("consumers", type_=ARRAY(Text))),
            func.unnest(bindparam("ids", type_=ARRAY(Text))),
            bindparam("now", type_=DateTime(timezone=True)),
        ),
    )
    .on_conflict_do_nothing()
    .returning(col(InboxMessage.consumer), col(InboxMessage.message_id))
)


@dataclass
class UnitOfWorkFactory:
    """Opens units of work for one service and wakes its outbox relay after each commit."""

    sessions: SessionFactory
    clock: Clock
    source: str
    topic: str
    on_commit: Callable[[], None] = lambda: None

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[UnitOfWork]:
        async with transaction(self.sessions) as session:
            uow = UnitOfWork(session=session, clock=self.clock, source=self.source, topic=self.topic)
            yield uow
            while uow.deferred:  # in the order last touched; deferred work may defer more
                await uow.deferred.pop(next(iter(uow.deferred)))()
            if uow.outbox:  # one statement for all the events, written last in the transaction
                await session.exec(insert(OutboxMessage), params=uow.outbox)
        if uow.outbox:
            self.on_commit()
