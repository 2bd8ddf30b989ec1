"""partial and multi-leg shipments, shipping documents, carrier scans, claims, shipment hold

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


def _add(table: str, name: str, type_: sa.types.TypeEngine, default: str | None = None, null: bool = False) -> None:
    """A new column; one that may not be null is filled with `default` for the rows already there."""
    op.add_column(table, sa.Column(name, type_, nullable=null, server_default=None if null else default))
    if not null and default is not None:
        op.alter_column(table, name, server_default=None)


def upgrade() -> None:
    for name in ("customer", "contact", "currency", "incoterm", "held_reason"):
        _add("consignments", name, TEXT(), "")
    _add("consignments", "lines", sa.JSON(), "[]")
    _add("consignments", "holds_shipment", sa.Boolean(), "false")
    _add("consignments", "released_at", sa.DateTime(timezone=True), null=True)

    op.drop_constraint("shipments_order_id_key", "shipments", type_="unique")  # an order ships in parts now
    op.create_index(op.f("ix_shipments_order_id"), "shipments", ["order_id"])
    _add("shipments", "lines", sa.JSON(), "[]")
    _add("shipments", "received_lines", sa.JSON(), "[]")
    _add("shipments", "net_weight_kg", sa.Numeric(precision=12, scale=3), null=True)
    _add("shipments", "volume_m3", sa.Numeric(precision=12, scale=3), null=True)
    _add("shipments", "mode_reason", TEXT(), "")
    _add("shipments", "held", sa.Boolean(), "false")
    _add("shipments", "dispatched_at", sa.DateTime(timezone=True), null=True)
    _add("shipments", "reshipment_of", TEXT(), null=True)
    _add("shipments", "eta", sa.Date(), null=True)
    _add("shipments", "signed_by", TEXT(), "")
    _add("shipments", "photo_ref", TEXT(), "")
    # shipments planned before left at once with their carrier
    op.execute("UPDATE shipments SET dispatched_at = planned_at")

    op.create_table(
        "shipment_legs",
        sa.Column("shipment_id", TEXT(), nullable=False),
        sa.Column("leg_no", sa.Integer(), nullable=False),
        sa.Column("mode", TEXT(), nullable=False),
        sa.Column("carrier", TEXT(), nullable=False),
        sa.Column("tracking_number", TEXT(), nullable=False),
        sa.Column("origin", TEXT(), nullable=False),
        sa.Column("destination", TEXT(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("status", TEXT(), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("shipment_id", "leg_no"),
        sa.UniqueConstraint("tracking_number"),
    )
    # a shipment planned before travels direct: one leg, its own carrier and tracking number
    op.execute(
        "INSERT INTO shipment_legs (shipment_id, leg_no, mode, carrier, tracking_number, origin, destination, days,"
        " status, delivered_at) SELECT id, 1, mode, carrier, tracking_number, 'warehouse', 'consignee', 0, status,"
        " delivered_at FROM shipments"
    )
    op.create_table(
        "carrier_scans",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("shipment_id", TEXT(), nullable=False),
        sa.Column("leg_no", sa.Integer(), nullable=False),
        sa.Column("message_id", TEXT(), nullable=False),
        sa.Column("status", TEXT(), nullable=False),
        sa.Column("carrier_code", TEXT(), nullable=False),
        sa.Column("location", TEXT(), nullable=False),
        sa.Column("remark", TEXT(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_carrier_scans_shipment_id"), "carrier_scans", ["shipment_id"])
    op.create_table(
        "shipping_documents",
        sa.Column("id", TEXT(), nullable=False),
        sa.Column("order_id", TEXT(), nullable=False),
        sa.Column("shipment_id", TEXT(), nullable=False),
        sa.Column("kind", TEXT(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("checksum", TEXT(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shipment_id", "kind", "version"),
    )
    op.create_index(op.f("ix_shipping_documents_order_id"), "shipping_documents", ["order_id"])
    op.create_table(
        "carrier_claims",
        sa.Column("id", TEXT(), nullable=False),
        sa.Column("order_id", TEXT(), nullable=False),
        sa.Column("shipment_id", TEXT(), nullable=False),
        sa.Column("carrier", TEXT(), nullable=False),
        sa.Column("reason", TEXT(), nullable=False),
        sa.Column("status", TEXT(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", TEXT(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("note", TEXT(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_carrier_claims_order_id"), "carrier_claims", ["order_id"])


def downgrade() -> None:
    op.drop_table("carrier_claims")
    op.drop_table("shipping_documents")
    op.drop_table("carrier_scans")
    op.drop_table("shipment_legs")
    for name in ("photo_ref", "signed_by", "eta", "reshipment_of", "dispatched_at", "held", "mode_reason"):
        op.drop_column("shipments", name)
    for name in ("volume_m3", "net_weight_kg", "received_lines", "lines"):
        op.drop_column("shipments", name)
    op.drop_index(op.f("ix_shipments_order_id"), table_name="shipments")
    op.create_unique_constraint("shipments_order_id_key", "shipments", ["order_id"])
    for name in ("held_reason", "released_at", "holds_shipment", "lines", "incoterm", "currency", "contact"):
        op.drop_column("consignments", name)
    op.drop_column("consignments", "customer")
