"""One backoff for every retry loop: exponential, capped, and a helper that waits out outages."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from shared.db import is_transient

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff from `base` seconds, doubling per attempt, never longer than `cap`."""

    base: float = 0.2
    cap: float = 10.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt number `attempt` (0 is the first retry)."""
        return min(self.base * 2 ** min(attempt, 16), self.cap)

    async def pause(self, attempt: int) -> None:
        await asyncio.sleep(self.delay(attempt))

    async def until_done(
        self,
        step: Callable[[], Awaitable[T]],
        *,
        log: logging.Logger,
        what: str,
        retry_if: Callable[[BaseException], bool] = is_transient,
    ) -> T:
        """Run `step` until it succeeds, waiting out the failures `retry_if` accepts; others are raised."""
        attempt = 0
        while True:
            try:
                return await step()
            except Exception as error:
                if not retry_if(error):
                    raise
                log.warning("%s failed, retrying: %s: %s", what, type(error).__name__, error)
                await self.pause(attempt)
                attempt += 1
