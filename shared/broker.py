"""Kafka broker factory and topic provisioning."""

import contextlib
import logging
import ssl
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from shared.settings import KafkaSettings, ServiceSettings
from shared.topics import all_topics, physical

MECHANISMS = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256, "PLAIN": SASLPlaintext}


def kafka_security(settings: KafkaSettings | None = None) -> BaseSecurity | None:
    """This process's credentials on Kafka (from the environment by default); None on a plaintext broker."""
    settings = settings or KafkaSettings()
    if not settings.kafka_username:
        return None
    mechanism = MECHANISMS[settings.kafka_sasl_mechanism]
    if settings.kafka_security_protocol == "SASL_SSL":  # TLS to the broker (Strimzi's listener), its CA named
        context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile or None)
        return mechanism(settings.kafka_username, settings.kafka_password, ssl_context=context, use_ssl=True)
    return mechanism(settings.kafka_username, settings.kafka_password)


def kafka_options(bootstrap: str | None = None, settings: KafkaSettings | None = None) -> dict[str, Any]:
    """The arguments every aiokafka client (producer, consumer, admin) is built with: servers and security."""
    settings = settings or KafkaSettings()
    return {
        "bootstrap_servers": bootstrap or settings.kafka_bootstrap_servers,
        **parse_security(kafka_security(settings)),
    }


def make_broker(settings: ServiceSettings) -> KafkaBroker:
    """A broker whose producer is idempotent (acks=all): no duplicates or reordering on retry."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        security=kafka_security(settings),
        client_id=settings.service_name,
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
        max_batch_size=256 * 1024,
        graceful_timeout=15.0,
        logger=logging.getLogger(f"gendan.{settings.service_name}.kafka"),
        log_level=logging.DEBUG,  # one line per message only when debugging
    )


async def ensure_topics(
    bootstrap: str,
    *,
    prefix: str = "",
    partitions: int = 6,
    replication: int = 1,
    settings: KafkaSettings | None = None,
) -> None:
    """Create every Gendan topic that does not exist yet (idempotent); a principal may create only what ACLs allow."""
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap, settings))
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


async def delete_topics(bootstrap: str, prefix: str, settings: KafkaSettings | None = None) -> None:
    """Remove every topic whose name starts with `prefix` (a test or benchmark run's own)."""
    if not prefix:
        raise ValueError("refusing to delete every topic")
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap, settings))
    await admin.start()
    try:
        if names := [t for t in await admin.list_topics() if t.startswith(prefix)]:
            await admin.delete_topics(names)
    finally:
        await admin.close()
