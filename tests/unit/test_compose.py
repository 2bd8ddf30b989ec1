"""docker-compose.yml, the Dockerfile and the PostgreSQL init script agree with the code.

No Docker engine is needed: the files are read and checked against the modules, the settings
classes and deploy.system.SERVICES. Compose-style `${VAR:-default}` values are resolved with
an empty shell environment, i.e. to their defaults, the way `docker compose up` sees them
when nothing is exported.
"""

import importlib
import importlib.util
import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from pydantic import AliasChoices, AliasPath, TypeAdapter
from pydantic_settings import BaseSettings
from sqlalchemy.engine import make_url

from deploy.simulators import SimulatorSettings
from deploy.system import SERVICES
from shared.settings import ServiceSettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
INIT_DIR = ROOT / "deploy" / "postgres-init"
SIMULATORS = "simulators"

S = TypeVar("S", bound=BaseSettings)


# ------------------------------------------------------------------ helpers ---

_VAR = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?|:\+|\+)(?P<arg>.*))?$", re.DOTALL)


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's variable substitution: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+a}."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["named"]:
            return env.get(match["named"], "")
        braced = _BRACED.match(match["braced"])
        assert braced, f"cannot parse ${{{match['braced']}}} in {value!r}"
        name, op, arg = braced["name"], braced["op"], interpolate(braced["arg"] or "", env)
        current = env.get(name)
        if op in (":-", "-"):
            return current if current or (op == "-" and current is not None) else arg
        if op in (":?", "?"):
            if current or (op == "?" and current is not None):
                return current
            raise AssertionError(f"{name} must be set: {arg}")
        if op in (":+", "+"):
            return arg if current or (op == "+" and current is not None) else ""
        return current or ""

    return _VAR.sub(replace, value)


def scalar(value: Any) -> str:
    """An environment value as the container sees it."""
    assert value is not None, "a variable without value is taken from the shell; give it one"
    if isinstance(value, bool):
        return "true" if value else "false"
    return interpolate(str(value), {})


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    return {name: scalar(value) for name, value in raw.items()}


def command(service: Mapping[str, Any]) -> list[str]:
    raw = service.get("command")
    assert raw, "every Gendan container needs a command: the image's default runs nothing"
    return shlex.split(raw) if isinstance(raw, str) else [str(part) for part in raw]


def container_ports(service: Mapping[str, Any]) -> set[int]:
    """Container-side ports of the `ports` entries (short and long syntax)."""
    found = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            target = entry["target"]
        else:
            target = interpolate(str(entry), {}).split("/")[0].rsplit(":", 1)[-1]
        found.add(int(target))
    return found


def env_names(settings: type[BaseSettings]) -> dict[str, str]:
    """Environment variable name -> field, the way pydantic-settings reads them.

    A field with an alias is read under the alias only (unless validate_by_name /
    populate_by_name is set): `ENV` does not reach ServiceSettings.env, `GENDAN_ENV` does.
    """
    config = settings.model_config
    prefix = config.get("env_prefix", "")
    by_name = config.get("validate_by_name") or config.get("populate_by_name")
    names: dict[str, str] = {}
    for field_name, field in settings.model_fields.items():
        alias = field.validation_alias or field.alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias] if alias else []
        aliases = [c.path[0] if isinstance(c, AliasPath) else c for c in choices]
        candidates = [str(a) for a in aliases] + ([prefix + field_name] if by_name or not aliases else [])
        for candidate in candidates:
            names[candidate if config.get("case_sensitive") else candidate.lower()] = field_name
    return names


def field_for(settings: type[BaseSettings], variable: str) -> str | None:
    key = variable if settings.model_config.get("case_sensitive") else variable.lower()
    return env_names(settings).get(key)


