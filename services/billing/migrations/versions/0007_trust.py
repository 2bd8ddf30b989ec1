"""partners' API keys, the audit trail, dead letters counted per topic, trace context of outbox events

Revision ID: 0007
Revises: 0006
"""

from shared.migrations import create_trust_tables, drop_trust_tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_trust_tables()


def downgrade() -> None:
    drop_trust_tables()
