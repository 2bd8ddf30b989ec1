"""production's milestone plan per work order, the order's next milestone, billing's shipment hold, shipment counts

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
    op.add_column("line_progress", sa.Column("milestones", sa.JSON(), nullable=True))
    op.add_column("orders", sa.Column("milestone", sa.String(), nullable=True))
    op.add_column("orders", sa.Column("milestone_date", sa.Date(), nullable=True))
    op.add_column("orders", sa.Column("shipment_hold", sa.Text(), nullable=True))
    for counter in ("shipments", "shipments_delivered"):
        op.add_column("orders", sa.Column(counter, sa.Integer(), nullable=False, server_default="0"))
        op.alter_column("orders", counter, server_default=None)


def downgrade() -> None:
    for column in ("shipments_delivered", "shipments", "shipment_hold", "milestone_date", "milestone"):
        op.drop_column("orders", column)
    op.drop_column("line_progress", "milestones")