def load_settings(settings: type[S], env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> S:
    """The settings a container with exactly `env` builds (nothing leaks in from this process)."""
    known = set(env_names(settings))
    for name in list(os.environ):
        if name.lower() in known or name in known:
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return settings()


def settings_class(service: str) -> type[ServiceSettings]:
    spec = importlib.import_module(f"services.{service}.app").SPEC
    assert issubclass(spec.settings, ServiceSettings)
    return spec.settings


def created_databases() -> set[str]:
    """Databases the init scripts create (CREATE DATABASE statements, comments stripped)."""
    names = set()
    for script in sorted(INIT_DIR.glob("*.sql")):
        sql = re.sub(r"--[^\n]*|/\*.*?\*/", "", script.read_text(), flags=re.DOTALL)
        names |= {m.group(1) for m in re.finditer(r'\bCREATE\s+DATABASE\s+"?(\w+)"?', sql, re.IGNORECASE)}
    return names


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    text = re.sub(
        r"\\\n", " ", "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
    )
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip()) for line in text.splitlines() if line.strip()
    ]


# ----------------------------------------------------------------- fixtures ---


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    assert COMPOSE_FILE.is_file(), f"{COMPOSE_FILE} is missing"
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(document, dict) and isinstance(document.get("services"), dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


# -------------------------------------------------------- the four services ---


def test_compose_runs_exactly_the_gendan_processes(services: dict[str, dict[str, Any]]) -> None:
    built = {name for name, service in services.items() if "build" in service}
    assert built == {*SERVICES, SIMULATORS}


@pytest.mark.parametrize("name", SERVICES)
def test_service_command_runs_its_module(services: dict[str, dict[str, Any]], name: str) -> None:
    assert name in services, f"docker-compose.yml has no `{name}` service"
    assert command(services[name]) == ["python", "-m", f"services.{name}"]
    assert importlib.util.find_spec(f"services.{name}") is not None
    assert importlib.util.find_spec(f"services.{name}.__main__") is not None


@pytest.mark.parametrize("name", SERVICES)
def test_service_environment_names_settings_fields(services: dict[str, dict[str, Any]], name: str) -> None:
    settings = settings_class(name)
    env = environment(services[name])
    unknown = sorted(var for var in env if field_for(settings, var) is None)
    assert not unknown, f"{name}: {unknown} are not fields of {settings.__name__}; the service would ignore them"
    needed = {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "HTTP_HOST", "HTTP_PORT", "GENDAN_ENV"}
    assert needed <= set(env), f"{name} lacks {sorted(needed - set(env))}"


@pytest.mark.parametrize("name", SERVICES)
def test_service_settings_take_the_compose_values(
    services: dict[str, dict[str, Any]], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_cls = settings_class(name)
    env = environment(services[name])
    settings = load_settings(settings_cls, env, monkeypatch)  # also runs the production-URL validator
    for var, raw in env.items():
        field = field_for(settings_cls, var)
        assert field is not None
        expected = TypeAdapter(settings_cls.model_fields[field].annotation).validate_python(raw)
        assert getattr(settings, field) == expected, f"{name}: {var}={raw!r} did not reach {field}"
    assert settings.service_name == name
    assert settings.http_host == "0.0.0.0", "a service bound to 127.0.0.1 cannot be reached through a published port"


@pytest.mark.parametrize("name", SERVICES)
def test_service_database_is_its_own_and_created_by_the_init_script(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    url = make_url(environment(services[name])["DATABASE_URL"])
    postgres = environment(services["postgres"])
    assert url.drivername == "postgresql+asyncpg"
    assert url.host == "postgres" and url.host in services
    assert (url.port or 5432) == 5432
    assert url.username == postgres.get("POSTGRES_USER", "postgres")
    assert url.password == postgres["POSTGRES_PASSWORD"]
    assert url.database == f"gendan_{name}"
    assert url.database in created_databases(), f"{url.database} is not created by {INIT_DIR}"
    assert {"postgres": {"condition": "service_healthy"}}.items() <= services[name]["depends_on"].items()


def test_every_service_has_a_database_of_its_own(services: dict[str, dict[str, Any]]) -> None:
    databases = [make_url(environment(services[name])["DATABASE_URL"]).database for name in SERVICES]
    assert len(set(databases)) == len(SERVICES)
    assert created_databases() == {f"gendan_{name}" for name in SERVICES}


@pytest.mark.parametrize("name", SERVICES)
def test_http_port_is_the_published_container_port(services: dict[str, dict[str, Any]], name: str) -> None:
    port = int(environment(services[name])["HTTP_PORT"])
    assert port in container_ports(services[name]), (
        f"{name} listens on {port} but publishes {services[name].get('ports')}"
    )
    assert port == settings_class(name).model_fields["http_port"].default, "compose and the settings default disagree"


def test_published_ports_are_8001_to_8004(services: dict[str, dict[str, Any]]) -> None:
    ports = [container_ports(services[name]) for name in SERVICES]
    assert ports == [{8001}, {8002}, {8003}, {8004}]


@pytest.mark.parametrize("name", [*SERVICES, SIMULATORS])
def test_gendan_containers_use_the_shared_kafka(services: dict[str, dict[str, Any]], name: str) -> None:
    bootstrap = environment(services[name])["KAFKA_BOOTSTRAP_SERVERS"]
    host, _, port = bootstrap.partition(":")
    assert host in services, f"{name}: {host} is no compose service"
    advertised = environment(services[host])["KAFKA_ADVERTISED_LISTENERS"]
    assert f"://{host}:{port}" in advertised, f"{name}: Kafka does not advertise {bootstrap} ({advertised})"
    assert services[name]["depends_on"][host] == {"condition": "service_healthy"}
    assert services[name].get("restart") == "unless-stopped"


@pytest.mark.parametrize("name", SERVICES)
def test_service_migrations_ship_in_the_source_tree(name: str) -> None:
    """The image runs from the copied source tree; each service's Alembic folder must be in it."""
    migrations = importlib.import_module(f"services.{name}.app").SPEC.migrations
    assert migrations.resolve().is_relative_to(ROOT / "services")
    assert (migrations / "env.py").is_file() and (migrations / "script.py.mako").is_file()
    assert list((migrations / "versions").glob("*.py")), f"{name} has no migration"


# --------------------------------------------------------------- simulators ---


def test_simulators_command_and_environment(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = services[SIMULATORS]
    assert command(sim) == ["python", "-m", "deploy.simulators"]
    assert importlib.util.find_spec("deploy.simulators") is not None
    env = environment(sim)
    unknown = sorted(var for var in env if field_for(SimulatorSettings, var) is None)
    assert not unknown, f"simulators: {unknown} are not fields of SimulatorSettings"
    settings = load_settings(SimulatorSettings, env, monkeypatch)
    for var, raw in env.items():
        field = field_for(SimulatorSettings, var)
        assert field is not None
        expected = TypeAdapter(SimulatorSettings.model_fields[field].annotation).validate_python(raw)
        assert getattr(settings, field) == expected, f"simulators: {var}={raw!r} did not reach {field}"
    order = environment(services["order"])
    assert settings.kafka_bootstrap_servers == order["KAFKA_BOOTSTRAP_SERVERS"]
    assert settings.topic_prefix == order.get("GENDAN_TOPIC_PREFIX", ""), "simulators and services on other topics"


# --------------------------------------------------------- infrastructure ---


def test_kafka_is_a_single_kraft_node(services: dict[str, dict[str, Any]]) -> None:
    kafka = services["kafka"]
    env = environment(kafka)
    assert kafka["image"] == "apache/kafka:4.1.1"
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["CLUSTER_ID"] and env["KAFKA_NODE_ID"] == "1"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert "PLAINTEXT://:9092" in env["KAFKA_LISTENERS"].split(",")
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    for name in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[name] == "1", name
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"
    assert env["KAFKA_NUM_PARTITIONS"] == str(ServiceSettings.model_fields["topic_partitions"].default)
    assert kafka["healthcheck"]["test"]
    # The host listener is published on its own container port, advertised with the host port.
    host_listener = next(li for li in env["KAFKA_LISTENERS"].split(",") if li.startswith("PLAINTEXT_HOST://"))
    assert int(host_listener.rsplit(":", 1)[1]) in container_ports(kafka)


def test_postgres_runs_the_init_script_and_reports_health(services: dict[str, dict[str, Any]]) -> None:
    postgres = services["postgres"]
    assert str(postgres["image"]).startswith("postgres:16")
    mounts = [str(v).split(":") for v in postgres.get("volumes", [])]
    init = [m for m in mounts if m[1] == "/docker-entrypoint-initdb.d"]
    assert init, "the init script is not mounted"
    assert (COMPOSE_FILE.parent / init[0][0]).resolve() == INIT_DIR
    assert created_databases(), f"no CREATE DATABASE in {INIT_DIR}"
    assert environment(postgres)["POSTGRES_PASSWORD"], "the postgres image refuses to start without a password"
    assert postgres["healthcheck"]["test"]


def test_containers_wait_for_healthy_dependencies(services: dict[str, dict[str, Any]]) -> None:
    for name in [*SERVICES, SIMULATORS]:
        for dependency, condition in services[name]["depends_on"].items():
            assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}"
            assert services[dependency].get("healthcheck"), f"{name} waits for {dependency}, which has no healthcheck"


# ------------------------------------------------------------------- image ---


@pytest.mark.parametrize("name", [*SERVICES, SIMULATORS])
def test_build_uses_the_repository_dockerfile(services: dict[str, dict[str, Any]], name: str) -> None:
    build = services[name]["build"]
    if isinstance(build, str):
        build = {"context": build}
    context = (COMPOSE_FILE.parent / build.get("context", ".")).resolve()
    assert context == ROOT
    dockerfile = context / build.get("dockerfile", "Dockerfile")
    assert dockerfile == ROOT / "Dockerfile" and dockerfile.is_file()


def test_dockerfile_installs_the_project_and_runs_as_a_user() -> None:
    every = dockerfile_instructions(ROOT / "Dockerfile")
    stages = [i for i, (op, _) in enumerate(every) if op == "FROM"]
    steps = every[stages[-1] :]  # the image that runs; earlier stages only build the console's assets
    assert steps[0] == ("FROM", "python:3.11-slim")
    assert ("COPY", "--from=console-assets /assets/vendor/ services/order/console/static/vendor/") in steps
    runs = " && ".join(args for op, args in steps if op == "RUN")
    assert re.search(r"pip install\s+\.(\s|$)", runs), "the project (pyproject.toml) is not installed"
    assert "[dev]" not in runs
    copied = {args.split()[0].rstrip("/") for op, args in steps if op == "COPY" and not args.startswith("--from")}
    assert {"pyproject.toml", "shared", "services", "deploy"} <= copied
    env = " ".join(args for op, args in steps if op == "ENV")
    workdir = [args for op, args in steps if op == "WORKDIR"][-1]
    assert f"PYTHONPATH={workdir}" in env, "the copied source tree must be importable from any directory"
    users = [args for op, args in steps if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    ignored = {line.strip().strip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert not ignored & {"pyproject.toml", "shared", "services", "deploy"}
    assert {".venv", ".local", ".git"} <= ignored


# ------------------------------------------------------ the checks themselves ---


def test_env_names_follow_pydantic_settings_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    """An aliased field is read under its alias only: a compose file setting ENV would be caught."""
    assert field_for(ServiceSettings, "GENDAN_ENV") == "env"
    assert field_for(ServiceSettings, "gendan_topic_prefix") == "topic_prefix"
    assert field_for(ServiceSettings, "http_port") == "http_port"
    assert field_for(ServiceSettings, "ENV") is None
    assert field_for(ServiceSettings, "TOPIC_PREFIX") is None
    assert field_for(SimulatorSettings, "SIM_DELAY_SECONDS") == "sim_delay_seconds"
    settings = load_settings(ServiceSettings, {"ENV": "production", "TOPIC_PREFIX": "x."}, monkeypatch)
    assert (settings.env, settings.topic_prefix) == ("development", ""), "pydantic-settings changed its alias rules"


def test_interpolation_resolves_like_compose() -> None:
    assert interpolate("a:${P:-gendan}@h", {}) == "a:gendan@h"
    assert interpolate("a:${P:-gendan}@h", {"P": "s3cret"}) == "a:s3cret@h"
    assert interpolate("${P-x}", {"P": ""}) == ""
    assert interpolate("$$HOME and $P", {"P": "v"}) == "$HOME and v"
    with pytest.raises(AssertionError):
        interpolate("${P:?set it}", {})
