"""Kafka broker factory and topic provisioning."""

import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker

from shared.settings import ServiceSettings
from shared.topics import all_topics, physical


def make_broker(settings: ServiceSettings) -> KafkaBroker:
    """A broker whose producer is idempotent (acks=all): no duplicates or reordering on retry."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
        max_batch_size=256 * 1024,
        graceful_timeout=15.0,
        logger=logging.getLogger(f"gendan.{settings.service_name}.kafka"),
        log_level=logging.DEBUG,  # one line per message only when debugging
    )


async def ensure_topics(bootstrap: str, *, prefix: str = "", partitions: int = 6, replication: int = 1) -> None:
    """Create every Gendan topic that does not exist yet (idempotent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, num_partitions=partitions, replication_factor=replication)
            for name in (physical(t, prefix) for t in all_topics())
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another service created it meanwhile
                await admin.create_topics(missing)
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, prefix: str) -> None:
    """Remove every topic whose name starts with `prefix` (a test or benchmark run's own)."""
    if not prefix:
        raise ValueError("refusing to delete every topic")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if names := [t for t in await admin.list_topics() if t.startswith(prefix)]:
            await admin.delete_topics(names)
    finally:
        await admin.close()
