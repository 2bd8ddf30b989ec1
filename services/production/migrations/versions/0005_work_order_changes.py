"""work orders follow changes: unit price, the delivery date planned from, the change that opened one

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
    op.add_column("work_orders", sa.Column("unit_price", sa.Numeric(precision=18, scale=2), nullable=True))
    op.add_column("work_orders", sa.Column("delivery_date", sa.Date(), nullable=True))
    op.add_column(
        "work_orders", sa.Column("change_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default="")
    )
    op.alter_column("work_orders", "change_id", server_default=None)
    # work orders opened before: price unknown (nothing counted as stranded), planned back from their delivery date
    op.execute("UPDATE work_orders SET unit_price = 0, delivery_date = planned_completion + 5")
    op.alter_column("work_orders", "unit_price", nullable=False)
    op.alter_column("work_orders", "delivery_date", nullable=False)
    op.drop_constraint("work_orders_order_id_line_no_key", "work_orders", type_="unique")
    op.create_unique_constraint(
        "work_orders_order_id_line_no_change_id_key", "work_orders", ["order_id", "line_no", "change_id"]
    )


def downgrade() -> None:
    op.drop_constraint("work_orders_order_id_line_no_change_id_key", "work_orders", type_="unique")
    # refused (not deleted) while a line has a second work order from a change
    op.create_unique_constraint("work_orders_order_id_line_no_key", "work_orders", ["order_id", "line_no"])
    op.drop_column("work_orders", "change_id")
    op.drop_column("work_orders", "delivery_date")
    op.drop_column("work_orders", "unit_price")
