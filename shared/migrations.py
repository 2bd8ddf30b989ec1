"""Alembic plumbing shared by every service: the env runner, programmatic upgrade, common tables."""

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared import access, db  # noqa: F401  (the plumbing tables belong to every service's metadata)

MIGRATION_LOCK = 4_815_162_342  # advisory lock: concurrent instances migrate one at a time


def config(migrations_dir: Path, url: str) -> Config:
    """An Alembic config for one service's migrations folder and database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head(migrations_dir: Path) -> str | None:
    """The newest revision of a service's migrations."""
    return ScriptDirectory(str(migrations_dir)).get_current_head()


def upgrade(migrations_dir: Path, url: str) -> None:
    """Bring the database to the newest revision (blocking; call from a thread in async code)."""
    command.upgrade(config(migrations_dir, url), "head")


def run_env(target_metadata: sa.MetaData) -> None:
    """Body of every service's env.py: online migrations over asyncpg, under an advisory lock."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "the service sets sqlalchemy.url"
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def run(connection: Connection) -> None:
        connection.execute(sa.text(f"SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        connection.execute(sa.text(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})"))

    async def main() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(main())


def create_plumbing_tables() -> None:
    """The outbox, inbox and parking tables, created by each service's first migration."""
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("topic", sa.String, nullable=False),
        sa.Column("key", sa.String, nullable=False),
        sa.Column("event_type", sa.String, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("sent_at", ts, nullable=True),
    )
    op.create_index("outbox_unsent", "outbox", ["id"], postgresql_where=sa.text("sent_at IS NULL"))
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String, primary_key=True),
        sa.Column("message_id", sa.String, primary_key=True),
        sa.Column("processed_at", ts, nullable=False),
    )
    op.create_table(
        "parked",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("waits_for", sa.String, nullable=False, index=True),
        sa.Column("topic", sa.String, nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("key", sa.String, nullable=True),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("parked_at", ts, nullable=False),
    )


def drop_plumbing_tables() -> None:
    """Undo `create_plumbing_tables`."""
    for table in ("parked", "inbox", "outbox"):
        op.drop_table(table)


def add_outbox_set_aside() -> None:
    """Outbox rows Kafka refuses for good are set aside instead of blocking the relay."""
    op.add_column("outbox", sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("outbox", sa.Column("failure", sa.Text, nullable=True))
    op.drop_index("outbox_unsent", table_name="outbox")
    op.create_index(
        "outbox_unsent", "outbox", ["id"], postgresql_where=sa.text("sent_at IS NULL AND failed_at IS NULL")
    )


def drop_outbox_set_aside() -> None:
    """Undo `add_outbox_set_aside`."""
    op.drop_index("outbox_unsent", table_name="outbox")
    op.create_index("outbox_unsent", "outbox", ["id"], postgresql_where=sa.text("sent_at IS NULL"))
    op.drop_column("outbox", "failure")
    op.drop_column("outbox", "failed_at")


def create_exceptions_table() -> None:
    """The exceptions a service raised (ExceptionRecord)."""
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "exceptions",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("order_id", sa.String, nullable=False, index=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("subject_type", sa.String, nullable=False),
        sa.Column("subject_id", sa.String, nullable=False),
        sa.Column("severity", sa.String, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("facts", sa.JSON, nullable=False),
        sa.Column("open", sa.Boolean, nullable=False, index=True),
        sa.Column("closed_by_person", sa.Boolean, nullable=False),
        sa.Column("raised_at", ts, nullable=False),
        sa.Column("due_by", ts, nullable=False),
        sa.Column("resolved_at", ts, nullable=True),
    )


def create_dead_letter_actions_table() -> None:
    """What people did with dead letters (DeadLetterAction)."""
    op.create_table(
        "dead_letter_actions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("topic", sa.String, nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("by", sa.String, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.UniqueConstraint("topic", "partition", "offset"),
    )


def create_trust_tables() -> None:
    """Partners' API keys, the audit trail, dead letters counted per topic, and the trace context of an
    outbox event (issue 12): the same in every service."""
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "partner_keys",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("partner", sa.String, nullable=False, index=True),
        sa.Column("name", sa.String, nullable=False, index=True),
        sa.Column("key_hash", sa.String, nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("created_by", sa.String, nullable=False),
        sa.Column("revoked_at", ts, nullable=True),
        sa.Column("revoked_by", sa.String, nullable=True),
        sa.Column("last_used_at", ts, nullable=True),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", ts, nullable=False),
        sa.Column("actor", sa.String, nullable=False, index=True),
        sa.Column("actor_kind", sa.String, nullable=False),
        sa.Column("method", sa.String, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("source", sa.String, nullable=False),
    )
    op.create_table(
        "dead_letter_counts",
        sa.Column("topic", sa.String, primary_key=True),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("last_at", ts, nullable=False),
        sa.Column("last_reason", sa.Text, nullable=False),
    )
    op.add_column("outbox", sa.Column("traceparent", sa.String, nullable=True))


def drop_trust_tables() -> None:
    """Undo `create_trust_tables`."""
    op.drop_column("outbox", "traceparent")
    for table in ("dead_letter_counts", "audit", "partner_keys"):
        op.drop_table(table)
