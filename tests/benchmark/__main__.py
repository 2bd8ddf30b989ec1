"""`python -m tests.benchmark [--orders N]`: N orders through the system and through the raw baseline.

Finds or starts Kafka and PostgreSQL like the demo (deploy/infra.py), runs the four services and the
simulated partners with zero partner delay on fresh topics and databases, posts N orders over HTTP and
waits until all are closed; then does the same hops with plain aiokafka + asyncpg, and prints both and
their ratio. Each run stops by itself after --timeout seconds. Everything stays on the loopback interface.
"""

import argparse
import asyncio
import os
import platform
import sys

import asyncpg

from deploy.infra import servers
from shared.db import asyncpg_dsn
from tests.benchmark.baseline_run import run_baseline
from tests.benchmark.measure import Options, Result, pct
from tests.benchmark.system_run import run_system

LEGEND = """\
hop: the gap between consecutive lifecycle events of one order in the order database's timeline, by
occurred_at (12 per order). order-to-close: orders.closed_at - created_at. events/s: messages produced
on the run's topics (internal events and partner messages) / wall time from first submit to last close.
CPU: user+system time of each process during the measured window; kafka is the whole broker, postgres
the backends of the run's databases plus the server's background processes. See docs/benchmarks.md."""

CPU_ROWS = ("order", "production", "logistics", "billing", "partners", "kafka", "postgres", "load generator")


def rows(results: list[Result]) -> list[tuple[str, list[float], str]]:
    """(label, one value per run, format) for the main table."""
    table = [
        ("orders/s", [r.orders_per_s for r in results], ".1f"),
        ("events/s (messages produced)", [r.events_per_s for r in results], ".0f"),
        ("messages per order", [r.messages / r.orders for r in results], ".1f"),
        ("wall time s", [r.wall for r in results], ".1f"),
        ("order-to-close p50 ms", [pct(r.close_ms, 50) for r in results], ".0f"),
        ("order-to-close p99 ms", [pct(r.close_ms, 99) for r in results], ".0f"),
        ("hop p50 ms", [pct(r.hop_ms, 50) for r in results], ".1f"),
        ("hop p99 ms", [pct(r.hop_ms, 99) for r in results], ".1f"),
    ]
    for name in CPU_ROWS:
        table.append((f"CPU ms/order {name}", [1000 * r.cpu.get(name, 0.0) / r.orders for r in results], ".1f"))
    table.append(("CPU ms/order total", [1000 * sum(r.cpu.values()) / r.orders for r in results], ".1f"))
    return table


def report(results: list[Result]) -> str:
    """The results side by side; with two runs, the ratio system/raw."""
    head = f"{'':<32}" + "".join(f"{r.name:>12}" for r in results) + ("   system/raw" if len(results) == 2 else "")
    lines = [head]
    for label, values, fmt in rows(results):
        line = f"{label:<32}" + "".join(f"{v:>12{fmt}}" for v in values)
        if len(values) == 2 and values[1]:
            line += f"{values[0] / values[1]:>12.0%}"
        lines.append(line)
    lines += ["", f"{'hop p50 ms by transition':<66}" + "".join(f"{r.name:>10}" for r in results)]
    for transition in results[0].transitions:
        values = [pct(r.transitions.get(transition, []), 50) for r in results]
        lines.append(f"{transition:<66}" + "".join(f"{v:>10.1f}" for v in values))
    return "\n".join([*lines, "", LEGEND])


async def machine(postgres: str) -> str:
    """Cores, memory, Python and PostgreSQL versions of this run."""
    conn = await asyncpg.connect(asyncpg_dsn(postgres))
    try:
        pg = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}, PostgreSQL {pg}"


async def main(opts: Options, only: str | None) -> int:
    runs = [("system", run_system), ("raw", run_baseline)]
    with servers() as found:
        print(f"Kafka {found.kafka}, PostgreSQL {found.postgres} ({found.how}); {await machine(found.postgres)}")
        pace = f"{opts.rate:g} orders/s" if opts.rate else "as fast as accepted"
        print(f"{opts.orders} orders (+{opts.warmup} warm-up), {opts.concurrency} in flight, {pace}", flush=True)
        results = []
        for name, run in runs:
            if only and name != only:
                continue
            try:
                async with asyncio.timeout(opts.timeout):
                    results.append(await run(found, opts))
            except TimeoutError:
                print(f"{name} run did not finish within {opts.timeout:.0f}s; logs in .local/logs/benchmark/")
                return 1
            print(f"{name}: {opts.orders} orders closed in {results[-1].wall:.1f}s", flush=True)
    print()
    print(report(results))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=300, help="orders measured per run (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="orders pushed through first, not measured")
    parser.add_argument("--concurrency", type=int, default=16, help="orders being submitted at once")
    parser.add_argument("--rate", type=float, default=0.0, help="submit at this many orders/s (default: at once)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds one run may take in all")
    parser.add_argument("--only", choices=("system", "raw"), help="run only one side")
    args = parser.parse_args()
    options = Options(args.orders, args.warmup, args.concurrency, args.rate, args.timeout)
    sys.exit(asyncio.run(main(options, args.only)))
