"""Logistics service tables."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Numeric
from sqlmodel import Field, SQLModel

from shared.db import timestamp


class Consignment(SQLModel, table=True):
    """What logistics knows of an accepted order: where and by when it must arrive."""

    __tablename__ = "consignments"

    order_id: str = Field(primary_key=True)
    delivery_date: date
    delivery_address: str
    country: str
    quantity: int
    correlation_id: str


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
    weight_kg: Decimal
    planned_at: datetime
    delivered_at: datetime | None
    received_quantity: int | None
