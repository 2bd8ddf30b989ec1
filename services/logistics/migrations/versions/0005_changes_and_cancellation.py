"""consignments follow accepted changes and cancellation; the pieces a shipment carries

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("consignments", sa.Column("order_version", sa.Integer(), nullable=False, server_default="1"))
    op.add_column(
        "consignments", sa.Column("change_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default="")
    )
    op.add_column("consignments", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    op.alter_column("consignments", "order_version", server_default=None)
    op.alter_column("consignments", "change_id", server_default=None)
    op.add_column("shipments", sa.Column("quantity", sa.Integer(), nullable=True))
    # shipments planned before carry the whole order (an order travels as one shipment)
    op.execute(
        "UPDATE shipments SET quantity = consignments.quantity FROM consignments"
        " WHERE consignments.order_id = shipments.order_id"
    )
    op.execute("UPDATE shipments SET quantity = 0 WHERE quantity IS NULL")
    op.alter_column("shipments", "quantity", nullable=False)


def downgrade() -> None:
    op.drop_column("shipments", "quantity")
    op.drop_column("consignments", "cancelled_at")
    op.drop_column("consignments", "change_id")
    op.drop_column("consignments", "order_version")
