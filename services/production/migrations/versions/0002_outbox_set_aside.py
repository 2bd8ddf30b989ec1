"""outbox rows Kafka refuses are set aside

Revision ID: 0002
Revises: 0001
"""

from shared.migrations import add_outbox_set_aside, drop_outbox_set_aside

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_set_aside()


def downgrade() -> None:
    drop_outbox_set_aside()
