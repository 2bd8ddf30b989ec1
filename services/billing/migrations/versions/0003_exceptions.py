"""exceptions; payments kept unapplied until they can be applied

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
    op.alter_column("payments", "match", nullable=True)
    op.add_column("payments", sa.Column("status", sa.String(), nullable=False, server_default="applied"))
    op.alter_column("payments", "status", server_default=None)
    op.create_index("ix_payments_status", "payments", ["status"])
    op.add_column("payments", sa.Column("problem", sa.String(), nullable=True))
    op.add_column("payments", sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE payments SET recorded_at = received_at")
    op.alter_column("payments", "recorded_at", nullable=False)
    op.add_column("payments", sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("payments", sa.Column("applied_by", sa.String(), nullable=True))


def downgrade() -> None:
    for column in ("applied_by", "applied_at", "recorded_at", "problem"):
        op.drop_column("payments", column)
    op.drop_index("ix_payments_status", table_name="payments")
    op.drop_column("payments", "status")
    op.alter_column("payments", "match", nullable=False)
    op.drop_table("exceptions")
