"""deploy/k8s agrees with the code and with the schemas a Kubernetes API server would apply.

Every overlay is rendered offline (`kubectl kustomize`); the core resources are validated against the
Kubernetes OpenAPI schemas kubernetes-validate bundles, the Strimzi and CloudNativePG resources against
the CRD subsets in deploy/k8s/schemas. The topics and ACLs are checked against shared/topics.py and the
services' subscriptions, on the base read directly (no kubectl needed): a topic added to the code without
its KafkaTopic, or a subscription without its ACLs, fails here.
"""

import importlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import jsonschema
import kubernetes_validate
import pytest
import yaml
from pydantic_settings import BaseSettings

from deploy.system import SERVICES
from shared.consumer import Consumer
from shared.settings import ServiceSettings
from shared.topics import PARTNER_TOPICS, all_topics, dlq

pytestmark = pytest.mark.unit

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir())
KUBERNETES_VERSION = "1.32.0"  # the oldest Kubernetes the manifests are meant for
CRD_SCHEMAS = ("strimzi.json", "cloudnative-pg.json")
DAY_MS = 86_400_000
KAFKA_READ_OR_WRITE = {"Read", "Write", "Describe"}  # no user creates, deletes or alters: the operators do
# The Kafka settings the manifests set (SASL over TLS towards Strimzi's listener).
KAFKA_SECURITY_ENV = {
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_USERNAME",
    "KAFKA_PASSWORD",
    "KAFKA_SSL_CAFILE",
}
CNPG_ENV = {"CNPG_USER", "CNPG_PASSWORD", "CNPG_HOST", "CNPG_PORT", "CNPG_DBNAME"}  # DATABASE_URL's parts

Doc = dict[str, Any]


# ------------------------------------------------------------------ loading ---


