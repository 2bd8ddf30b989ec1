"""`python -m tests.chaos --runs N [--servers] [--storm M]`: faults under load, counted.

One system (four services and the simulated partners as processes, on the servers the demo would use);
N rounds of each fault while 20 orders are in flight: `kill -9` of each service in turn (restarted one
second later), and every database connection of the system cut five times; with `--servers` also the
broker and PostgreSQL restarted (only on this clone's own local servers: `deploy/local`, never ones
named by the environment, which others may share). After each round it counts orders lost (not
closed within the timeout), side effects duplicated (work orders, shipments, invoices, payments,
closes beyond one per order and installment) and the time from the fault to the last order closed.

`--storm M` first sends M malformed messages of every kind across the partner topics, with good orders
taken in among them: every bad one must be dead-lettered with its reason, every order must close, and
no process may have restarted. Loopback only; stops by itself (--timeout per round).
Results: docs/reliability.md.
"""

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from deploy.infra import LOCAL, servers
from deploy.system import SERVICES, System
from shared import topics
from shared.broker import delete_topics, kafka_options
from shared.topics import dlq
from tests.e2e.flows import expected_invoices, order_body, post_orders, rows
from tests.e2e.test_database_outage import cut_connections


@dataclass
class Round:
    fault: str
    lost: int
    duplicated: int
    recovery_s: float


async def closed(system: System, ids: list[str], timeout: float) -> set[str]:
    """The orders closed before the timeout."""
    deadline = time.monotonic() + timeout
    done: set[str] = set()
    while time.monotonic() < deadline and len(done) < len(ids):
        found = await rows(
            system, "order", "SELECT id FROM orders WHERE id = ANY($1::text[]) AND status = 'closed'", ids
        )
        done = {r["id"] for r in found}
        await asyncio.sleep(0.3)
    return done


async def duplicated(system: System, orders: list[dict[str, Any]], bodies: list[dict[str, Any]]) -> int:
    """Side effects beyond one per order (one per installment for invoices and payments)."""
    ids = [o["id"] for o in orders]
    per_order = "SELECT order_id, count(*) AS n FROM {} WHERE order_id = ANY($1::text[]) GROUP BY order_id"
    closes = "SELECT order_id, count(*) AS n FROM timeline WHERE type = 'order.closed' AND order_id = ANY($1::text[])"
    counts = {
        "production": (await rows(system, "production", per_order.format("work_orders"), ids), lambda b: 1),
        "logistics": (await rows(system, "logistics", per_order.format("shipments"), ids), lambda b: 1),
        "invoices": (await rows(system, "billing", per_order.format("invoices"), ids), expected_invoices),
        "payments": (await rows(system, "billing", per_order.format("payments"), ids), expected_invoices),
        "closes": (await rows(system, "order", closes + " GROUP BY order_id", ids), lambda b: 1),
    }
    body_of = {o["id"]: b for o, b in zip(orders, bodies, strict=True)}
    return sum(max(r["n"] - allowed(body_of[r["order_id"]]), 0) for found, allowed in counts.values() for r in found)


async def kill(system: System, victim: str) -> None:
    system.kill(victim)
    await asyncio.sleep(1.0)
    system.start(victim)
    await system.wait_healthy(victim)


async def cut(system: System) -> None:
    for _ in range(5):
        await asyncio.sleep(0.3)
        await cut_connections(system)


