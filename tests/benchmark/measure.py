"""What both runs share: driving orders in, waiting for them to close, and the numbers taken afterwards."""

import asyncio
import contextlib
import math
import os
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.broker import kafka_options

Submit = Callable[[str], Awaitable[None]]


@dataclass
class Options:
    """The command line: how many orders, how hard, and for how long at most."""

    orders: int = 300
    warmup: int = 20
    concurrency: int = 16
    rate: float = 0.0
    timeout: float = 600.0


@dataclass
class Result:
    """One run's numbers."""

    name: str
    orders: int
    wall: float
    messages: int
    close_ms: list[float]
    hop_ms: list[float]
    transitions: dict[str, list[float]]
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def orders_per_s(self) -> float:
        return self.orders / self.wall

    @property
    def events_per_s(self) -> float:
        return self.messages / self.wall


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] if ordered else math.nan


async def drive(submit: Submit, refs: list[str], opts: Options) -> None:
    """Submit every order, at most `concurrency` at a time, paced to `rate` orders/s when it is set."""
    gate = asyncio.Semaphore(opts.concurrency)
    start = time.monotonic()

    async def one(i: int, ref: str) -> None:
        if opts.rate:
            await asyncio.sleep(max(0.0, start + i / opts.rate - time.monotonic()))
        async with gate:
            await submit(ref)

    await asyncio.gather(*(one(i, ref) for i, ref in enumerate(refs)))


async def wait_closed(dsn: str, prefix: str, count: int, timeout: float) -> None:
    """Poll the order database until `count` orders whose reference starts with `prefix` are closed."""
    conn = await asyncpg.connect(dsn)
    try:
        deadline, closed = time.monotonic() + timeout, 0
        query = "SELECT count(*) FROM orders WHERE external_ref LIKE $1 AND closed_at IS NOT NULL"
        while time.monotonic() < deadline:
            closed = await conn.fetchval(query, prefix + "%")
            if closed >= count:
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"only {closed} of {count} orders {prefix}* closed after {timeout:.0f}s")
    finally:
        await conn.close()


async def latencies(dsn: str, prefix: str) -> tuple[datetime, list[float], list[float], dict[str, list[float]]]:
    """Last close, order-to-close ms, hop ms and hop ms per transition, from the order database."""
    conn = await asyncpg.connect(dsn)
    try:
        orders = await conn.fetch(
            "SELECT id, created_at, closed_at FROM orders WHERE external_ref LIKE $1", prefix + "%"
        )
        rows = await conn.fetch(
            "SELECT t.order_id, t.type, t.occurred_at FROM timeline t JOIN orders o ON o.id = t.order_id"
            " WHERE o.external_ref LIKE $1 ORDER BY t.order_id, t.occurred_at, t.id",
            prefix + "%",
        )
    finally:
        await conn.close()
    close_ms = [(o["closed_at"] - o["created_at"]).total_seconds() * 1000 for o in orders]
    hops: list[float] = []
    transitions: dict[str, list[float]] = defaultdict(list)
    for before, after in zip(rows, rows[1:], strict=False):
        if before["order_id"] == after["order_id"]:
            gap = (after["occurred_at"] - before["occurred_at"]).total_seconds() * 1000
            hops.append(gap)
            transitions[f"{before['type']} -> {after['type']}"].append(gap)
    return max(o["closed_at"] for o in orders), close_ms, hops, dict(transitions)


async def produced(bootstrap: str, prefix: str) -> int:
    """How many messages the topics named with `prefix` hold (sum of end offsets)."""
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap))
    await admin.start()
    try:
        described = await admin.describe_topics([t for t in await admin.list_topics() if t.startswith(prefix)])
    finally:
        await admin.close()
    parts = [TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]]
    if not parts:
        return 0
    consumer = AIOKafkaConsumer(**kafka_options(bootstrap))
    await consumer.start()
    try:
        return sum((await consumer.end_offsets(parts)).values())
    finally:
        await consumer.stop()


async def produced_settled(bootstrap: str, prefix: str, quiet: float = 1.0, timeout: float = 30.0) -> int:
    """The message count once it has stopped moving for `quiet` seconds (the last relays have run)."""
    last, since, deadline = -1, time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = await produced(bootstrap, prefix)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
        await asyncio.sleep(0.2)
    return last


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process, all threads, in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def listening_pids(port: int) -> list[int]:
    """The process listening on a local TCP port (the Kafka broker), found through /proc."""
    sockets = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                sockets.add(f"socket:[{fields[9]}]")
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and any(os.readlink(fd) in sockets for fd in (entry / "fd").iterdir()):
                return [int(entry.name)]
    return []


async def postgres_pids(dsn: str, database_prefix: str) -> list[int]:
    """The server processes working for the run's databases, and the server's own background processes."""
    conn = await asyncpg.connect(dsn)
    try:
        query = "SELECT pid FROM pg_stat_activity WHERE datname LIKE $1 OR backend_type <> 'client backend'"
        return [r["pid"] for r in await conn.fetch(query, database_prefix + "%")]
    finally:
        await conn.close()


def cpu_snapshot(groups: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds used so far by each group of processes."""
    return {name: sum(cpu_seconds(pid) for pid in pids) for name, pids in groups.items()}


@dataclass
class Target:
    """What `measure` drives: a way to submit an order, and where its numbers live."""

    name: str
    submit: Submit
    order_dsn: str
    admin_dsn: str
    bootstrap: str
    topic_prefix: str
    db_prefix: str
    procs: dict[str, list[int]]


async def measure(target: Target, opts: Options) -> Result:
    """Warm up, then push `opts.orders` orders in and take the numbers."""
    t, tag = target, f"{target.topic_prefix.rstrip('.')}-{target.name}"
    warm = [f"WARM-{tag}-{i}" for i in range(opts.warmup)]
    await drive(t.submit, warm, opts)
    await wait_closed(t.order_dsn, f"WARM-{tag}-", len(warm), timeout=120)
    await asyncio.sleep(3.0)  # heartbeat interval: a late consumer-group rebalance lands before the clock starts
    before = await produced_settled(t.bootstrap, t.topic_prefix)
    groups = {
        **t.procs,
        "kafka": listening_pids(int(t.bootstrap.rsplit(":", 1)[1])),
        "postgres": await postgres_pids(t.admin_dsn, t.db_prefix),
        "load generator": [os.getpid()],
    }
    cpu_before = cpu_snapshot(groups)
    started = datetime.now(UTC)
    await drive(t.submit, [f"BENCH-{tag}-{i}" for i in range(opts.orders)], opts)
    await wait_closed(t.order_dsn, f"BENCH-{tag}-", opts.orders, timeout=opts.timeout)
    cpu_after = cpu_snapshot(groups)
    after = await produced_settled(t.bootstrap, t.topic_prefix)
    last, close_ms, hops, transitions = await latencies(t.order_dsn, f"BENCH-{tag}-")
    cpu = {k: cpu_after[k] - cpu_before[k] for k in cpu_after}
    wall = (last - started).total_seconds()
    return Result(t.name, opts.orders, wall, after - before, close_ms, hops, transitions, cpu)
