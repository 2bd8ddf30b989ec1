"""`python -m tests.chaos --runs N`: faults under load, counted.

One system (four services and the simulated partners as processes, on the servers the demo would use);
N rounds of each fault while 20 orders are in flight: `kill -9` of each service in turn (restarted one
second later), and every database connection of the system cut five times. After each round it counts
orders lost (not closed within the timeout), side effects duplicated (work orders, shipments,
invoices, payments, closes beyond one per order and installment) and the time from the fault to the
last order closed. Loopback only; stops by itself (--timeout per round). Results: docs/reliability.md.
"""

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from uuid import uuid4

from deploy.infra import servers
from deploy.system import SERVICES, System
from shared.broker import delete_topics
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


async def one_round(system: System, fault: str, act: Callable[[], Awaitable[None]], timeout: float) -> Round:
    bodies = [order_body(n) for n in range(20)]
    orders = await post_orders(system, bodies)
    await asyncio.sleep(0.4)
    started = time.monotonic()
    await act()
    done = await closed(system, [o["id"] for o in orders], timeout)
    recovery = time.monotonic() - started
    return Round(fault, len(orders) - len(done), await duplicated(system, orders, bodies), recovery)


async def run(runs: int, timeout: float, logs: Path) -> list[Round]:
    results: list[Round] = []
    with servers() as found:
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
            for n in range(runs):
                for victim in SERVICES:
                    results.append(await one_round(system, f"kill -9 {victim}", partial(kill, system, victim), timeout))
                results.append(await one_round(system, "database connections cut", partial(cut, system), timeout))
                print(f"round {n + 1}/{runs}: {results[-5:]}", flush=True)
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
    args = parser.parse_args()
    logs = Path(".local/logs/chaos")
    logs.mkdir(parents=True, exist_ok=True)
    print(report(asyncio.run(run(args.runs, args.timeout, logs))))


if __name__ == "__main__":
    main()