async def restart_server(which: str) -> None:
    """Stop and start this clone's local broker or PostgreSQL (what a server restart or failover does)."""
    script = LOCAL / f"{which}.sh"
    for command in ("stop", "start"):
        done = await asyncio.create_subprocess_exec(
            str(script), command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        if await done.wait() != 0:
            raise RuntimeError(f"{script} {command} failed")


# --- the malformed-message storm ---------------------------------------------------------------------

STORM_TOPICS = (
    topics.ERP_ORDERS,
    topics.MES_EVENTS,
    topics.WMS_EVENTS,
    topics.CARRIER_TRACKING,
    topics.FINANCE_PAYMENTS,
)


def malformed(n: int, run: str) -> bytes:
    """The n-th bad message: cycles through the ways a careless partner breaks a message."""
    now = datetime.now(UTC).isoformat()
    kinds: list[Any] = [
        b"not json at all",
        b"",
        b"\xff\xfe\x00garbage",
        json.dumps([1, 2, 3]).encode(),
        json.dumps({"message_id": f"{run}-{n}"}).encode(),  # every other field missing
        json.dumps({"message_id": f"{run}-{n}", "occurred_at": "yesterday"}).encode(),
        json.dumps({"message_id": f"{run}-{n}", "occurred_at": now, "type": "teleported"}).encode(),
        json.dumps({"message_id": "x" * 5000, "occurred_at": now}).encode(),
        json.dumps({"message_id": f"{run}-{n}", "occurred_at": now, "amount": "-5", "currency": "usd"}).encode(),
        b'{"message_id": "' + f"{run}-{n}".encode() + b'", "occurred_at": "' + now.encode() + b'", "x": \x00}',
    ]
    return kinds[n % len(kinds)]


async def storm(system: System, count: int, timeout: float) -> dict[str, Any]:
    """`count` bad messages over the partner topics with 20 good orders among them; what came of it."""
    run = uuid4().hex[:8]
    pids = {name: proc.pid for name, proc in system.procs.items()}
    producer = AIOKafkaProducer(**kafka_options(system.kafka), linger_ms=5, max_batch_size=512 * 1024)
    await producer.start()
    sent: dict[str, int] = dict.fromkeys(STORM_TOPICS, 0)
    bodies = [order_body(n) for n in range(20)]
    orders: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        for n in range(count):
            topic = STORM_TOPICS[n % len(STORM_TOPICS)]
            await producer.send(system.topic_prefix + topic, malformed(n, run), key=f"{run}-{n}".encode())
            sent[topic] += 1
            if n == count // 2:  # good orders in the middle of the storm
                orders = await post_orders(system, bodies)
        await producer.flush()
    finally:
        await producer.stop()
    done = await closed(system, [o["id"] for o in orders], timeout)
    lettered = await dead_letters(system, run, STORM_TOPICS, sum(sent.values()), timeout)
    alive = {name: proc.pid for name, proc in system.procs.items() if proc.poll() is None}
    return {
        "sent": sum(sent.values()),
        "dead_lettered": sum(lettered.values()),
        "with_reason": sum(lettered.values()),
        "orders": len(orders),
        "orders_closed": len(done),
        "restarted": sorted(name for name, pid in pids.items() if alive.get(name) != pid),
        "seconds": round(time.monotonic() - started, 1),
    }


async def dead_letters(
    system: System, run: str, where: tuple[str, ...], expected: int, timeout: float
) -> dict[str, int]:
    """Dead letters of this storm (by key) with a reason, per topic, read until all are there or time is up."""
    reader = AIOKafkaConsumer(
        *(system.topic_prefix + dlq(t) for t in where),
        **kafka_options(system.kafka),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await reader.start()
    found: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    try:
        while sum(found.values()) < expected and time.monotonic() < deadline:
            for records in (await reader.getmany(timeout_ms=1000, max_records=5000)).values():
                for record in records:
                    headers = dict(record.headers or ())
                    if record.key and record.key.startswith(run.encode()) and headers.get("x-dlq-reason"):
                        found[record.topic] = found.get(record.topic, 0) + 1
    finally:
        await reader.stop()
    return found


async def one_round(system: System, fault: str, act: Callable[[], Awaitable[None]], timeout: float) -> Round:
    bodies = [order_body(n) for n in range(20)]
    orders = await post_orders(system, bodies)
    await asyncio.sleep(0.4)
    started = time.monotonic()
    await act()
    done = await closed(system, [o["id"] for o in orders], timeout)
    recovery = time.monotonic() - started
    return Round(fault, len(orders) - len(done), await duplicated(system, orders, bodies), recovery)


async def run(runs: int, timeout: float, logs: Path, *, restarts: bool, storm_size: int) -> list[Round]:
    results: list[Round] = []
    with servers() as found:
        if restarts and found.how != "local":
            raise SystemExit("--servers restarts only this clone's own local servers (found: servers by environment)")
        rid = uuid4().hex[:8]
        system = System(
            found.kafka,
            found.postgres,
            topic_prefix=f"chaos{rid}.",
            db_prefix=f"gendan_chaos{rid}_",
            log_dir=logs,
            extra_env={"SIM_DELAY_SECONDS": "0.1", "SIM_JITTER_SECONDS": "0.05"},
        )
        try:
            await system.up()
            if storm_size:
                print(f"storm: {await storm(system, storm_size, timeout)}", flush=True)
            for n in range(runs):
                for victim in SERVICES:
                    results.append(await one_round(system, f"kill -9 {victim}", partial(kill, system, victim), timeout))
                results.append(await one_round(system, "database connections cut", partial(cut, system), timeout))
                if restarts:
                    for server in ("kafka", "postgres"):
                        fault = f"{'broker' if server == 'kafka' else 'PostgreSQL'} restart"
                        results.append(await one_round(system, fault, partial(restart_server, server), timeout))
                print(f"round {n + 1}/{runs}: {results[-7 if restarts else -5 :]}", flush=True)
        finally:
            system.stop()
            await system.drop_databases()
            await delete_topics(found.kafka, system.topic_prefix)
    return results


def report(results: list[Round]) -> str:
    lines = [
        "| fault | runs | orders lost | side effects duplicated | recovery s (median / max) |",
        "|---|---:|---:|---:|---:|",
    ]
    for fault in dict.fromkeys(r.fault for r in results):
        mine = [r for r in results if r.fault == fault]
        times = [r.recovery_s for r in mine]
        lines.append(
            f"| {fault} | {len(mine)} | {sum(r.lost for r in mine)} | {sum(r.duplicated for r in mine)} |"
            f" {statistics.median(times):.1f} / {max(times):.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="rounds of each fault (default 20)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds a round's orders may take to close")
    parser.add_argument("--servers", action="store_true", help="also restart the local broker and PostgreSQL")
    parser.add_argument("--storm", type=int, default=0, help="malformed messages to send first (e.g. 10000)")
    args = parser.parse_args()
    logs = Path(".local/logs/chaos")
    logs.mkdir(parents=True, exist_ok=True)
    results = asyncio.run(run(args.runs, args.timeout, logs, restarts=args.servers, storm_size=args.storm))
    print(report(results) if results else "no rounds")


if __name__ == "__main__":
    main()
