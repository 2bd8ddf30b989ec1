"""payment terms and per-shipment invoices, tax, numbering, PDFs, payment matching and customer credit, shipment
hold, dunning

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


def _add_with_default(table: str, column: sa.Column, default: str) -> None:
    """A NOT NULL column; rows already there get `default`, new rows name their own value."""
    column.server_default = sa.text(default)
    op.add_column(table, column)
    op.alter_column(table, column.name, server_default=None)


def upgrade() -> None:
    _add_with_default("accounts", sa.Column("external_ref", TEXT(), nullable=False), "''")
    op.create_index(op.f("ix_accounts_external_ref"), "accounts", ["external_ref"], unique=False)
    _add_with_default("accounts", sa.Column("destination_country", TEXT(), nullable=False), "'CN'")
    _add_with_default("accounts", sa.Column("lines", sa.JSON(), nullable=False), "'[]'")
    op.add_column("accounts", sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
    _add_with_default("accounts", sa.Column("hold", TEXT(), nullable=False), "''")
    op.add_column("accounts", sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
    # orders whose delivery was invoiced before were delivered then
    op.execute(
        "UPDATE accounts a SET delivered_at = (SELECT min(i.issued_at) FROM invoices i"
        " WHERE i.order_id = a.order_id AND i.trigger = 'delivery')"
    )

    _add_with_default("invoices", sa.Column("shipment_id", TEXT(), nullable=False), "''")
    _add_with_default("invoices", sa.Column("lines", sa.JSON(), nullable=False), "'[]'")
    _add_with_default("invoices", sa.Column("tax_rate", sa.Numeric(precision=5, scale=2), nullable=False), "0")
    _add_with_default("invoices", sa.Column("tax_amount", sa.Numeric(precision=18, scale=2), nullable=False), "0")
    _add_with_default("invoices", sa.Column("reminder_level", sa.Integer(), nullable=False), "0")
    _add_with_default("invoices", sa.Column("past_due", sa.Boolean(), nullable=False), "false")
    op.drop_constraint("invoices_order_id_installment_change_id_key", "invoices", type_="unique")
    op.create_unique_constraint(
        "invoices_order_id_installment_change_id_shipment_id_key",
        "invoices",
        ["order_id", "installment", "change_id", "shipment_id"],
    )

    _add_with_default("payments", sa.Column("payer", TEXT(), nullable=False), "''")
    op.create_index(op.f("ix_payments_payer"), "payments", ["payer"], unique=False)
    _add_with_default("payments", sa.Column("reference", TEXT(), nullable=False), "''")
    _add_with_default("payments", sa.Column("order_ref", TEXT(), nullable=False), "''")
    op.add_column("payments", sa.Column("value_date", sa.Date(), nullable=True))
    _add_with_default("payments", sa.Column("credit_kept", sa.Numeric(precision=18, scale=2), nullable=False), "0")

    op.create_table(
        "payment_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", TEXT(), nullable=False),
        sa.Column("invoice_number", TEXT(), nullable=False),
        sa.Column("order_id", TEXT(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("source", TEXT(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_by", TEXT(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_payment_applications_payment_id"), "payment_applications", ["payment_id"])
    op.create_index(op.f("ix_payment_applications_invoice_number"), "payment_applications", ["invoice_number"])
    # what was applied before: one application per applied payment
    op.execute(
        "INSERT INTO payment_applications (payment_id, invoice_number, order_id, amount, source, applied_at,"
        " applied_by) SELECT id, invoice_number, order_id, amount, 'payment', applied_at,"
        " coalesce(applied_by, 'system')"
        " FROM payments WHERE status = 'applied'"
    )
    op.create_table(
        "customer_credits",
        sa.Column("customer", TEXT(), nullable=False),
        sa.Column("currency", TEXT(), nullable=False),
        sa.Column("balance", sa.Numeric(precision=22, scale=2), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer", "currency"),
    )
    op.create_table(
        "credit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer", TEXT(), nullable=False),
        sa.Column("currency", TEXT(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("payment_id", TEXT(), nullable=False),
        sa.Column("invoice_number", TEXT(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_credit_entries_customer"), "credit_entries", ["customer"])
    op.create_table(
        "invoice_sequences",
        sa.Column("kind", TEXT(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "year"),
    )
    op.create_table(
        "invoice_documents",
        sa.Column("number", TEXT(), nullable=False),
        sa.Column("kind", TEXT(), nullable=False),
        sa.Column("order_id", TEXT(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("checksum", TEXT(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_index(op.f("ix_invoice_documents_order_id"), "invoice_documents", ["order_id"])
    op.create_table(
        "payment_reminders",
        sa.Column("id", TEXT(), nullable=False),
        sa.Column("customer", TEXT(), nullable=False),
        sa.Column("currency", TEXT(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("total", sa.Numeric(precision=22, scale=2), nullable=False),
        sa.Column("invoices", sa.JSON(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_payment_reminders_customer"), "payment_reminders", ["customer"])


def downgrade() -> None:
    op.drop_index(op.f("ix_payment_reminders_customer"), table_name="payment_reminders")
    op.drop_table("payment_reminders")
    op.drop_index(op.f("ix_invoice_documents_order_id"), table_name="invoice_documents")
    op.drop_table("invoice_documents")
    op.drop_table("invoice_sequences")
    op.drop_index(op.f("ix_credit_entries_customer"), table_name="credit_entries")
    op.drop_table("credit_entries")
    op.drop_table("customer_credits")
    op.drop_index(op.f("ix_payment_applications_invoice_number"), table_name="payment_applications")
    op.drop_index(op.f("ix_payment_applications_payment_id"), table_name="payment_applications")
    op.drop_table("payment_applications")
    for column in ("credit_kept", "value_date", "order_ref", "reference"):
        op.drop_column("payments", column)
    op.drop_index(op.f("ix_payments_payer"), table_name="payments")
    op.drop_column("payments", "payer")
    op.drop_constraint("invoices_order_id_installment_change_id_shipment_id_key", "invoices", type_="unique")
    # refused (not deleted) while an installment has several per-shipment invoices
    op.create_unique_constraint(
        "invoices_order_id_installment_change_id_key", "invoices", ["order_id", "installment", "change_id"]
    )
    for column in ("past_due", "reminder_level", "tax_amount", "tax_rate", "lines", "shipment_id"):
        op.drop_column("invoices", column)
    for column in ("released_at", "hold", "delivered_at", "lines", "destination_country"):
        op.drop_column("accounts", column)
    op.drop_index(op.f("ix_accounts_external_ref"), table_name="accounts")
    op.drop_column("accounts", "external_ref")
