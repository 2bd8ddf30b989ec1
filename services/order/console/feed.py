"""The console's live feed: one task per process looks once a second for orders and exceptions changed since it
last looked and tells every open page (server-sent events); the browser never polls."""

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text

from shared.db import SessionFactory

log = logging.getLogger("gendan.order.console")
EVERY = 1.0  # seconds between looks
KEEPALIVE = 15.0  # seconds between comments that keep proxies from closing an idle stream
LIFETIME = 300.0  # seconds before a stream ends (the browser reconnects at once): no connection pins a shutdown
BATCH = 500
CHANGED = {
    "orders": "SELECT id, updated_at FROM orders WHERE updated_at >= :since ORDER BY updated_at DESC LIMIT :n",
    "board": "SELECT order_id, updated_at FROM board WHERE updated_at >= :since ORDER BY updated_at DESC LIMIT :n",
}


@dataclass
class Watermark:
    """How far one table has been seen: the newest time, and the rows seen at exactly that time."""

    since: datetime | None = None
    seen: set[tuple[str, datetime]] = field(default_factory=set)

    def advance(self, rows: list[tuple[str, datetime]]) -> list[str]:
        """The order ids among `rows` not seen before; moves the mark to the newest of them."""
        fresh = [(i, at) for i, at in rows if (i, at) not in self.seen]
        if rows:
            newest = max(at for _, at in rows)
            if self.since is None or newest > self.since:
                self.since, self.seen = newest, set()
            self.seen |= {(i, at) for i, at in rows if at == self.since}
        return list(dict.fromkeys(i for i, _ in fresh))


@dataclass
class Hub:
    """Fans the changes out to every subscriber; looks only while someone listens."""

    sessions: SessionFactory
    queues: set["asyncio.Queue[tuple[str, list[str]]]"] = field(default_factory=set)
    marks: dict[str, Watermark] = field(default_factory=lambda: {name: Watermark() for name in CHANGED})
    task: "asyncio.Task[None] | None" = None

    async def look(self) -> None:
        """One look at both tables; tells the subscribers what changed."""
        async with self.sessions() as session:
            for name, sql in CHANGED.items():
                mark = self.marks[name]
                if mark.since is None:  # first look: start from now, nothing to tell
                    now = (await session.exec(text("SELECT now()"))).scalar_one()  # type: ignore[call-overload]
                    mark.since = now
                    continue
                found = await session.exec(text(sql), params={"since": mark.since, "n": BATCH})  # type: ignore[call-overload]
                ids = mark.advance([(r[0], r[1]) for r in found.all()])
                if ids:
                    self.publish(name, ids)

    def publish(self, name: str, ids: list[str]) -> None:
        for queue in self.queues:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait((name, ids))

    async def run(self) -> None:
        while self.queues:
            try:
                await self.look()
            except Exception:  # a database hiccup must not end the feed
                log.warning("console feed could not look for changes", exc_info=True)
            await asyncio.sleep(EVERY)
        self.task = None

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator["asyncio.Queue[tuple[str, list[str]]]"]:
        queue: asyncio.Queue[tuple[str, list[str]]] = asyncio.Queue(maxsize=100)
        self.queues.add(queue)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.run(), name="console-feed")
        try:
            yield queue
        finally:
            self.queues.discard(queue)


def message(event: str, data: object) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def stream(hub: Hub) -> AsyncIterator[str]:
    """The events one page receives: `orders` and `board` with the order ids changed, and keep-alives."""
    loop = asyncio.get_running_loop()
    ends = loop.time() + LIFETIME
    async with hub.subscribe() as queue:
        yield "retry: 1000\n\n"
        while loop.time() < ends:
            try:
                name, ids = await asyncio.wait_for(queue.get(), timeout=min(KEEPALIVE, max(0.1, ends - loop.time())))
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            yield message(name, ids)
            if name == "board":  # the table shows each order's worst open exception
                yield message("orders", ids)
