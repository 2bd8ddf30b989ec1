"""exceptions and the board; each order shows its open exceptions

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from shared.migrations import create_exceptions_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_exceptions_table()
    op.add_column("orders", sa.Column("open_exceptions", sa.Integer(), nullable=False, server_default="0"))
    op.alter_column("orders", "open_exceptions", server_default=None)
    op.add_column("orders", sa.Column("worst_severity", sa.String(), nullable=True))
    op.create_table(
        "board",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("order_id", sa.String(), nullable=False, index=True),
        sa.Column("customer", sa.String(), nullable=True, index=True),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("stage", sa.String(), nullable=False, index=True),
        sa.Column("kind", sa.String(), nullable=False, index=True),
        sa.Column("severity", sa.String(), nullable=False, index=True),
        sa.Column("owner_role", sa.String(), nullable=False),
        sa.Column("assignee", sa.String(), nullable=True, index=True),
        sa.Column("subject_type", sa.String(), nullable=False),
        sa.Column("subject_id", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("cause", sa.String(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False, index=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
    )
    op.create_table(
        "board_actions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("exception_id", sa.String(), nullable=False, index=True),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("by", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("board_actions")
    op.drop_table("board")
    op.drop_column("orders", "worst_severity")
    op.drop_column("orders", "open_exceptions")
    op.drop_table("exceptions")
