"""What a service process counts as it works, for Prometheus: messages by outcome per topic, batch sizes,
HTTP latency per route, database pool use. Process-wide (each replica counts its own; Prometheus sums).

The scrape-time figures (lag, outbox, parked, open exceptions) are in `shared.metrics`; `/metrics` serves
both.
"""

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REGISTRY = CollectorRegistry()

MESSAGES = Counter(
    "gendan_messages",
    "Messages a consumer settled, by outcome: applied, parked, dead_lettered, retried (a failed attempt).",
    ["service", "topic", "outcome"],
    registry=REGISTRY,
)
BATCH = Histogram(
    "gendan_batch_size",
    "Records per batch a consumer read.",
    ["service", "topic"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
    registry=REGISTRY,
)
HTTP = Histogram(
    "gendan_http_request_seconds",
    "HTTP requests by route template, method and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
POOL_IN_USE = Gauge("gendan_db_pool_in_use", "Database connections checked out now.", ["service"], registry=REGISTRY)
POOL_SIZE = Gauge("gendan_db_pool_size", "Database connections the pool keeps open.", ["service"], registry=REGISTRY)


def message(service: str, topic: str, outcome: str, count: int = 1) -> None:
    MESSAGES.labels(service, topic, outcome).inc(count)


def pool(service: str, engine: AsyncEngine) -> None:
    """Read the pool's use now (at scrape time)."""
    stats = engine.pool
    POOL_IN_USE.labels(service).set(getattr(stats, "checkedout", lambda: 0)())
    POOL_SIZE.labels(service).set(getattr(stats, "size", lambda: 0)())


class Timing:
    """ASGI middleware: how long each request took, labelled by its route template (bounded cardinality)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, answered = time.perf_counter(), {"status": 500}

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            HTTP.labels(scope["method"], route, str(answered["status"])).observe(time.perf_counter() - started)
