"""exceptions; when a shipment was last scanned

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
    op.add_column("shipments", sa.Column("last_scan_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("shipments", "last_scan_at")
    op.drop_table("exceptions")
