"""Logistics rules: choosing a transport mode and carrier, ordering carrier statuses. Pure."""

from datetime import date
from decimal import Decimal
from enum import StrEnum

from shared.contracts import CarrierException, CarrierStatus

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


# Statuses in which a shipment is on its way and its carrier should be scanning it.
MOVING = (ShipmentStatus.PICKED_UP, ShipmentStatus.IN_TRANSIT, ShipmentStatus.CUSTOMS, ShipmentStatus.OUT_FOR_DELIVERY)

EXCEPTION_KINDS = {
    CarrierException.DELAY: "logistics.carrier_delay",
    CarrierException.DAMAGE: "logistics.carrier_damage",
    CarrierException.LOSS: "logistics.carrier_loss",
    CarrierException.FAILED_DELIVERY: "logistics.delivery_failed",
}


def exception_kind(code: CarrierException | None) -> str:
    """The exception kind of a carrier's exception scan."""
    return EXCEPTION_KINDS.get(code, "logistics.carrier_exception") if code else "logistics.carrier_exception"


def cleared_by(status: str, *always: str) -> list[str]:
    """The exceptions a scan clears: any scan ends a silence; progress ends a delay or a failed attempt."""
    cleared = [f"logistics.{name}" for name in always]
    if status != ShipmentStatus.EXCEPTION:
        cleared += ["logistics.carrier_delay", "logistics.delivery_failed", "logistics.carrier_exception"]
    return cleared


def days_late(promised: date, delivered: date) -> int:
    """Days after the promised date the goods arrived (0 when on time)."""
    return max((delivered - promised).days, 0)
