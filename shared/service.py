"""The service runtime: one FastAPI app per service that migrates, consumes, relays and serves HTTP."""

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Request, Response
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import Field
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import access, auth, dead_letter_desk, housekeeping, http, migrations, schemas, signals, tracing
from shared.broker import ensure_topics, make_broker
from shared.clock import Clock, SystemClock
from shared.consumer import Consumer, RejectionHandler, publish_rejections
from shared.contracts import Envelope
from shared.db import SessionFactory, is_transient, make_engine, make_session_factory
from shared.exceptions import dead_letters_open, messages_waiting
from shared.logs import setup_logging
from shared.metrics import render as render_metrics
from shared.outbox import OutboxRelay, SetAside
from shared.settings import ServiceSettings
from shared.subscriptions import Subscription
from shared.topics import physical
from shared.unit_of_work import UnitOfWorkFactory
from shared.watcher import Rule, Watcher

log = logging.getLogger("gendan.service")


@dataclass(frozen=True)
class ServiceSpec:
    """What makes one service: its name, topic, migrations, subscriptions and HTTP routes."""

    name: str
    topic: str
    settings: type[ServiceSettings]
    migrations: Path
    subscriptions: Sequence[Subscription]
    routers: Sequence[APIRouter] = ()
    on_rejected: RejectionHandler | None = None  # default: publish `<name>.message_rejected`
    rules: Callable[[Any], Sequence[Rule]] = lambda settings: ()  # the service's time-based exception rules
    background: Sequence[Callable[["Runtime"], Coroutine[Any, Any, None]]] = ()  # more tasks to run while it runs
    on_start: Sequence[Callable[["Runtime"], Coroutine[Any, Any, None]]] = ()  # done before it serves (seeding)
    open_paths: tuple[str, ...] = ()  # path prefixes with an authentication of their own (signed webhooks, links)
    sign_in: tuple[str, str] | None = None  # (pages' prefix, sign-in page) of a service that serves pages


@dataclass
class Runtime:
    """Everything a request or handler of a running service may use."""

    settings: ServiceSettings
    clock: Clock
    engine: AsyncEngine
    sessions: SessionFactory
    units: UnitOfWorkFactory
    broker: KafkaBroker
    relay: OutboxRelay
    consumer: Consumer
    watcher: Watcher
    schema_head: str | None = None  # the newest migration of this code
    tasks: list["asyncio.Task[None]"] = field(default_factory=list)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]

health = APIRouter(tags=["health"])


@health.get("/health")
async def check_health(runtime: RuntimeDep) -> dict[str, str | int]:
    """Liveness: the process is up and has started (restart it if this does not answer); its pid tells a
    supervisor that the answer comes from the process it started."""
    return {"status": "ok", "service": runtime.settings.service_name, "pid": os.getpid()}


@health.get("/ready")
async def check_ready(runtime: RuntimeDep) -> dict[str, str]:
    """Readiness: the database answers at the newest migration and the Kafka broker is reachable."""
    try:
        async with runtime.sessions() as session:
            version = (await session.exec(text("SELECT version_num FROM alembic_version"))).scalar()  # type: ignore[call-overload]
    except DBAPIError as error:
        if is_transient(error):
            raise
        raise HTTPException(503, "database not migrated yet") from error
    if version != runtime.schema_head:
        raise HTTPException(503, f"database at migration {version}, this code needs {runtime.schema_head}")
    if not await runtime.broker.ping(timeout=5):
        raise HTTPException(503, "Kafka unreachable")
    return {"status": "ready", "service": runtime.settings.service_name, "migration": version}


@health.get("/outbox/set-aside", tags=["operations"])
async def list_set_aside(runtime: RuntimeDep) -> list[SetAside]:
    """Events Kafka refused for good (e.g. too large): kept here, out of the relay's way, until retried."""
    return await runtime.relay.set_aside()


@health.post("/outbox/set-aside/retry", tags=["operations"], dependencies=[Depends(auth.allow())])
async def retry_set_aside(
    runtime: RuntimeDep, ids: Annotated[list[RowId] | None, Body(max_length=10_000)] = None
) -> dict[str, int]:
    """Put set-aside events (all, or the ids given) back in line once the cause is fixed."""
    return {"requeued": await runtime.relay.retry_set_aside(ids)}


@health.get("/metrics", tags=["operations"], response_class=Response)
async def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus metrics: consumer lag per partition, outbox backlog, set-aside and parked messages, exceptions."""
    consumer = runtime.consumer
    signals.pool(runtime.settings.service_name, runtime.engine)
    body = await render_metrics(
        service=runtime.settings.service_name,
        sessions=runtime.sessions,
        clock=runtime.clock,
        bootstrap=runtime.settings.kafka_bootstrap_servers,
        groups={topic: consumer.group(topic) for topic in consumer.subscriptions},
        prefix=runtime.settings.topic_prefix,
    )
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@health.get("/asyncapi.json")
async def asyncapi(runtime: RuntimeDep) -> dict[str, Any]:
    """The AsyncAPI document of this service's topics."""
    return asyncapi_document(runtime)


