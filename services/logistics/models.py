"""Logistics service tables."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Numeric
from sqlmodel import Field, SQLModel

from shared.db import timestamp


class Consignment(SQLModel, table=True):
    """What logistics knows of an accepted order: where, by when and how many pieces must arrive, as of the
    order version last applied; a cancelled order ships nothing more."""

    __tablename__ = "consignments"

    order_id: str = Field(primary_key=True)
    delivery_date: date
    delivery_address: str
    country: str
    quantity: int
    correlation_id: str
    order_version: int = 1  # a change of this version or older has been applied already
    change_id: str = ""  # the change that made this version
    cancelled_at: datetime | None = timestamp(nullable=True)


class Shipment(SQLModel, table=True):
    """The shipment carrying an order, and what its carrier reported."""

    __tablename__ = "shipments"

    id: str = Field(primary_key=True)
    order_id: str = Field(unique=True)
    tracking_number: str = Field(unique=True)
    carrier: str
    mode: str
    status: str
    packages: int
    quantity: int  # pieces it carries: what has left the warehouse once a carrier picked it up
    weight_kg: Decimal = Field(sa_column=Column(Numeric(12, 3), nullable=False))
    planned_at: datetime = timestamp()
    delivered_at: datetime | None = timestamp(nullable=True)
    received_quantity: int | None = None
    last_scan_at: datetime | None = timestamp(nullable=True)


class ShipmentPublic(SQLModel):
    """A shipment as the API shows it."""

    id: str
    order_id: str
    tracking_number: str
    carrier: str
    mode: str
    status: str
    packages: int
    quantity: int
    weight_kg: Decimal
    planned_at: datetime
    delivered_at: datetime | None
    received_quantity: int | None
