"""Database plumbing: engine and sessions, and the outbox, inbox and parking tables."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    LargeBinary,
    Numeric,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

SessionFactory = async_sessionmaker[AsyncSession]


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An asyncpg engine.

    No pre-ping (it costs three round trips per transaction): a connection broken by a database
    restart fails once as invalidated, and consumers and the relay retry that as transient."""
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: SessionFactory) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on success, rolls back on error."""
    async with sessions() as session, session.begin():
        yield session


def timestamp(nullable: bool = False) -> Any:
    """A timezone-aware timestamp column (naive datetimes are refused on flush)."""
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


def money() -> Any:
    """An exact amount with two decimals."""
    return Field(sa_column=Column(Numeric(18, 2), nullable=False))


class OutboxMessage(SQLModel, table=True):
    """An event committed with the state change that caused it, waiting for the relay.

    A row Kafka refuses for good is set aside (`failed_at`, `failure`): kept, counted, retried on request."""

    __tablename__ = "outbox"
    __table_args__ = (Index("outbox_unsent", "id", postgresql_where=text("sent_at IS NULL AND failed_at IS NULL")),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    event_id: UUID = Field(unique=True)
    topic: str
    key: str
    event_type: str
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = timestamp()
    sent_at: datetime | None = timestamp(nullable=True)
    failed_at: datetime | None = timestamp(nullable=True)
    failure: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    traceparent: str | None = None  # W3C trace context of the span that emitted it, sent as a Kafka header


class InboxMessage(SQLModel, table=True):
    """A message a consumer has applied; recorded in the same transaction as its effect."""

    __tablename__ = "inbox"

    consumer: str = Field(primary_key=True)
    message_id: str = Field(primary_key=True)
    processed_at: datetime = timestamp()


class ParkedMessage(SQLModel, table=True):
    """A message that arrived before what it depends on; replayed when `waits_for` appears."""

    __tablename__ = "parked"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    waits_for: str = Field(index=True)
    topic: str
    partition: int
    offset: int = Field(sa_column=Column(BigInteger, nullable=False))
    key: str | None = None
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    headers: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reason: str
    parked_at: datetime = timestamp()


class ExceptionRecord(SQLModel, table=True):
    """An exception this service raised: open until its condition clears or a person resolves it."""

    __tablename__ = "exceptions"

    id: str = Field(primary_key=True)
    order_id: str = Field(index=True)
    kind: str
    subject_type: str
    subject_id: str = ""
    severity: str = ""
    title: str = Field(default="", sa_column=Column(Text, nullable=False))
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    open: bool = Field(default=True, index=True)
    closed_by_person: bool = False
    raised_at: datetime = timestamp()
    due_by: datetime = timestamp()
    resolved_at: datetime | None = timestamp(nullable=True)


class DeadLetterAction(SQLModel, table=True):
    """What a person did with a dead letter (replayed or discarded), so it is done once."""

    __tablename__ = "dead_letter_actions"
    __table_args__ = (UniqueConstraint("topic", "partition", "offset"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    topic: str
    partition: int
    offset: int = Field(sa_column=Column(BigInteger, nullable=False))
    action: str
    by: str
    at: datetime = timestamp()
    note: str = Field(default="", sa_column=Column(Text, nullable=False))


# SQLSTATE classes that mean "try again": connection exceptions (08), transaction rollbacks such
# as deadlocks and serialization failures (40), insufficient resources (53), operator
# intervention like a server starting up or shutting down (57), system errors (58), lock
# not available (55P03). asyncpg reports several of them as plain DBAPIErrors.
TRANSIENT_SQLSTATE_CLASSES = {"08", "40", "53", "57", "58"}


def is_transient(error: BaseException) -> bool:
    """Whether a failure is the database or network being unavailable for now, not the message's fault."""
    if isinstance(error, DBAPIError):
        state = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None) or ""
        if error.connection_invalidated or state[:2] in TRANSIENT_SQLSTATE_CLASSES or state == "55P03":
            return True
        return isinstance(error, OperationalError | InterfaceError)
    return isinstance(error, OSError | TimeoutError | ConnectionError)


def asyncpg_dsn(url: str) -> str:
    """The plain asyncpg DSN of a SQLAlchemy asyncpg URL (for direct asyncpg connections)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class DeadLetterCount(SQLModel, table=True):
    """How many messages of a consumed topic this service dead-lettered (the open ones are those not yet
    replayed or discarded: see DeadLetterAction)."""

    __tablename__ = "dead_letter_counts"

    topic: str = Field(primary_key=True)
    total: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_at: datetime = timestamp()
    last_reason: str = Field(sa_column=Column(Text, nullable=False))
