"""review, clarifications, versions, change requests, masters, tracking

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


def upgrade() -> None:
    op.create_table(
        "change_requests",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("order_version", sa.Integer(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("cancelled_lines", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("respond_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assessments", sa.JSON(), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmation", sa.Text(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_change_requests_order_id"), "change_requests", ["order_id"], unique=False)
    op.create_index(op.f("ix_change_requests_status"), "change_requests", ["status"], unique=False)
    op.create_table(
        "clarifications",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("order_version", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("field", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("raised_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_clarifications_open"), "clarifications", ["open"], unique=False)
    op.create_index(op.f("ix_clarifications_order_id"), "clarifications", ["order_id"], unique=False)
    op.create_table(
        "customers",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("credit_limit", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("contact_email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    departments = op.create_table(
        "review_departments",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(
        departments,
        [
            {"name": "production", "description": "Feasibility from load and capacity (automatic)", "active": True},
            {"name": "finance", "description": "Credit limit against open receivables (automatic)", "active": True},
        ],
    )
    op.create_table(
        "exposures",
        sa.Column("customer", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("open_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("overdue_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer", "currency"),
    )
    op.create_table(
        "line_progress",
        sa.Column("work_order_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("planned_completion", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("work_order_id"),
    )
    op.create_index(op.f("ix_line_progress_order_id"), "line_progress", ["order_id"], unique=False)
    op.create_table(
        "order_versions",
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("total_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("change_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "version"),
    )
    op.create_table(
        "products",
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("list_price", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("price_tolerance_percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sku"),
    )
    op.create_index(op.f("ix_products_name"), "products", ["name"], unique=False)
    op.create_table(
        "reviews",
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("department", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("order_version", sa.Integer(), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("confirmed", sa.JSON(), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "department"),
    )
    op.create_index(op.f("ix_reviews_decision"), "reviews", ["decision"], unique=False)
    op.add_column("orders", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("orders", sa.Column("confirmed_date", sa.Date(), nullable=True))
    op.add_column("orders", sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("orders", sa.Column("planned_completion", sa.Date(), nullable=True))
    op.add_column("orders", sa.Column("eta", sa.Date(), nullable=True))
    op.add_column(
        "orders", sa.Column("invoiced_amount", sa.Numeric(precision=18, scale=2), nullable=False, server_default="0")
    )
    op.add_column(
        "orders", sa.Column("paid_amount", sa.Numeric(precision=18, scale=2), nullable=False, server_default="0")
    )
    op.add_column(
        "orders", sa.Column("credited_amount", sa.Numeric(precision=18, scale=2), nullable=False, server_default="0")
    )
    op.add_column("orders", sa.Column("next_due_date", sa.Date(), nullable=True))
    op.add_column("orders", sa.Column("search", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("orders", "search")
    op.drop_column("orders", "next_due_date")
    op.drop_column("orders", "credited_amount")
    op.drop_column("orders", "paid_amount")
    op.drop_column("orders", "invoiced_amount")
    op.drop_column("orders", "eta")
    op.drop_column("orders", "planned_completion")
    op.drop_column("orders", "decided_at")
    op.drop_column("orders", "confirmed_date")
    op.drop_column("orders", "version")
    op.drop_index(op.f("ix_reviews_decision"), table_name="reviews")
    op.drop_table("reviews")
    op.drop_index(op.f("ix_products_name"), table_name="products")
    op.drop_table("products")
    op.drop_table("order_versions")
    op.drop_index(op.f("ix_line_progress_order_id"), table_name="line_progress")
    op.drop_table("line_progress")
    op.drop_table("exposures")
    op.drop_table("review_departments")
    op.drop_table("customers")
    op.drop_index(op.f("ix_clarifications_order_id"), table_name="clarifications")
    op.drop_index(op.f("ix_clarifications_open"), table_name="clarifications")
    op.drop_table("clarifications")
    op.drop_index(op.f("ix_change_requests_status"), table_name="change_requests")
    op.drop_index(op.f("ix_change_requests_order_id"), table_name="change_requests")
    op.drop_table("change_requests")
