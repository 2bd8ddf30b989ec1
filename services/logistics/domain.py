"""Logistics rules: choosing a transport mode and carrier, ordering carrier statuses. Pure."""

from datetime import date
from decimal import Decimal

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


# Carrier statuses in the order a shipment passes them; "exception" can happen at any point.
PROGRESS = ("planned", "picked_up", "in_transit", "customs", "out_for_delivery", "delivered")


def moves_forward(current: str, reported: str) -> bool:
    """Whether a scan tells something new: late scans of an earlier stage are ignored."""
    if current == "delivered" or current == reported:
        return False
    if reported == "exception" or current == "exception":
        return True
    return PROGRESS.index(reported) > PROGRESS.index(current)
