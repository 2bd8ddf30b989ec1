"""changes and cancellations: credit notes, supplementary invoices, each order's customer and receivables

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


def _add_with_default(table: str, column: sa.Column, default: str) -> None:
    """A NOT NULL column; rows already there get `default`, new rows name their own value."""
    column.server_default = sa.text(default)
    op.add_column(table, column)
    op.alter_column(table, column.name, server_default=None)


def upgrade() -> None:
    # accounts accepted before: customer unknown (empty), so no receivables are published for them
    _add_with_default("accounts", sa.Column("customer", sqlmodel.sql.sqltypes.AutoString(), nullable=False), "''")
    op.create_index(op.f("ix_accounts_customer"), "accounts", ["customer"], unique=False)
    _add_with_default("accounts", sa.Column("order_version", sa.Integer(), nullable=False), "1")
    op.add_column("accounts", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    _add_with_default("invoices", sa.Column("change_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False), "''")
    _add_with_default("invoices", sa.Column("credited_amount", sa.Numeric(precision=18, scale=2), nullable=False), "0")
    op.drop_constraint("invoices_order_id_installment_key", "invoices", type_="unique")
    op.create_unique_constraint(
        "invoices_order_id_installment_change_id_key", "invoices", ["order_id", "installment", "change_id"]
    )
    op.create_table(
        "credit_notes",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("invoice_number", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("change_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("invoice_number", "change_id"),
    )
    op.create_index(op.f("ix_credit_notes_order_id"), "credit_notes", ["order_id"], unique=False)
    op.create_table(
        "receivables",
        sa.Column("customer", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("open_amount", sa.Numeric(precision=22, scale=2), nullable=False),
        sa.Column("overdue_amount", sa.Numeric(precision=22, scale=2), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer", "currency"),
    )


def downgrade() -> None:
    op.drop_table("receivables")
    op.drop_index(op.f("ix_credit_notes_order_id"), table_name="credit_notes")
    op.drop_table("credit_notes")
    op.drop_constraint("invoices_order_id_installment_change_id_key", "invoices", type_="unique")
    # refused (not deleted) while an installment has a supplementary invoice
    op.create_unique_constraint("invoices_order_id_installment_key", "invoices", ["order_id", "installment"])
    op.drop_column("invoices", "credited_amount")
    op.drop_column("invoices", "change_id")
    op.drop_column("accounts", "cancelled_at")
    op.drop_column("accounts", "order_version")
    op.drop_index(op.f("ix_accounts_customer"), table_name="accounts")
    op.drop_column("accounts", "customer")