def asyncapi_document(runtime: Runtime) -> dict[str, Any]:
    """What the service reads and writes on Kafka, as AsyncAPI 3: every message with its contract and version."""
    name = runtime.settings.service_name
    spec = AsyncAPI(runtime.broker, title=f"Gendan {name} service", version="0.1.0")
    document: dict[str, Any] = json.loads(spec.to_specification().to_json())
    return schemas.asyncapi_contracts(document, prefix=runtime.settings.topic_prefix)


def build_runtime(spec: ServiceSpec, settings: ServiceSettings, clock: Clock) -> Runtime:
    engine = make_engine(settings.database_url, settings.db_pool_size)
    sessions = make_session_factory(engine)
    broker = make_broker(settings)
    relay = OutboxRelay(
        sessions,
        broker,
        clock=clock,
        prefix=settings.topic_prefix,
        batch_size=settings.relay_batch_size,
        poll_seconds=settings.relay_poll_seconds,
    )
    units = UnitOfWorkFactory(sessions, clock, source=spec.name, topic=spec.topic, on_commit=relay.wake)
    consumer = Consumer(
        service=spec.name,
        units=units,
        broker=broker,
        prefix=settings.topic_prefix,
        max_attempts=settings.handler_max_attempts,
        park_timeout=timedelta(hours=settings.park_timeout_hours),
        backoff=settings.retry_backoff_seconds,
        backoff_max=settings.retry_backoff_max_seconds,
        on_rejected=spec.on_rejected or publish_rejections(spec.name),
    )
    for sub in spec.subscriptions:
        consumer.register(sub, batch=settings.consumer_batch_size)
    broker.publisher(  # only the relay publishes; declared so the AsyncAPI document shows it
        physical(spec.topic, settings.topic_prefix),
        title=f"{spec.name}:{spec.topic}",
        description=f"Lifecycle events of the {spec.name} service, keyed by order id.",
        schema=Envelope,
    )
    waiting = messages_waiting(timedelta(hours=settings.message_waiting_hours))
    rules = [waiting, dead_letters_open(), *spec.rules(settings)]
    watcher = Watcher(units, rules, every=settings.watch_seconds)
    head = migrations.head(spec.migrations)
    return Runtime(settings, clock, engine, sessions, units, broker, relay, consumer, watcher, head)


def create_app(spec: ServiceSpec, settings: ServiceSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The service as an ASGI app; its lifespan owns the broker, the relay and the sweeper."""
    settings = settings or spec.settings()
    runtime = build_runtime(spec, settings, clock or SystemClock())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        setup_logging(f"gendan.{spec.name}", settings.log_level)
        if settings.migrate_on_start:
            await asyncio.to_thread(migrations.upgrade, spec.migrations, settings.database_url)
        for step in spec.on_start:
            await step(runtime)
        await ensure_topics(
            settings.kafka_bootstrap_servers, prefix=settings.topic_prefix, partitions=settings.topic_partitions
        )
        await runtime.broker.start()
        runtime.tasks = [
            asyncio.create_task(runtime.relay.run(), name="outbox-relay"),
            asyncio.create_task(runtime.consumer.sweep(), name="parked-sweep"),
            asyncio.create_task(runtime.watcher.run(), name="watcher"),
            *(asyncio.create_task(task(runtime), name=task.__name__) for task in spec.background),
            asyncio.create_task(
                housekeeping.run(
                    runtime.sessions,
                    runtime.clock,
                    outbox_keep=timedelta(hours=settings.outbox_retention_hours),
                    inbox_keep=timedelta(days=settings.inbox_retention_days),
                ),
                name="housekeeping",
            ),
        ]
        app.state.runtime = runtime
        log.info("service started", extra={"fields": {"service": spec.name}})
        yield
        await runtime.broker.stop()
        for task in runtime.tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await runtime.engine.dispose()

    guard = auth.Guard(
        auth.AuthSettings(),
        access.key_lookup(runtime.sessions, runtime.clock.now),
        open_prefixes=spec.open_paths,
        sign_in=spec.sign_in,
    )
    tracing.setup(spec.name)
    app = FastAPI(title=f"Gendan {spec.name} service", lifespan=lifespan, dependencies=[Depends(guard)])
    app.include_router(health)
    app.include_router(dead_letter_desk.router)
    app.include_router(access.router)
    for router in spec.routers:
        app.include_router(router)
    app.add_middleware(access.Audit)
    http.install(app, max_body_bytes=settings.max_body_bytes)
    return app


def main(spec: ServiceSpec) -> None:
    """Command line of every service: `migrate` upgrades its database, no argument runs it."""
    import sys

    import uvicorn

    settings = spec.settings()
    if sys.argv[1:] == ["migrate"]:
        migrations.upgrade(spec.migrations, settings.database_url)
        return
    if sys.argv[1:]:
        raise SystemExit(f"usage: python -m services.{spec.name} [migrate]")
    setup_logging(f"gendan.{spec.name}", settings.log_level)
    uvicorn.run(create_app(spec, settings), host=settings.http_host, port=settings.http_port, log_config=None)
