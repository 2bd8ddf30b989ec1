"""What the consumer knows of a Kafka record, and how it words a failure."""

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError


@dataclass(frozen=True)
class Record:
    """Where a message came from: kept in dead-letter headers and parked rows."""

    topic: str
    partition: int
    offset: int
    key: str | None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def position(self) -> str:
        """topic/partition/offset: unique per record, stable across redeliveries and replays."""
        return f"{self.topic}/{self.partition}/{self.offset}"


def record_of(topic: str, raw: Any) -> Record:
    """Where a Kafka record came from; header values are decoded leniently (partners send anything)."""
    return Record(
        topic=topic,
        partition=raw.partition,
        offset=raw.offset,
        key=raw.key.decode(errors="replace") if raw.key else None,
        headers={k: (v or b"").decode(errors="replace") for k, v in raw.headers or ()},
    )


def reason(error: BaseException) -> str:
    """A reason a person can act on: the fields at fault, or the database's own words."""
    if isinstance(error, ValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()[:5])
        return f"schema-invalid: {problems}"
    if isinstance(error, DBAPIError) and error.orig is not None:  # not SQLAlchemy's wrapper and its hints
        error = error.orig
    return f"{type(error).__name__}: {error}"[:1000]


def peek_id(body: bytes) -> str:
    """The event id of a message that may not parse, for the rejection report."""
    try:
        value = json.loads(body).get("id", "")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""
