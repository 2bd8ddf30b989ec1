"""the milestone plan, the product master, MES progress per operation, approvals, inspections, purchase orders

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TEXT = sqlmodel.sql.sqltypes.AutoString

# work orders made before: as they were planned (no gates, no routing, the plant's defaults)
WORK_ORDER_COLUMNS = [
    ("sku", TEXT(), "''"),
    ("supplier", TEXT(), "''"),
    ("operations", sa.JSON(), "'[]'"),
    ("daily_capacity", sa.Integer(), "20000"),
    ("material_lead_days", sa.Integer(), "3"),
    ("qc_days", sa.Integer(), "1"),
    ("final_inspection", sa.Boolean(), "false"),
    ("released", sa.Boolean(), "true"),
    ("compressed", sa.Boolean(), "false"),
    ("final_passed", sa.Boolean(), "false"),
    ("received_quantity", sa.Integer(), "0"),
]


def upgrade() -> None:
    for name, type_, default in WORK_ORDER_COLUMNS:
        op.add_column("work_orders", sa.Column(name, type_, nullable=False, server_default=sa.text(default)))
        op.alter_column("work_orders", name, server_default=None)
    op.add_column("work_orders", sa.Column("sample_days", sa.Integer(), nullable=True))
    op.add_column("work_orders", sa.Column("pre_production_days", sa.Integer(), nullable=True))
    op.add_column("work_orders", sa.Column("projected_completion", sa.Date(), nullable=True))
    op.add_column("work_orders", sa.Column("produced_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("work_orders", sa.Column("confirmed_date", sa.Date(), nullable=True))
    op.add_column("work_orders", sa.Column("machine_event_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "product_routings",
        sa.Column("sku", TEXT(), nullable=False),
        sa.Column("name", TEXT(), nullable=False),
        sa.Column("make_or_buy", TEXT(), nullable=False),
        sa.Column("supplier", TEXT(), nullable=False),
        sa.Column("material_lead_days", sa.Integer(), nullable=False),
        sa.Column("sample_required", sa.Boolean(), nullable=False),
        sa.Column("sample_days", sa.Integer(), nullable=False),
        sa.Column("pre_production_required", sa.Boolean(), nullable=False),
        sa.Column("pre_production_days", sa.Integer(), nullable=False),
        sa.Column("qc_days", sa.Integer(), nullable=False),
        sa.Column("operations", sa.JSON(), nullable=False),
        sa.Column("daily_capacity", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sku"),
    )
    op.create_index(op.f("ix_product_routings_name"), "product_routings", ["name"], unique=False)
    op.create_table(
        "work_order_milestones",
        sa.Column("work_order_id", TEXT(), nullable=False),
        sa.Column("name", TEXT(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("planned", sa.Date(), nullable=False),
        sa.Column("projected", sa.Date(), nullable=True),
        sa.Column("actual", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("work_order_id", "name"),
    )
    op.create_table(
        "operation_progress",
        sa.Column("work_order_id", TEXT(), nullable=False),
        sa.Column("operation", TEXT(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("good_quantity", sa.Integer(), nullable=False),
        sa.Column("scrap_quantity", sa.Integer(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("work_order_id", "operation"),
    )
    op.create_table(
        "gate_approvals",
        sa.Column("id", TEXT(), nullable=False),
        sa.Column("work_order_id", TEXT(), nullable=False),
        sa.Column("gate", TEXT(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("comments", TEXT(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("by", TEXT(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_gate_approvals_work_order_id"), "gate_approvals", ["work_order_id"], unique=False)
    op.create_table(
        "quality_inspections",
        sa.Column("id", TEXT(), nullable=False),
        sa.Column("work_order_id", TEXT(), nullable=False),
        sa.Column("order_id", TEXT(), nullable=False),
        sa.Column("stage", TEXT(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("inspected_quantity", sa.Integer(), nullable=False),
        sa.Column("defect_quantity", sa.Integer(), nullable=False),
        sa.Column("note", TEXT(), nullable=False),
        sa.Column("by", TEXT(), nullable=False),
        sa.Column("inspected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", TEXT(), nullable=False),
        sa.Column("decided_by", TEXT(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_quality_inspections_work_order_id"), "quality_inspections", ["work_order_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_quality_inspections_work_order_id"), table_name="quality_inspections")
    op.drop_table("quality_inspections")
    op.drop_index(op.f("ix_gate_approvals_work_order_id"), table_name="gate_approvals")
    op.drop_table("gate_approvals")
    op.drop_table("operation_progress")
    op.drop_table("work_order_milestones")
    op.drop_index(op.f("ix_product_routings_name"), table_name="product_routings")
    op.drop_table("product_routings")
    for name in (
        "machine_event_at",
        "confirmed_date",
        "produced_at",
        "projected_completion",
        "pre_production_days",
        "sample_days",
    ):
        op.drop_column("work_orders", name)
    for name, _, _ in reversed(WORK_ORDER_COLUMNS):
        op.drop_column("work_orders", name)
