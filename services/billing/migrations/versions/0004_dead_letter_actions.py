"""what people did with dead letters

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from shared.migrations import create_dead_letter_actions_table

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_dead_letter_actions_table()


def downgrade() -> None:
    op.drop_table("dead_letter_actions")
