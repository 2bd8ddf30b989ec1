"""Each service's AsyncAPI document names every topic it reads and the one it writes, with every message's contract."""

import json
from typing import Any

import pytest

from services.billing.app import SPEC as BILLING
from services.logistics.app import SPEC as LOGISTICS
from services.order.app import SPEC as ORDER
from services.production.app import SPEC as PRODUCTION
from shared import schemas, topics
from shared.clock import SystemClock
from shared.contracts import EVENT_TYPES, EventData
from shared.schemas import PARTNER_CONTRACTS, Message
from shared.service import ServiceSpec, asyncapi_document, build_runtime
from shared.subscriptions import Subscription

pytestmark = pytest.mark.unit

SPECS = [ORDER, PRODUCTION, LOGISTICS, BILLING]
by_name = {"ids": lambda s: s.name}


def document_of(spec: ServiceSpec, prefix: str = "") -> dict[str, Any]:
    """The service's AsyncAPI document; building the runtime connects to nothing."""
    settings = spec.settings(**{"GENDAN_TOPIC_PREFIX": prefix})
    return asyncapi_document(build_runtime(spec, settings, SystemClock()))


def documented(document: dict[str, Any], topic: str, action: str) -> dict[str, dict[str, Any]]:
    """The payload schema of each message the document lists for a topic and action, by message name."""
    found: dict[str, dict[str, Any]] = {}
    for operation in document["operations"].values():
        channel = document["channels"][operation["channel"]["$ref"].removeprefix("#/channels/")]
        if channel["bindings"]["kafka"]["topic"] != topic or operation["action"] != action:
            continue
        for ref in operation["messages"]:
            message_ref = channel["messages"][ref["$ref"].rpartition("/")[2]]["$ref"]
            message = document["components"]["messages"][message_ref.removeprefix("#/components/messages/")]
            payload_ref = message["payload"]["$ref"].removeprefix("#/components/schemas/")
            found[message["name"]] = document["components"]["schemas"][payload_ref]
    return found


def published_file(message: Message) -> dict[str, Any]:
    """The message's schema as published in docs/schemas/, inlined as the document carries it."""
    schema = schemas.inline(json.loads(message.path().read_text(encoding="utf-8")))
    return {key: value for key, value in schema.items() if key != "$schema"}


def handled_types(sub: Subscription) -> set[str]:
    """The event types a lifecycle subscription applies (the others it skips)."""
    return {model.event_type for model in sub.contracts if issubclass(model, EventData)}


def event_message(name: str) -> Message:
    return next(m for m in schemas.messages() if m.kind == "events" and m.name == name)


@pytest.mark.parametrize("spec", SPECS, **by_name)
def test_asyncapi_lists_subscriptions_and_the_outbound_topic(spec: ServiceSpec) -> None:
    document = document_of(spec)

    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {sub.topic for sub in spec.subscriptions} | {spec.topic}
    actions = {op["action"] for op in document["operations"].values()}
    assert actions == {"receive", "send"}
    leftovers = [name for name in document["components"]["messages"] if ":" in name]
    assert not leftovers, f"FastStream's placeholder messages remain: {leftovers}"


@pytest.mark.parametrize("spec", SPECS, **by_name)
def test_every_event_the_service_publishes_is_documented_with_its_payload(spec: ServiceSpec) -> None:
    sent = documented(document_of(spec), spec.topic, "send")

    own = [name for name in EVENT_TYPES if schemas.publisher(name) == spec.name]
    assert own, f"{spec.name} publishes no event type"
    assert {event_message(name).key for name in own} == set(sent)
    for name in own:
        message = event_message(name)
        schema = sent[message.key]
        assert schemas.event_topic(name) == spec.topic
        assert schema["properties"]["type"]["const"] == name
        assert schema["properties"]["version"]["const"] == EVENT_TYPES[name].version
        assert schema["properties"]["data"] == schemas.inline(schemas.payload_schema(name))
        assert schema == published_file(message), f"{message.label}: the document and docs/schemas/ differ"


@pytest.mark.parametrize("spec", SPECS, **by_name)
def test_every_event_the_service_handles_is_documented_on_the_topic_it_comes_from(spec: ServiceSpec) -> None:
    document = document_of(spec)
    lifecycle = [sub for sub in spec.subscriptions if sub.topic in topics.SERVICE_TOPICS]

    handled: set[str] = set()
    for sub in lifecycle:
        received = documented(document, sub.topic, "receive")
        on_topic = {name for name in handled_types(sub) if schemas.event_topic(name) == sub.topic}
        for name in on_topic:
            message = event_message(name)
            assert message.key in received, f"{spec.name} handles {name} on {sub.topic}; its document omits it"
            assert received[message.key]["properties"]["data"] == schemas.inline(schemas.payload_schema(name))
            assert received[message.key] == published_file(message)
        handled |= handled_types(sub)
    subscribed = {sub.topic for sub in lifecycle}
    stray = {name for name in handled if schemas.event_topic(name) not in subscribed}
    assert not stray, f"{spec.name} handles {stray} but reads no topic they are published on"


@pytest.mark.parametrize("spec", SPECS, **by_name)
def test_every_partner_contract_the_service_reads_is_documented(spec: ServiceSpec) -> None:
    document = document_of(spec)

    for sub in spec.subscriptions:
        if sub.topic not in topics.PARTNER_TOPICS:
            assert sub.topic in topics.SERVICE_TOPICS, f"{sub.topic}: neither a partner nor a service topic"
            continue
        model = PARTNER_CONTRACTS[sub.topic]
        message = next(m for m in schemas.messages() if m.kind == "partners" and m.name == sub.topic)
        parsed = sub.parse(json.dumps(schemas.example(message)).encode())
        assert type(parsed.message) is model, f"{sub.topic} is wired to {type(parsed.message).__name__}"
        received = documented(document, sub.topic, "receive")
        assert list(received) == [message.key]
        schema = received[message.key]
        assert schema == published_file(message), f"{message.label}: the document and docs/schemas/ differ"
        assert set(schema["properties"]) == set(model.model_fields)
        described = {name: f.description for name, f in model.model_fields.items() if f.description}
        assert {name: schema["properties"][name].get("description") for name in described} == described


def test_messages_carry_version_examples_and_the_event_key() -> None:
    document = document_of(ORDER)

    accepted = document["components"]["messages"]["order.accepted.v1"]
    assert accepted["title"] == "order.accepted v1"
    assert accepted["examples"][0]["payload"] == schemas.event_example("order.accepted")
    assert accepted["correlationId"] == {"location": "$message.payload#/correlation_id"}
    assert "key" in accepted["bindings"]["kafka"]
    erp = document["components"]["messages"]["erp.orders.v1"]
    assert erp["examples"][0]["payload"] == schemas.PARTNER_EXAMPLES[topics.ERP_ORDERS]


def test_a_topic_prefix_still_finds_every_message() -> None:
    document = document_of(PRODUCTION, prefix="staging.")

    assert set(documented(document, "staging.mes.events", "receive")) == {"mes.events.v1"}
    assert "production.started.v1" in documented(document, "staging.production.events", "send")