def load_all(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@cache
def base() -> tuple[Doc, ...]:
    """The base's resources as written (no generators or patches applied)."""
    kustomization = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    return tuple(doc for name in kustomization["resources"] for doc in load_all(K8S / "base" / name))


@cache
def rendered(overlay: str) -> tuple[Doc, ...]:
    """An overlay as `kubectl kustomize` renders it, offline."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI renders the manifests: kubectl is needed (kubectl kustomize)")
        pytest.skip("kubectl is needed to render the overlays (kubectl kustomize)")
    out = subprocess.run([kubectl, "kustomize", str(K8S / "overlays" / overlay)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return tuple(doc for doc in yaml.safe_load_all(out.stdout) if doc)


def of_kind(docs: tuple[Doc, ...], kind: str) -> dict[str, Doc]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


@cache
def crd_schemas() -> dict[tuple[str, str], Doc]:
    schemas = {}
    for name in CRD_SCHEMAS:
        for kind, schema in yaml.safe_load((K8S / "schemas" / name).read_text())["kinds"].items():
            schemas[(schema["properties"]["apiVersion"]["const"], kind)] = schema
    return schemas


def consumed(service: str) -> set[str]:
    """The topics a service subscribes to, from its code."""
    module = importlib.import_module(f"services.{service}.consumers")
    return {sub.topic for sub in module.SUBSCRIPTIONS}


def own_topic(service: str) -> str:
    return str(importlib.import_module(f"services.{service}.app").SPEC.topic)


def group(service: str, topic: str) -> str:
    """The consumer group the service's consumer uses for a topic (no topic prefix on a cluster of its own)."""
    return Consumer.group(cast(Any, SimpleNamespace(service=service, prefix="")), topic)


def settings_class(service: str) -> type[ServiceSettings]:
    spec = importlib.import_module(f"services.{service}.app").SPEC
    return cast(type[ServiceSettings], spec.settings)


def env_names(settings: type[BaseSettings]) -> set[str]:
    """The environment variables a settings class reads."""
    return {(field.alias or name).upper() for name, field in settings.model_fields.items()}


# ---------------------------------------------------------------------- ACLs ---


def service_user(service: str) -> Doc:
    return of_kind(base(), "KafkaUser")[f"gendan-{service}"]


def partner_user(topic: str) -> Doc:
    return of_kind(base(), "KafkaUser")[f"partner-{topic.split('.')[0]}"]


def acls(user: Doc) -> list[Doc]:
    return list(user["spec"]["authorization"]["acls"])


def allows(user: Doc, kind: str, name: str, operation: str) -> bool:
    """Kafka's simple authorizer for the allow rules used here: literal, prefix, `*`; Read/Write imply Describe."""
    for acl in acls(user):
        resource, operations = acl["resource"], set(acl["operations"])
        pattern = resource.get("patternType", "literal")
        matches = resource["name"] in (name, "*") if pattern == "literal" else name.startswith(resource["name"])
        implied = operation == "Describe" and bool(operations & {"Read", "Write", "Delete", "Alter"})
        if resource["type"] == kind and matches and (operation in operations or "All" in operations or implied):
            return True
    return False


def topics_allowed(user: Doc, operation: str) -> set[str]:
    return {topic for topic in all_topics() if allows(user, "topic", topic, operation)}


def test_users_only_allow_reading_writing_and_describing() -> None:
    for user in of_kind(base(), "KafkaUser").values():
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        for acl in acls(user):
            assert acl.get("type", "allow") == "allow", f"{user['metadata']['name']}: deny rules are not evaluated here"
            assert set(acl["operations"]) <= KAFKA_READ_OR_WRITE, user["metadata"]["name"]


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_reads_what_it_consumes_with_its_groups(service: str) -> None:
    user = service_user(service)
    for topic in consumed(service):
        assert allows(user, "topic", topic, "Read"), f"{service} consumes {topic}"
        assert allows(user, "group", group(service, topic), "Read"), f"{service} commits offsets of {topic}"
        assert allows(user, "topic", dlq(topic), "Write"), f"{service} dead-letters {topic}"
        assert allows(user, "topic", dlq(topic), "Read"), f"{service} lists the dead letters of {topic}"


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_reads_and_writes_nothing_else(service: str) -> None:
    user, topics = service_user(service), consumed(service)
    assert topics_allowed(user, "Read") == topics | {dlq(t) for t in topics}
    assert topics_allowed(user, "Write") == {own_topic(service)} | {dlq(t) for t in topics}
    other_groups = {group(other, t) for other in SERVICES if other != service for t in consumed(other)}
    assert not [g for g in other_groups if allows(user, "group", g, "Read")]


@pytest.mark.parametrize("topic", PARTNER_TOPICS)
def test_a_partner_topic_is_written_only_by_its_partner(topic: str) -> None:
    users = of_kind(base(), "KafkaUser")
    assert {name for name, user in users.items() if allows(user, "topic", topic, "Write")} == {
        partner_user(topic)["metadata"]["name"]
    }


@pytest.mark.parametrize("topic", PARTNER_TOPICS)
def test_a_partner_writes_its_topic_and_reads_nothing(topic: str) -> None:
    user = partner_user(topic)
    assert topics_allowed(user, "Write") == {topic}
    assert topics_allowed(user, "Read") == set()
    assert all(acl["resource"]["type"] == "topic" for acl in acls(user)), "a partner joins no consumer group"


def test_every_user_is_a_service_or_a_partner() -> None:
    expected = {f"gendan-{s}" for s in SERVICES} | {f"partner-{t.split('.')[0]}" for t in PARTNER_TOPICS}
    assert set(of_kind(base(), "KafkaUser")) == expected


# -------------------------------------------------------------------- topics ---


def test_every_topic_in_the_code_has_a_kafka_topic_and_no_other() -> None:
    names = [doc["spec"].get("topicName", name) for name, doc in of_kind(base(), "KafkaTopic").items()]
    assert sorted(names) == sorted(all_topics())


def test_topics_are_replicated_and_outlive_no_inbox_mark() -> None:
    settings = ServiceSettings()
    for name, topic in of_kind(base(), "KafkaTopic").items():
        spec = topic["spec"]
        assert spec["replicas"] == 3, name
        assert int(spec["config"]["min.insync.replicas"]) == 2, name
        assert spec["partitions"] == settings.topic_partitions, name
        if not name.endswith(".dlq"):  # a redelivered message must still find its inbox mark
            assert int(spec["config"]["retention.ms"]) < settings.inbox_retention_days * DAY_MS, name


def test_kafka_resources_belong_to_the_cluster() -> None:
    [kafka] = list(of_kind(base(), "Kafka"))
    for kind in ("KafkaTopic", "KafkaUser", "KafkaNodePool"):
        for name, doc in of_kind(base(), kind).items():
            assert doc["metadata"]["labels"]["strimzi.io/cluster"] == kafka, f"{kind} {name}"


# ---------------------------------------------------------------- rendering ---


def validate(doc: Doc) -> None:
    schema = crd_schemas().get((doc["apiVersion"], doc["kind"]))
    if schema is not None:
        jsonschema.Draft202012Validator(schema).validate(doc)
    else:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_an_overlay_renders_and_every_resource_is_valid(overlay: str) -> None:
    docs = rendered(overlay)
    assert docs
    for doc in docs:
        try:
            validate(doc)
        except (jsonschema.ValidationError, kubernetes_validate.ValidationError) as error:
            pytest.fail(f"{overlay}: {doc['kind']} {doc['metadata']['name']}: {error}")


def containers(deployment: Doc) -> Iterator[Doc]:
    pod = deployment["spec"]["template"]["spec"]
    yield from pod.get("initContainers", [])
    yield from pod["containers"]


def env_of(container: Doc) -> dict[str, Doc]:
    return {var["name"]: var for var in container.get("env", [])}


def secret_of(var: Doc) -> tuple[str, str]:
    ref = var["valueFrom"]["secretKeyRef"]
    return ref["name"], ref["key"]


def runtime_config(docs: tuple[Doc, ...]) -> dict[str, str]:
    [config] = [doc for doc in docs if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].startswith("gendan-")]
    return dict(config["data"])


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_a_service_runs_migrated_probed_and_bounded(overlay: str, service: str) -> None:
    docs = rendered(overlay)
    deployment = of_kind(docs, "Deployment")[f"gendan-{service}"]
    pod = deployment["spec"]["template"]["spec"]
    [migrate], [main] = pod["initContainers"], pod["containers"]
    assert migrate["command"] == ["python", "-m", f"services.{service}", "migrate"]
    assert main["command"] == ["python", "-m", f"services.{service}"]
    [port] = main["ports"]
    assert port["name"] == "http"
    assert int(env_of(main)["HTTP_PORT"]["value"]) == port["containerPort"] == settings_class(service)().http_port
    assert main["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert main["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    for container in containers(deployment):
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), container["name"]
        assert {"cpu", "memory"} <= set(container["resources"]["limits"]), container["name"]
    partitions = min(of_kind(docs, "KafkaTopic")[t]["spec"]["partitions"] for t in consumed(service))
    assert deployment["spec"]["replicas"] <= partitions, "replicas beyond the partitions would consume nothing"
    assert runtime_config(docs)["MIGRATE_ON_START"] == "false", "the init container migrates"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_a_service_reaches_its_own_database_and_kafka_user(overlay: str, service: str) -> None:
    docs = rendered(overlay)
    deployment = of_kind(docs, "Deployment")[f"gendan-{service}"]
    cluster = of_kind(docs, "Cluster")[f"gendan-{service}-db"]
    assert cluster["spec"]["bootstrap"]["initdb"]["database"] == f"gendan_{service}"
    for container in containers(deployment):
        env = env_of(container)
        assert {secret_of(env[name])[0] for name in CNPG_ENV} == {f"{cluster['metadata']['name']}-app"}
        assert env["DATABASE_URL"]["value"].startswith("postgresql+asyncpg://$(CNPG_USER):$(CNPG_PASSWORD)@")
    [main] = deployment["spec"]["template"]["spec"]["containers"]
    user = of_kind(docs, "KafkaUser")[env_of(main)["KAFKA_USERNAME"]["value"]]
    assert user["metadata"]["name"] == f"gendan-{service}"
    assert secret_of(env_of(main)["KAFKA_PASSWORD"]) == (user["metadata"]["name"], "password")
    policy = of_kind(docs, "NetworkPolicy")[cluster["metadata"]["name"]]
    clients = policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]
    assert clients.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_reach_the_scram_listener_with_the_cluster_ca(overlay: str) -> None:
    docs = rendered(overlay)
    [(name, kafka)] = of_kind(docs, "Kafka").items()
    listeners = {f"{name}-kafka-bootstrap:{item['port']}": item for item in kafka["spec"]["kafka"]["listeners"]}
    config = runtime_config(docs)
    listener = listeners[config["KAFKA_BOOTSTRAP_SERVERS"]]
    assert listener["tls"] and listener["authentication"]["type"] == "scram-sha-512"
    assert (config["KAFKA_SECURITY_PROTOCOL"], config["KAFKA_SASL_MECHANISM"]) == ("SASL_SSL", "SCRAM-SHA-512")
    assert config["GENDAN_TOPIC_PREFIX"] == "", "topic, user and group names above carry no prefix"
    for deployment in of_kind(docs, "Deployment").values():
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert volumes["kafka-ca"]["secret"]["secretName"] == f"{name}-cluster-ca-cert"
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels.items() >= listener["networkPolicyPeers"][0]["podSelector"]["matchLabels"].items()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_a_disruption_budget_and_a_service(overlay: str) -> None:
    docs = rendered(overlay)
    budgets, services = of_kind(docs, "PodDisruptionBudget"), of_kind(docs, "Service")
    for name, deployment in of_kind(docs, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert budgets[name]["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert services[name]["spec"]["selector"].items() <= labels.items()
        assert services[name]["spec"]["ports"][0]["targetPort"] == "http"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_environment_is_what_the_settings_read(overlay: str) -> None:
    docs = rendered(overlay)
    for service in SERVICES:
        deployment = of_kind(docs, "Deployment")[f"gendan-{service}"]
        known = env_names(settings_class(service)) | KAFKA_SECURITY_ENV | CNPG_ENV
        names = set(runtime_config(docs)) | {n for c in containers(deployment) for n in env_of(c)}
        assert names <= known, f"{service} reads none of {sorted(names - known)}"


def test_the_services_read_the_kafka_credentials() -> None:
    assert env_names(ServiceSettings) >= KAFKA_SECURITY_ENV
