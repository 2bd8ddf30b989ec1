"""The broker enforces who writes where: a partner only its own topic, a service only its own (and its
dead-letter topics), from the rules deploy.acls derives. Needs a broker with SASL and ACLs, which the
local start-up runs by default and CI must have; on a plaintext broker there is nothing to enforce."""

import os
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import TopicAuthorizationFailedError

from deploy.infra import Servers
from deploy.system import System
from shared import topics
from shared.broker import kafka_options
from shared.topics import physical

pytestmark = pytest.mark.e2e


@pytest.fixture
async def acl_system(infra: Servers) -> AsyncIterator[System]:
    """Topics, principals and rules of a system of its own (no processes: the test plays them)."""
    system = System(infra.kafka, infra.postgres, topic_prefix=f"t{uuid4().hex[:8]}.")
    if not system.admin().kafka_username:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI runs Kafka with SASL and ACLs; this broker has none")
        pytest.skip("the broker runs PLAINTEXT, without ACLs (deploy/local/kafka.sh: KAFKA_SASL=1)")
    await system.provision_kafka()
    try:
        yield system
    finally:
        await system.remove_kafka()


async def write(system: System, principal: str, topic: str) -> None:
    """Write one message to `topic` as `principal`."""
    producer = AIOKafkaProducer(**kafka_options(settings=system.as_principal(principal)))
    await producer.start()
    try:
        await producer.send_and_wait(physical(topic, system.topic_prefix), b"{}", key=b"acl-test")
    finally:
        await producer.stop()


async def test_a_partner_writes_only_its_own_topic(acl_system: System) -> None:
    await write(acl_system, "mes", topics.MES_EVENTS)
    with pytest.raises(TopicAuthorizationFailedError):
        await write(acl_system, "mes", topics.WMS_EVENTS)


async def test_a_service_writes_its_own_topics_and_not_another_services(acl_system: System) -> None:
    await write(acl_system, "production", topics.PRODUCTION_EVENTS)
    await write(acl_system, "production", topics.dlq(topics.MES_EVENTS))  # dead letters of what it consumes
    with pytest.raises(TopicAuthorizationFailedError):
        await write(acl_system, "production", topics.BILLING_EVENTS)
