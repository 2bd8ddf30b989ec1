"""Who may do what on Kafka, derived from the code, and putting it on a broker that enforces it.

Every process has a principal of its own: each service (order, production, logistics, billing),
each partner (named after its topic: erp, mes, supplier, wms, carrier, finance) and the simulated
partners (simulators, all partners in one process). What each may read and in which consumer groups
is read off the subscriptions the process itself registers on a broker (services/*/consumers.py
through shared.consumer, deploy/simulators); what each may write follows from shared/topics.py:

- a service writes its own topic and the dead-letter topic of each topic it consumes (a replayed dead
  letter is applied in the service, not written back); it reads what it consumes and those
  dead-letter topics (the desk lists them);
- a partner writes its own topic and nothing else; the simulators write every partner topic;
- `admin` (a super user on the local broker) provisions topics, credentials and these rules.

    python -m deploy.acls [--prefix P]    # as the admin named by KAFKA_* in the environment
"""

import argparse
import asyncio
import hashlib
import hmac
import importlib
import os
from collections.abc import Iterator, Mapping
from typing import Any, cast

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker

from deploy.kafka_admin import Acl, create_acls, delete_acls, upsert_scram_users, wait_enforced
from shared.broker import ensure_topics, kafka_options
from shared.consumer import Consumer
from shared.settings import KafkaSettings
from shared.topics import PARTNER_TOPICS, dlq, physical

SERVICES = ("order", "production", "logistics", "billing")
SIMULATORS = "simulators"
PASSWORD_VARIABLE = "KAFKA_PASSWORD_{}"  # overrides a principal's derived password (docker-compose.yml)


def partner(topic: str) -> str:
    """The principal of the partner that writes `topic` (erp.orders -> erp)."""
    return topic.split(".")[0]


PARTNERS = {partner(topic): topic for topic in PARTNER_TOPICS}


def principals() -> tuple[str, ...]:
    return (*SERVICES, *PARTNERS, SIMULATORS)


def subscribed(broker: KafkaBroker) -> Iterator[tuple[str, str]]:
    """(topic, consumer group) of every subscriber registered on `broker`."""
    for subscriber in broker.subscribers:
        for topic in cast(Any, subscriber).topic_names:
            yield topic, cast(Any, subscriber).group_id


def service_acls(service: str, prefix: str) -> list[Acl]:
    spec = importlib.import_module(f"services.{service}.app").SPEC
    broker = KafkaBroker()
    consumer = Consumer(service=service, units=cast(Any, None), broker=broker, prefix=prefix)
    for subscription in spec.subscriptions:
        consumer.register(subscription)
    rules = [Acl(service, "topic", physical(spec.topic, prefix), "write")]
    for topic, group in subscribed(broker):
        rules += [Acl(service, "topic", topic, "read"), Acl(service, "group", group, "read")]
        rules += [Acl(service, "topic", dlq(topic), "write"), Acl(service, "topic", dlq(topic), "read")]
    return rules


def simulator_acls(prefix: str) -> list[Acl]:
    from deploy.simulators import Partners, SimulatorSettings

    broker = KafkaBroker()
    Partners(broker, SimulatorSettings.model_construct(topic_prefix=prefix)).register()
    rules = [Acl(SIMULATORS, "topic", physical(topic, prefix), "write") for topic in PARTNER_TOPICS]
    for topic, group in subscribed(broker):
        rules += [Acl(SIMULATORS, "topic", topic, "read"), Acl(SIMULATORS, "group", group, "read")]
    return rules


def acls(prefix: str = "") -> list[Acl]:
    """Every allow rule of a deployment whose topics (and consumer groups) carry `prefix`."""
    rules = [rule for service in SERVICES for rule in service_acls(service, prefix)]
    rules += [Acl(name, "topic", physical(topic, prefix), "write") for name, topic in PARTNERS.items()]
    return sorted(set(rules + simulator_acls(prefix)))


def password(principal: str, secret: str) -> str:
    """A principal's password, derived from the admin's: one secret to keep for the whole broker."""
    return hmac.new(secret.encode(), f"password:{principal}".encode(), hashlib.sha256).hexdigest()[:32]


def passwords(secret: str, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Every principal's password: KAFKA_PASSWORD_<PRINCIPAL> where set, else derived from `secret`."""
    return {
        name: environ.get(PASSWORD_VARIABLE.format(name.upper())) or password(name, secret) for name in principals()
    }


def credentials(principal: str, admin: KafkaSettings) -> dict[str, str]:
    """The KAFKA_* environment of a process running as `principal`; empty on a plaintext broker."""
    if not admin.kafka_username:
        return {}
    return {
        "KAFKA_USERNAME": principal,
        "KAFKA_PASSWORD": passwords(admin.kafka_password)[principal],
        "KAFKA_SASL_MECHANISM": admin.kafka_sasl_mechanism,
    }


async def provision(admin: KafkaSettings, *, prefix: str = "", partitions: int = 6) -> None:
    """Topics, every principal's credentials and the rules, as `admin`; nothing but topics on a plaintext broker."""
    await ensure_topics(admin.kafka_bootstrap_servers, prefix=prefix, partitions=partitions, settings=admin)
    if not admin.kafka_username:
        return
    client = AIOKafkaAdminClient(**kafka_options(settings=admin))
    await client.start()
    try:
        await upsert_scram_users(client, passwords(admin.kafka_password), admin.kafka_password)
        await wait_authenticates(
            admin.model_copy(
                update={"kafka_username": SIMULATORS, "kafka_password": passwords(admin.kafka_password)[SIMULATORS]}
            )
        )
        rules = acls(prefix)
        await create_acls(client, rules)
        await wait_enforced(client, rules)
    finally:
        await client.close()


async def wait_authenticates(settings: KafkaSettings, timeout: float = 30) -> None:
    """Wait until the broker knows a credential just made (all of one request arrive together)."""
    async with asyncio.timeout(timeout):
        while True:
            client = AIOKafkaAdminClient(**kafka_options(settings=settings))
            try:
                await client.start()
                return
            except KafkaError:
                await asyncio.sleep(0.2)
            finally:
                await client.close()


async def unprovision(admin: KafkaSettings, *, prefix: str) -> None:
    """Remove the rules of a prefixed deployment (a test run's): the topics go with delete_topics."""
    if not admin.kafka_username or not prefix:
        return
    client = AIOKafkaAdminClient(**kafka_options(settings=admin))
    await client.start()
    try:
        await delete_acls(client, acls(prefix))
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prefix", default=os.environ.get("GENDAN_TOPIC_PREFIX", ""))
    parser.add_argument("--partitions", type=int, default=int(os.environ.get("GENDAN_TOPIC_PARTITIONS", "6")))
    parser.add_argument("--print", action="store_true", help="only print the rules")
    args = parser.parse_args()
    if args.print:
        for rule in acls(args.prefix):
            print(f"User:{rule.principal} {rule.operation} {rule.resource} {rule.name} ({rule.pattern})")
        return
    asyncio.run(provision(KafkaSettings(), prefix=args.prefix, partitions=args.partitions))


if __name__ == "__main__":
    main()
