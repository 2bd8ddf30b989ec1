"""a foreign-currency payment's rate and its settled amount in the home currency

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("fx_rate", sa.Numeric(18, 8), nullable=True))
    op.add_column("payments", sa.Column("home_amount", sa.Numeric(18, 2), nullable=True))


def downgrade() -> None:
    op.drop_column("payments", "home_amount")
    op.drop_column("payments", "fx_rate")
