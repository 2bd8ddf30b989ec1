"""Servers for the tests: named by environment, else testcontainers, else the local start-up.

Under CI (CI=true) a server that cannot be had fails the run; nothing is silently skipped.
"""

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from uuid import uuid4

import pytest

from deploy.infra import Servers, servers
from deploy.system import System


@pytest.fixture(scope="session")
def infra() -> Iterator[Servers]:
    """Kafka and PostgreSQL for the whole run."""
    try:
        with servers() as found:
            yield found
    except Exception as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs Kafka and PostgreSQL and could not get them: {error}")
        raise


def run_id() -> str:
    return uuid4().hex[:8]


@asynccontextmanager
async def started_system(
    infra: Servers, logs: Path, delay: float, env: dict[str, str] | None = None
) -> AsyncIterator[System]:
    """The four services and the simulated partners as processes, on topics and databases of their own."""
    rid = run_id()
    sys_ = System(
        infra.kafka,
        infra.postgres,
        topic_prefix=f"t{rid}.",
        db_prefix=f"gendan_t{rid}_",
        log_dir=logs,
        extra_env={"SIM_DELAY_SECONDS": str(delay), "SIM_JITTER_SECONDS": "0.05", "LOG_LEVEL": "INFO", **(env or {})},
    )
    try:
        await sys_.up()
        yield sys_
    finally:
        sys_.stop()
        await sys_.drop_databases()
        await sys_.remove_kafka()


@pytest.fixture
async def system(
    infra: Servers, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[System]:
    """A system of its own, for a test that kills, cuts or slows it.

    `@pytest.mark.sim_delay(seconds)` slows the simulated partners' answers (default 0.02 s);
    `@pytest.mark.system_env(NAME=value, ...)` sets more environment for every process."""
    delay = request.node.get_closest_marker("sim_delay")
    env = request.node.get_closest_marker("system_env")
    logs = tmp_path_factory.mktemp("system")
    async with started_system(infra, logs, delay.args[0] if delay else 0.02, env.kwargs if env else None) as sys_:
        yield sys_


@pytest.fixture(scope="session")
async def shared_system(infra: Servers, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    """One system for every test that only uses it as a partner or person would (no kills, no cuts).

    Such tests must not assume they are alone: they look only at the orders and messages they made."""
    async with started_system(infra, tmp_path_factory.mktemp("shared-system"), 0.02) as sys_:
        yield sys_
