"""Signals an operator can watch, in Prometheus' text format: how far behind each consumer is, what waits
in the outbox, what is parked or set aside, and which exceptions are open.

Read fresh at every scrape (Kafka offsets and a few counting queries), so a replica answers for the
whole service, not for itself.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func
from sqlmodel import col, select

from shared import signals
from shared.broker import kafka_options
from shared.clock import Clock
from shared.db import ExceptionRecord, OutboxMessage, ParkedMessage, SessionFactory
from shared.topics import physical


@dataclass(frozen=True)
class Lag:
    topic: str
    partition: int
    behind: int


async def consumer_lag(bootstrap: str, groups: dict[str, str], prefix: str = "") -> list[Lag]:
    """For each consumed topic (topic -> consumer group): messages on each partition not yet committed."""
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap))
    probe = AIOKafkaConsumer(**kafka_options(bootstrap), enable_auto_commit=False)
    await admin.start()
    await probe.start()
    try:
        lags = []
        names = {topic: physical(topic, prefix) for topic in groups}
        described = {t["topic"]: t["partitions"] for t in await admin.describe_topics(list(names.values()))}
        for topic, group in groups.items():
            name = names[topic]
            partitions = [TopicPartition(name, p["partition"]) for p in described.get(name) or ()]
            if not partitions:
                continue
            ends = await probe.end_offsets(partitions)
            committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
            for tp in partitions:
                done = committed.get(tp)
                position = done.offset if done is not None and done.offset >= 0 else 0
                lags.append(Lag(topic, tp.partition, max(ends[tp] - position, 0)))
        return lags
    finally:
        await probe.stop()
        await admin.close()


async def render(
    *, service: str, sessions: SessionFactory, clock: Clock, bootstrap: str, groups: dict[str, str], prefix: str
) -> bytes:
    """The service's metrics as Prometheus text."""
    registry = CollectorRegistry()
    _lag(registry, service, await consumer_lag(bootstrap, groups, prefix))
    now = clock.now()
    async with sessions() as session:
        unsent = (
            await session.exec(
                select(func.count(), func.min(OutboxMessage.created_at)).where(
                    col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.failed_at).is_(None)
                )
            )
        ).one()
        aside = (await session.exec(select(func.count()).where(col(OutboxMessage.failed_at).is_not(None)))).one()
        parked = (await session.exec(select(func.count(), func.min(ParkedMessage.parked_at)))).one()
        open_exceptions = (
            await session.exec(
                select(ExceptionRecord.kind, ExceptionRecord.severity, func.count())
                .where(col(ExceptionRecord.open))
                .group_by(col(ExceptionRecord.kind), col(ExceptionRecord.severity))
            )
        ).all()
    gauge = _gauges(registry, service)
    gauge("outbox_unsent", "Events committed and not yet published.").set(unsent[0])
    gauge("outbox_oldest_unsent_seconds", "Age of the oldest unpublished event.").set(_age(now, unsent[1]))
    gauge("outbox_set_aside", "Events Kafka refused for good, waiting for a person.").set(aside)
    gauge("parked_messages", "Messages waiting for something this service does not know yet.").set(parked[0])
    gauge("parked_oldest_seconds", "Age of the oldest parked message.").set(_age(now, parked[1]))
    exceptions = Gauge(
        "gendan_exceptions_open",
        "Open exceptions this service raised.",
        ["service", "kind", "severity"],
        registry=registry,
    )
    for kind_name, severity, count in open_exceptions:
        exceptions.labels(service, kind_name, severity).set(count)
    return generate_latest(registry) + generate_latest(signals.REGISTRY)


def _lag(registry: CollectorRegistry, service: str, lags: Iterable[Lag]) -> None:
    gauge = Gauge(
        "gendan_consumer_lag",
        "Messages on a partition this service has not applied yet (end offset minus committed offset).",
        ["service", "topic", "partition"],
        registry=registry,
    )
    for lag in lags:
        gauge.labels(service, lag.topic, str(lag.partition)).set(lag.behind)


def _gauges(registry: CollectorRegistry, service: str) -> Callable[[str, str], Gauge]:
    """A maker of one-service gauges on this registry."""

    def gauge(name: str, help_text: str) -> Gauge:
        return Gauge(f"gendan_{name}", help_text, ["service"], registry=registry).labels(service)

    return gauge


def _age(now: datetime, since: datetime | None) -> float:
    return max((now - since).total_seconds(), 0.0) if since is not None else 0.0
