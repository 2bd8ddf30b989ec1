"""outbox rows Kafka refuses are set aside; orders marked when one of their events was rejected

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from shared.migrations import add_outbox_set_aside, drop_outbox_set_aside

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_set_aside()
    op.add_column("orders", sa.Column("attention", sa.Text(), nullable=True))
    op.add_column("orders", sa.Column("attention_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    drop_outbox_set_aside()
    op.drop_column("orders", "attention_at")
    op.drop_column("orders", "attention")
