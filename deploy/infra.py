"""Finding Kafka and PostgreSQL: named by environment, else testcontainers, else started locally.

Used by the tests and the demo alike, so both run against the same kind of servers. On a broker with
SASL, this process is its admin (KAFKA_USERNAME / KAFKA_PASSWORD / KAFKA_SASL_MECHANISM in the
environment: named by the caller, or put there from what the local start-up printed); deploy.system
gives every process it starts a principal of its own.
"""

import contextlib
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / "deploy" / "local"
KAFKA_CLIENT = ("KAFKA_USERNAME", "KAFKA_PASSWORD", "KAFKA_SASL_MECHANISM")


@dataclass(frozen=True)
class Servers:
    kafka: str
    postgres: str  # a SQLAlchemy asyncpg URL of the server's admin database
    how: str


def from_environment() -> Servers | None:
    kafka, pg = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("DATABASE_URL")
    return Servers(kafka, pg, "environment") if kafka and pg else None


@contextlib.contextmanager
def from_testcontainers() -> Iterator[Servers | None]:
    """Kafka and PostgreSQL containers, where a Docker engine answers; None where none does."""
    try:
        from testcontainers.community.kafka import KafkaContainer
        from testcontainers.community.postgres import PostgresContainer

        with (
            KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft() as kafka,
            PostgresContainer("postgres:16", driver="asyncpg") as pg,
        ):
            yield Servers(kafka.get_bootstrap_server(), pg.get_connection_url(), "testcontainers")
    except Exception as error:  # no Docker engine: the constructor raises at once
        if "docker" not in repr(error).lower() and "connection" not in repr(error).lower():
            raise
        yield None


def start_local() -> Servers:
    """Start (or reuse) the project's own local Kafka and PostgreSQL under .local/."""
    result = subprocess.run([str(LOCAL / "up.sh")], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"deploy/local/up.sh failed:\n{result.stdout}\n{result.stderr}")
    values = {m[1]: m[2] for m in re.finditer(r"^([A-Z_]+)=(\S+)$", result.stdout, re.MULTILINE)}
    for name in KAFKA_CLIENT:  # this process administers the broker (and its clients authenticate)
        if name in values:
            os.environ[name] = values[name]
        else:
            os.environ.pop(name, None)
    return Servers(values["KAFKA_BOOTSTRAP_SERVERS"], values["DATABASE_URL"], "local")


@contextlib.contextmanager
def servers() -> Iterator[Servers]:
    """The servers to run against, in the documented order of preference."""
    if found := from_environment():
        yield found
        return
    with from_testcontainers() as contained:
        if contained:
            yield contained
            return
    yield start_local()
