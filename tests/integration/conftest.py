"""A freshly migrated database of one service, on the real PostgreSQL."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from deploy.infra import Servers
from services.billing.app import SPEC as BILLING
from services.logistics.app import SPEC as LOGISTICS
from services.order.app import SPEC as ORDER
from services.production.app import SPEC as PRODUCTION
from shared import migrations
from shared.clock import FixedClock
from shared.db import asyncpg_dsn, make_engine, make_session_factory
from shared.service import ServiceSpec
from shared.unit_of_work import UnitOfWorkFactory

SPECS = {spec.name: spec for spec in (ORDER, PRODUCTION, LOGISTICS, BILLING)}


def admin_url(infra: Servers) -> str:
    return asyncpg_dsn(infra.postgres)


async def fresh_database(infra: Servers, spec: ServiceSpec) -> str:
    """Create and migrate a throw-away database for one service; returns its asyncpg URL."""
    name = f"gendan_it_{uuid4().hex[:8]}_{spec.name}"
    conn = await asyncpg.connect(admin_url(infra))
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = make_url(infra.postgres).set(database=name).render_as_string(False)
    await asyncio.to_thread(migrations.upgrade, spec.migrations, url)
    return url


async def drop_database(infra: Servers, url: str) -> None:
    conn = await asyncpg.connect(admin_url(infra))
    await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    await conn.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2027, 1, 4, 8, 0, tzinfo=UTC))


@pytest.fixture
async def units(request: pytest.FixtureRequest, infra: Servers, clock: FixedClock) -> AsyncIterator[UnitOfWorkFactory]:
    """Units of work on a fresh database of the service named by the test module's SERVICE."""
    spec = SPECS[request.module.SERVICE]
    url = await fresh_database(infra, spec)
    engine = make_engine(url, pool_size=4)
    try:
        yield UnitOfWorkFactory(make_session_factory(engine), clock, source=spec.name, topic=spec.topic)
    finally:
        await engine.dispose()
        await drop_database(infra, url)
