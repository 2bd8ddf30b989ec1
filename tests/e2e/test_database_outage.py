"""Database connections cut while orders are in flight: every order still closes, exactly once."""

import asyncio

import asyncpg
import pytest

from deploy.system import System
from shared.db import asyncpg_dsn
from tests.e2e.flows import assert_exactly_once, order_body, post_orders, wait_closed

pytestmark = pytest.mark.e2e


async def cut_connections(system: System) -> int:
    """Terminate every server connection of the system's databases, as a database failover would."""
    conn = await asyncpg.connect(asyncpg_dsn(system.postgres))
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname LIKE $1 AND pid <> pg_backend_pid()",
            f"{system.db_prefix}%",
        )
        return len(rows)
    finally:
        await conn.close()


@pytest.mark.sim_delay(0.1)
async def test_orders_survive_database_connections_being_cut(system: System) -> None:
    bodies = [order_body(n) for n in range(20)]
    orders = await post_orders(system, bodies)

    cut = 0
    for _ in range(5):
        await asyncio.sleep(0.3)
        cut += await cut_connections(system)

    await wait_closed(system, [o["id"] for o in orders])
    await assert_exactly_once(system, orders, bodies)
    assert cut >= 5, "no service connection was open to cut: nothing was tested"
