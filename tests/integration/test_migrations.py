"""Each service's migrations build exactly the tables its models (and the shared plumbing) declare."""

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from deploy.infra import Servers
from shared.db import make_engine
from tests.integration.conftest import SPECS, drop_database, fresh_database

pytestmark = pytest.mark.integration


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    present = set(connection.dialect.get_table_names(connection))
    # The four services' models share one metadata: another service's tables are not missing here.
    return [d for d in compare_metadata(context, SQLModel.metadata) if not _other_services_table(d, present)]


def _other_services_table(diff: Any, present: set[str]) -> bool:
    if not isinstance(diff, tuple) or diff[0] not in ("add_table", "add_index"):
        return False
    table = diff[1] if diff[0] == "add_table" else diff[1].table
    return table.name not in present


@pytest.mark.parametrize("service", sorted(SPECS))
async def test_migrations_match_the_models(infra: Servers, service: str) -> None:
    url = await fresh_database(infra, SPECS[service])
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            diffs = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
        await drop_database(infra, url)
    assert diffs == [], f"{service}: migrations and models disagree: {diffs}"
