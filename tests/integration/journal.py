"""What a unit of work committed, for handler tests: the events in the outbox and the exceptions raised."""

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from sqlmodel import col, select

from shared.contracts import Envelope
from shared.db import ExceptionRecord, OutboxMessage
from shared.unit_of_work import UnitOfWork, UnitOfWorkFactory
from shared.watcher import Rule, Watcher

M = TypeVar("M")


async def outbox(units: UnitOfWorkFactory) -> list[Envelope]:
    """Every event committed so far, in order."""
    async with units() as uow:
        rows = (await uow.session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    events = [Envelope.model_validate_json(r.payload) for r in rows]
    assert [e.type for e in events] == [r.event_type for r in rows]
    return events


async def handle(
    units: UnitOfWorkFactory, handler: Callable[[M, UnitOfWork], Awaitable[None]], message: M
) -> list[Envelope]:
    """Apply one message in one unit of work; the events that one commit wrote."""
    before = len(await outbox(units))
    async with units() as uow:
        await handler(message, uow)
    return (await outbox(units))[before:]


async def watch(units: UnitOfWorkFactory, rules: Sequence[Rule]) -> list[Envelope]:
    """Run the watch rules once (each must succeed); the events they committed."""
    before = len(await outbox(units))
    assert await Watcher(units, rules).tick() == len(rules)
    return (await outbox(units))[before:]


async def record(units: UnitOfWorkFactory, ident: str) -> ExceptionRecord:
    """The stored exception with this id."""
    async with units() as uow:
        found = await uow.get(ExceptionRecord, ident)
    assert found is not None
    return found


def types(events: list[Envelope]) -> list[str]:
    """The events' types, in order."""
    return [e.type for e in events]
