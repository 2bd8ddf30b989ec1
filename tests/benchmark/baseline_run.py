"""The raw baseline run: temporary databases and topics, the raw roles as processes, intake over asyncpg."""

import subprocess
import sys
from urllib.parse import urlsplit
from uuid import uuid4

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from deploy.demo import sample_order
from deploy.infra import ROOT, Servers
from shared.broker import delete_topics, kafka_options
from shared.db import asyncpg_dsn
from tests.benchmark import raw
from tests.benchmark.measure import Options, Result, Target, measure

PARTITIONS = 6  # as the system's topics (GENDAN_TOPIC_PARTITIONS)


def database(dsn: str, name: str) -> str:
    return urlsplit(dsn)._replace(path=f"/{name}").geturl()


async def create_databases(admin_dsn: str, dsns: dict[str, str]) -> None:
    """One database per raw service, with its tables."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        for dsn in dsns.values():
            await conn.execute(f'CREATE DATABASE "{urlsplit(dsn).path[1:]}"')
    finally:
        await conn.close()
    for role, dsn in dsns.items():
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(raw.SCHEMA + (raw.ORDER_SCHEMA if role == "order" else ""))
        finally:
            await conn.close()


async def drop_databases(admin_dsn: str, dsns: dict[str, str]) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        for dsn in dsns.values():
            await conn.execute(f'DROP DATABASE IF EXISTS "{urlsplit(dsn).path[1:]}" WITH (FORCE)')
    finally:
        await conn.close()


async def create_topics(bootstrap: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(prefix + t, PARTITIONS, 1) for t in raw.TOPICS])
    finally:
        await admin.close()


def start_roles(bootstrap: str, prefix: str, dsns: dict[str, str]) -> dict[str, subprocess.Popen[bytes]]:
    """Each raw service and the partners as their own process, as deploy/system.py runs the system."""
    log_dir = ROOT / ".local" / "logs" / "benchmark"
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = {}
    for role in (*raw.ROUTES, "partners"):
        with open(log_dir / f"{prefix}{role}.log", "ab") as log:
            args = [sys.executable, "-m", "tests.benchmark.raw", role, bootstrap, prefix, dsns.get(role, "")]
            procs[role] = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=log)
    return procs


def stop_roles(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in procs.values():
        proc.terminate()
    for proc in procs.values():
        proc.wait(timeout=30)


async def run_baseline(servers: Servers, opts: Options) -> Result:
    """Start the raw roles on fresh topics and databases, take orders in, tear it all down."""
    run = uuid4().hex[:8]
    prefix, admin = f"raw{run}.", asyncpg_dsn(servers.postgres)
    dsns = {role: database(admin, f"gendan_raw{run}_{role}") for role in raw.ROUTES}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    pool: asyncpg.Pool | None = None
    try:
        await create_databases(admin, dsns)
        await create_topics(servers.kafka, prefix)
        procs = start_roles(servers.kafka, prefix, dsns)
        pool = await asyncpg.create_pool(dsns["order"], min_size=1, max_size=opts.concurrency)

        async def submit(ref: str) -> None:
            async with pool.acquire() as conn:
                await raw.intake(conn, sample_order(ref))

        pids = {role: [proc.pid] for role, proc in procs.items()}
        target = Target("raw", submit, dsns["order"], admin, servers.kafka, prefix, f"gendan_raw{run}_", pids)
        return await measure(target, opts)
    finally:
        if pool is not None:
            await pool.close()
        stop_roles(procs)
        await drop_databases(admin, dsns)
        await delete_topics(servers.kafka, prefix)
