"""Logistics service tables."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Identity, LargeBinary, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import money, timestamp


def json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Consignment(SQLModel, table=True):
    """What logistics knows of an accepted order: where, by when and how many pieces of each line must arrive,
    as of the order version last applied; whether its terms hold shipments until billing releases them; a
    cancelled order ships nothing more."""

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
    customer: str = ""
    contact: str = ""
    currency: str = ""
    incoterm: str = ""
    lines: list[dict[str, Any]] = json_list()  # line_no, product, sku, unit, quantity, unit_price
    holds_shipment: bool = False  # the terms want payment before the goods leave
    released_at: datetime | None = timestamp(nullable=True)  # billing released the order's shipments
    held_reason: str = ""  # billing's last word on the hold


class Shipment(SQLModel, table=True):
    """A shipment carrying (part of) an order, what its carrier reported, and its proof of delivery."""

    __tablename__ = "shipments"

    id: str = Field(primary_key=True)
    order_id: str = Field(index=True)
    tracking_number: str = Field(unique=True)  # of its main leg (the only one when direct)
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
    lines: list[dict[str, int]] = json_list()  # line_no, quantity: what it carries
    received_lines: list[dict[str, int]] = json_list()  # line_no, quantity: what the consignee received
    net_weight_kg: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 3), nullable=True))
    volume_m3: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 3), nullable=True))
    mode_reason: str = ""
    held: bool = False  # waits for billing's release before it leaves
    dispatched_at: datetime | None = timestamp(nullable=True)  # released to its carrier
    reshipment_of: str | None = None  # the damaged or lost shipment it replaces
    customs_status: str | None = None  # exports: declared, released or held (customs.py)
    customs_number: str = ""
    customs_reason: str = ""
    eta: date | None = None
    signed_by: str = ""
    photo_ref: str = ""


class ShipmentLeg(SQLModel, table=True):
    """One leg of a shipment with its own carrier and tracking number; a direct shipment has one."""

    __tablename__ = "shipment_legs"

    shipment_id: str = Field(primary_key=True)
    leg_no: int = Field(primary_key=True)
    mode: str
    carrier: str
    tracking_number: str = Field(unique=True)
    origin: str = ""
    destination: str = ""
    days: int
    status: str
    last_event_at: datetime | None = timestamp(nullable=True)  # the carrier's time of the latest scan applied
    delivered_at: datetime | None = timestamp(nullable=True)


class CarrierScan(SQLModel, table=True):
    """Every carrier scan as received, kept in the order of the carrier's event times."""

    __tablename__ = "carrier_scans"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    shipment_id: str = Field(index=True)
    leg_no: int
    message_id: str
    status: str
    carrier_code: str = ""
    location: str = ""
    remark: str = ""
    occurred_at: datetime = timestamp()
    received_at: datetime = timestamp()


class ShippingDocument(SQLModel, table=True):
    """One version of a shipping document as a PDF; a new version only when its content changed."""

    __tablename__ = "shipping_documents"
    __table_args__ = (UniqueConstraint("shipment_id", "kind", "version"),)

    id: str = Field(primary_key=True)
    order_id: str = Field(index=True)
    shipment_id: str
    kind: str
    version: int
    checksum: str
    size: int
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = timestamp()


class ShippingDocumentPublic(SQLModel):
    """A document version as the API lists it (the PDF itself is downloaded separately)."""

    id: str
    order_id: str
    shipment_id: str
    kind: str
    version: int
    checksum: str
    size: int
    created_at: datetime


class CarrierClaim(SQLModel, table=True):
    """A claim against a carrier for damaged, lost or missing goods."""

    __tablename__ = "carrier_claims"

    id: str = Field(primary_key=True)
    order_id: str = Field(index=True)
    shipment_id: str
    carrier: str
    reason: str
    status: str
    amount: Decimal = money()
    currency: str
    evidence: list[str] = json_list()
    note: str = ""
    opened_at: datetime = timestamp()
    updated_at: datetime = timestamp()
    history: list[dict[str, str]] = json_list()  # status, at, by, note


class ShipmentLegPublic(SQLModel):
    leg_no: int
    mode: str
    carrier: str
    tracking_number: str
    origin: str
    destination: str
    status: str
    delivered_at: datetime | None


class ShipmentPublic(SQLModel):
    """A shipment as the API shows it."""

    id: str
    order_id: str
    tracking_number: str
    carrier: str
    mode: str
    mode_reason: str = ""
    status: str
    packages: int
    quantity: int
    weight_kg: Decimal
    planned_at: datetime
    delivered_at: datetime | None
    received_quantity: int | None
    lines: list[dict[str, int]] = []
    received_lines: list[dict[str, int]] = []
    held: bool = False
    dispatched_at: datetime | None = None
    reshipment_of: str | None = None
    eta: date | None = None
    signed_by: str = ""
    photo_ref: str = ""
    legs: list[ShipmentLegPublic] = []
