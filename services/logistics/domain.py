"""Logistics rules: choosing a transport mode and carrier, ordering carrier statuses. Pure."""

from datetime import date
from decimal import Decimal
from enum import StrEnum

from shared.contracts import CarrierStatus

HOME_COUNTRY = "CN"
EXPRESS_MAX_KG = Decimal(30)

CARRIERS = {"express": "sf-express", "truck": "deppon", "sea": "cosco", "air": "air-china-cargo"}


def choose_mode(*, today: date, due: date, country: str, weight_kg: Decimal) -> str:
    """Cheapest mode that still makes the due date: parcels go express, freight by road or sea, late freight by air."""
    days_left = (due - today).days
    if weight_kg <= EXPRESS_MAX_KG:
        return "express"
    if country == HOME_COUNTRY:
        return "truck"
    return "air" if days_left < 21 else "sea"


def carrier_for(mode: str) -> str:
    """The contracted carrier for a mode."""
    return CARRIERS[mode]


class ShipmentStatus(StrEnum):
    """Where a shipment stands: planned by us, then what its carrier last reported."""

    PLANNED = "planned"
    PICKED_UP = CarrierStatus.PICKED_UP.value
    IN_TRANSIT = CarrierStatus.IN_TRANSIT.value
    CUSTOMS = CarrierStatus.CUSTOMS.value
    OUT_FOR_DELIVERY = CarrierStatus.OUT_FOR_DELIVERY.value
    DELIVERED = CarrierStatus.DELIVERED.value
    EXCEPTION = CarrierStatus.EXCEPTION.value


# The statuses in the order a shipment passes them; "exception" can happen at any point.
PROGRESS = tuple(s for s in ShipmentStatus if s != ShipmentStatus.EXCEPTION)


def moves_forward(current: str, reported: str) -> bool:
    """Whether a scan tells something new: late scans of an earlier stage are ignored."""
    if current == ShipmentStatus.DELIVERED or current == reported:
        return False
    if ShipmentStatus.EXCEPTION in (current, reported):
        return True
    return PROGRESS.index(ShipmentStatus(reported)) > PROGRESS.index(ShipmentStatus(current))


def ships_on(wms_type: str) -> bool:
    """Goods are shipped once packed; receipts and picks change nothing yet."""
    return wms_type == "packed"


def needs_shipment(planned: int) -> bool:
    """An order travels as one shipment: a second packing report plans nothing more."""
    return planned == 0
