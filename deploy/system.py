"""The whole system as processes: four services and the simulated partners, each its own process."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from deploy import acls
from deploy.dev_issuer import DevIssuer
from shared.broker import delete_topics
from shared.db import asyncpg_dsn
from shared.settings import KafkaSettings

SERVICES = acls.SERVICES
SEED = Path(__file__).parent / "seed"
DEFAULT_PORTS = {"order": 8001, "production": 8002, "logistics": 8003, "billing": 8004}


class Exited(RuntimeError):
    """A service process ended while it was expected to run."""


def free_port(preferred: int = 0) -> int:
    """`preferred` when it is free, else any free port."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class System:
    """Starts, kills and restarts the services against one Kafka and one PostgreSQL server."""

    kafka: str
    postgres: str
    topic_prefix: str = ""
    db_prefix: str = "gendan_"
    log_dir: Path = Path(".local/logs")
    default_ports: bool = False  # the services' own ports (8001-8004) where free, else any
    extra_env: dict[str, str] = field(default_factory=dict)
    # Who provisions Kafka (topics, and on a SASL broker every principal and its ACLs); by default this
    # process's own KAFKA_* environment. Each process started gets a principal of its own.
    kafka_admin: KafkaSettings = field(default_factory=KafkaSettings)
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, IO[bytes]] = field(default_factory=dict)
    auth: bool = True  # the services check bearer tokens from a development issuer of this system's own
    issuer: DevIssuer | None = None

    def __post_init__(self) -> None:
        if self.auth and self.issuer is None:
            self.issuer = DevIssuer(self.log_dir / f"{self.topic_prefix}issuer")

    def headers(self, subject: str = "test.supervisor", roles: tuple[str, ...] = ("supervisor",)) -> dict[str, str]:
        """A person's bearer token for this system (nothing where auth is off)."""
        return self.issuer.headers(subject, roles) if self.issuer else {}

    def client(self, service: str, *, roles: tuple[str, ...] = ("supervisor",), **options: Any) -> httpx.AsyncClient:
        """An HTTP client of one service that signs in as a person: by default a supervisor named by the
        request's `X-Actor` header (so who acts stays what the caller says), else `test.supervisor`."""
        tokens: dict[str, dict[str, str]] = {}

        async def sign(request: httpx.Request) -> None:
            if self.issuer is None or "Authorization" in request.headers or "X-API-Key" in request.headers:
                return
            subject = request.headers.get("X-Actor") or "test.supervisor"
            if subject not in tokens:
                tokens[subject] = self.headers(subject, roles)
            request.headers.update(tokens[subject])

        options.setdefault("timeout", 30)
        return httpx.AsyncClient(base_url=self.url(service), event_hooks={"request": [sign]}, **options)

    def database_url(self, service: str) -> str:
        return make_url(self.postgres).set(database=f"{self.db_prefix}{service}").render_as_string(False)

    async def create_databases(self) -> None:
        """Create each service's database when missing."""
        conn = await asyncpg.connect(asyncpg_dsn(self.postgres))
        try:
            for service in SERVICES:
                name = f"{self.db_prefix}{service}"
                if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                    await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def drop_databases(self) -> None:
        conn = await asyncpg.connect(asyncpg_dsn(self.postgres))
        try:
            for service in SERVICES:
                await conn.execute(f'DROP DATABASE IF EXISTS "{self.db_prefix}{service}" WITH (FORCE)')
        finally:
            await conn.close()

    def admin(self) -> KafkaSettings:
        return self.kafka_admin.model_copy(update={"kafka_bootstrap_servers": self.kafka})

    def as_principal(self, principal: str) -> KafkaSettings:
        """How `principal` (a service, a partner, `simulators`) reaches this system's broker."""
        update = {name.lower(): value for name, value in acls.credentials(principal, self.admin()).items()}
        return self.admin().model_copy(update=update)

    def partitions(self) -> int:
        return int(self.extra_env.get("GENDAN_TOPIC_PARTITIONS") or os.environ.get("GENDAN_TOPIC_PARTITIONS") or 6)

    async def provision_kafka(self) -> None:
        """The topics, and on a SASL broker every principal's credentials and ACLs for this system's prefix."""
        await acls.provision(self.admin(), prefix=self.topic_prefix, partitions=self.partitions())

    async def remove_kafka(self) -> None:
        """This system's topics and ACLs (it must have a prefix of its own)."""
        await delete_topics(self.kafka, self.topic_prefix, self.admin())
        await acls.unprovision(self.admin(), prefix=self.topic_prefix)

    def env(self, name: str) -> dict[str, str]:
        env = {
            **{k: v for k, v in os.environ.items() if k not in ("KAFKA_USERNAME", "KAFKA_PASSWORD")},
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "GENDAN_TOPIC_PREFIX": self.topic_prefix,
            "MASTER_SEED": str(SEED),  # the masters the demo's and tests' orders are reviewed against
            **acls.credentials(name if name in SERVICES else acls.SIMULATORS, self.admin()),
            **self.extra_env,
        }
        if name in SERVICES:
            env |= {"DATABASE_URL": self.database_url(name), "HTTP_PORT": str(self.ports[name])}
            if self.issuer is not None:
                env |= self.issuer.env
        if name == "order":  # the order's file reads the others' documents; uploads go to this system's folder
            others = {s: f"http://127.0.0.1:{self.ports.setdefault(s, self._port(s))}" for s in SERVICES}
            env |= {"SERVICE_URLS": json.dumps(others), "FILES_URL": (self.log_dir / "files").resolve().as_uri()}
            if self.issuer is not None:  # the console's development sign-in, and the order service's own token
                env |= {
                    "AUTH_DEV_ISSUER": str(self.issuer.folder.resolve()),
                    "SERVICE_TOKEN": self.issuer.token("svc.order", ["viewer"], ttl_seconds=30 * 86400),
                }
        return env

    def _port(self, service: str) -> int:
        return free_port(DEFAULT_PORTS[service] if self.default_ports else 0)

    def start(self, name: str) -> None:
        """Start one service (or `simulators`) as its own process."""
        if name in SERVICES:
            self.ports.setdefault(name, self._port(name))
        module = f"services.{name}" if name in SERVICES else "deploy.simulators"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.logs.get(name) or open(self.log_dir / f"{self.topic_prefix}{name}.log", "ab")  # noqa: SIM115
        self.logs[name] = log
        self.procs[name] = subprocess.Popen([sys.executable, "-m", module], env=self.env(name), stdout=log, stderr=log)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill one process (SIGKILL by default: no chance to finish anything)."""
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        proc.wait(timeout=30)

    def stop(self) -> None:
        """Stop everything gracefully, then forcibly."""
        for proc in self.procs.values():
            proc.terminate()
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        for log in self.logs.values():
            log.close()
        self.logs.clear()

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    async def wait_healthy(self, service: str, timeout: float = 60) -> None:
        """Wait until the service answers /ready (it has migrated and reaches the database and Kafka).

        Only an answer from this process counts (its /health names its pid): a port picked free can be
        taken by another server before the service binds it, and that server's answers are not ours."""
        deadline, ours = time.monotonic() + timeout, False
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                proc = self.procs.get(service)
                if proc is None or proc.poll() is not None:
                    raise Exited(f"{service} exited; see {self.log_dir}")
                try:
                    if not ours:
                        health = await client.get(self.url(service) + "/health")
                        ours = health.status_code == 200 and health.json().get("pid") == proc.pid
                    elif (await client.get(self.url(service) + "/ready")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"{service} not healthy after {timeout}s")

    async def start_healthy(self, service: str, attempts: int = 3) -> None:
        """Start a service and wait for it; when it exits while starting (its port was taken meanwhile),
        start it again on another port."""
        for attempt in range(attempts):
            self.start(service)
            try:
                await self.wait_healthy(service)
                return
            except Exited:
                if attempt == attempts - 1 or self.default_ports:
                    raise
                self.ports.pop(service)

    async def up(self, *, simulators: bool = True) -> None:
        """Databases, Kafka's topics and rules, the four services, and (by default) the simulated partners."""
        await self.create_databases()
        await self.provision_kafka()
        await asyncio.gather(*(self.start_healthy(service) for service in SERVICES))
        if simulators:
            self.start("simulators")
