"""exports: a shipment's customs declaration (declared, released or held) and its reason

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("shipments", sa.Column("customs_status", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    for column in ("customs_number", "customs_reason"):
        op.add_column(
            "shipments", sa.Column(column, sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default="")
        )
        op.alter_column("shipments", column, server_default=None)


def downgrade() -> None:
    for column in ("customs_reason", "customs_number", "customs_status"):
        op.drop_column("shipments", column)
