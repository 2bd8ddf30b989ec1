"""The watcher: time-based rules (no report for N hours, past due, overdue) run on the service's clock.

One watcher per service process; with several replicas running, an advisory lock lets one of them
check at a time, and the exceptions' stable ids make a repeated check harmless anyway. Tests call
`tick()` after moving the clock; nothing sleeps there.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlmodel import func, select

from shared.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("gendan.watcher")

WATCH_LOCK = 5_120_331  # advisory lock: one watcher of a database checks at a time

Rule = Callable[[UnitOfWork], Awaitable[None]]


@dataclass
class Watcher:
    """Runs each rule in its own transaction, every `every` seconds."""

    units: UnitOfWorkFactory
    rules: Sequence[Rule]
    every: float = 60.0

    async def run(self) -> None:
        """Check until cancelled; a failing rule is logged and tried again next round."""
        while True:
            await asyncio.sleep(self.every)
            await self.tick()

    async def tick(self) -> int:
        """Check every rule once; returns how many ran (0 when another replica holds the lock)."""
        ran = 0
        for rule in self.rules:
            try:
                async with self.units() as uow:
                    if not (await uow.session.exec(select(func.pg_try_advisory_xact_lock(WATCH_LOCK)))).one():
                        return ran
                    await rule(uow)
                ran += 1
            except Exception:
                log.exception("watch rule %s failed; will retry", getattr(rule, "__name__", rule))
        return ran
