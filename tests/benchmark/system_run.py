"""The system under test: the four services and the simulated partners as processes (deploy/system.py)."""

from uuid import uuid4

import httpx

from deploy.demo import sample_order
from deploy.infra import ROOT, Servers
from deploy.system import System
from shared.broker import delete_topics
from shared.db import asyncpg_dsn
from tests.benchmark.measure import Options, Result, Target, measure

NO_DELAY = {"SIM_DELAY_SECONDS": "0", "SIM_JITTER_SECONDS": "0"}


async def run_system(servers: Servers, opts: Options) -> Result:
    """Start a fresh system on its own topics and databases, post the orders over HTTP, tear it all down."""
    run = uuid4().hex[:8]
    prefix = f"bench{run}."
    system = System(
        servers.kafka,
        servers.postgres,
        topic_prefix=prefix,
        db_prefix=f"gendan_bench{run}_",
        log_dir=ROOT / ".local" / "logs" / "benchmark",
        extra_env=NO_DELAY,
    )
    try:
        await system.up()
        limits = httpx.Limits(max_connections=opts.concurrency)
        async with system.client("order", timeout=60, limits=limits) as client:

            async def submit(ref: str) -> None:
                (await client.post("/orders", json=sample_order(ref))).raise_for_status()

            procs = {name.replace("simulators", "partners"): [p.pid] for name, p in system.procs.items()}
            order_dsn, admin_dsn = asyncpg_dsn(system.database_url("order")), asyncpg_dsn(servers.postgres)
            target = Target("system", submit, order_dsn, admin_dsn, servers.kafka, prefix, system.db_prefix, procs)
            return await measure(target, opts)
    finally:
        system.stop()
        await system.drop_databases()
        await delete_topics(servers.kafka, prefix)
