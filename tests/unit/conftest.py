"""Unit tests see none of the caller's environment: the servers a developer names (KAFKA_*, DATABASE_URL,
as the README says) or any other setting must not change what a unit test reads."""

import os
from collections.abc import Iterator

import pytest
from pydantic_settings import BaseSettings

# What any settings class here may read: every field (and alias) of every BaseSettings subclass, and
# the families of names the services and tools use.
PREFIXES = ("GENDAN_", "KAFKA_", "DATABASE_", "AUTH_", "HTTP_", "SIM_", "MASTER_", "PG")


def settings_names() -> set[str]:
    names: set[str] = set()
    pending = list(BaseSettings.__subclasses__())
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        for name, info in cls.model_fields.items():
            names |= {name.upper(), *([info.alias.upper()] if info.alias else [])}
    return names


@pytest.fixture(autouse=True)
def no_caller_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    known = settings_names()
    for name in list(os.environ):
        if name.upper() in known or name.upper().startswith(PREFIXES):
            monkeypatch.delenv(name)
    yield
