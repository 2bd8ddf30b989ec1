"""tracking table search (pg_trgm), customer milestone webhooks, deliveries about any subject

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_orders_search_trgm",
        "orders",
        ["search"],
        postgresql_using="gin",
        postgresql_ops={"search": "gin_trgm_ops"},
    )
    op.add_column("webhook_subscriptions", sa.Column("customer", sa.String(), nullable=True))
    op.add_column("webhook_subscriptions", sa.Column("milestones", sa.JSON(), nullable=False, server_default="[]"))
    op.alter_column("webhook_subscriptions", "milestones", server_default=None)
    op.create_index(op.f("ix_webhook_subscriptions_customer"), "webhook_subscriptions", ["customer"], unique=False)
    op.alter_column("webhook_deliveries", "exception_id", new_column_name="subject_id")
    op.add_column(
        "webhook_deliveries", sa.Column("subject_type", sa.String(), nullable=False, server_default="exception")
    )
    op.alter_column("webhook_deliveries", "subject_type", server_default=None)


def downgrade() -> None:
    op.execute("DELETE FROM webhook_deliveries WHERE subject_type <> 'exception'")
    op.drop_column("webhook_deliveries", "subject_type")
    op.alter_column("webhook_deliveries", "subject_id", new_column_name="exception_id")
    op.execute("DELETE FROM webhook_subscriptions WHERE customer IS NOT NULL")
    op.drop_index(op.f("ix_webhook_subscriptions_customer"), table_name="webhook_subscriptions")
    op.drop_column("webhook_subscriptions", "milestones")
    op.drop_column("webhook_subscriptions", "customer")
    op.drop_index("ix_orders_search_trgm", table_name="orders")
