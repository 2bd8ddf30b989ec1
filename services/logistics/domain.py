"""Logistics rules: choosing a transport mode and carrier, ordering carrier statuses, the impact of a change
on what is planned and shipped. Pure."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from services.logistics.planning import DEFAULT_TABLE, HOME_COUNTRY, Mode, ModeTable, choose
from shared.contracts import CarrierException, CarrierStatus
from shared.findings import Findings

__all__ = ["HOME_COUNTRY", "Mode"]  # re-exported from planning for the change rules' callers


def choose_mode(*, today: date, due: date, country: str, weight_kg: Decimal, table: ModeTable = DEFAULT_TABLE) -> Mode:
    """Cheapest mode that still makes the due date (see planning.choose): parcels go express, freight by road
    at home, by sea abroad, late freight by air."""
    return choose(today=today, due=due, country=country, weight_kg=weight_kg, table=table).mode


CARRIERS = {mode: spec.carrier for mode, spec in DEFAULT_TABLE.modes.items()}


def carrier_for(mode: str) -> str:
    """The contracted carrier for a mode."""
    return CARRIERS[Mode(mode)]


# Days from handing the goods to the carrier to delivery, door to door, as the carriers quote them.
TRANSIT_DAYS = {mode: spec.transit_days for mode, spec in DEFAULT_TABLE.modes.items()}


def earliest_arrival(mode: str, *, today: date) -> date:
    """When goods handed over today can be delivered at the earliest by this mode."""
    return today + timedelta(days=TRANSIT_DAYS[Mode(mode)])


def promised(mode: str, *, today: date, due: date) -> date:
    """The delivery date logistics can promise: the date asked, or the mode's earliest arrival if later."""
    return max(due, earliest_arrival(mode, today=today))


class ShipmentStatus(StrEnum):
    """Where a shipment stands: planned by us, then what its carrier last reported."""

    PLANNED = "planned"
    PICKED_UP = CarrierStatus.PICKED_UP.value
    IN_TRANSIT = CarrierStatus.IN_TRANSIT.value
    CUSTOMS = CarrierStatus.CUSTOMS.value
    OUT_FOR_DELIVERY = CarrierStatus.OUT_FOR_DELIVERY.value
    DELIVERED = CarrierStatus.DELIVERED.value
    EXCEPTION = CarrierStatus.EXCEPTION.value
    CANCELLED = "cancelled"


# The statuses in the order a shipment passes them; "exception" can happen at any point, "cancelled" only
# before the carrier picked the goods up.
PROGRESS = tuple(s for s in ShipmentStatus if s not in (ShipmentStatus.EXCEPTION, ShipmentStatus.CANCELLED))


def moves_forward(current: str, reported: str) -> bool:
    """Whether a scan tells something new: late scans of an earlier stage are ignored, and a cancelled
    shipment stays cancelled whatever its carrier still reports."""
    if current in (ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED) or current == reported:
        return False
    if ShipmentStatus.EXCEPTION in (current, reported):
        return True
    return PROGRESS.index(ShipmentStatus(reported)) > PROGRESS.index(ShipmentStatus(current))


def ships_on(wms_type: str) -> bool:
    """Goods are shipped once packed; receipts and picks change nothing yet."""
    return wms_type == "packed"


def needs_shipment(left: int, *, cancelled: bool = False) -> bool:
    """A packed batch becomes a shipment while pieces of the order are left to ship: a packing report of goods
    already shipped plans nothing more, and goods packed for a cancelled order stay in the warehouse."""
    return left > 0 and not cancelled


def left_warehouse(status: str) -> bool:
    """Whether a carrier has the goods (or delivered them): from then on a change cannot touch the shipment."""
    return status not in (ShipmentStatus.PLANNED, ShipmentStatus.CANCELLED)


def packed_pieces(reported: int, ordered: int) -> int:
    """The pieces a packing report covers: as the warehouse counted them, else the whole order (a WMS that
    reports weight and packages only)."""
    return reported or ordered


# Statuses in which a shipment is on its way and its carrier should be scanning it.
MOVING = (ShipmentStatus.PICKED_UP, ShipmentStatus.IN_TRANSIT, ShipmentStatus.CUSTOMS, ShipmentStatus.OUT_FOR_DELIVERY)

# What a leg before the last reports as the shipment's own status; its delivery is a hand-over (in transit).
EN_ROUTE = (ShipmentStatus.PICKED_UP, ShipmentStatus.IN_TRANSIT, ShipmentStatus.CUSTOMS)

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


# --- changes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Freight:
    """What freight costs per kg by mode and what a piece weighs, for estimating a change before anything is
    packed (rates in the order's currency)."""

    per_kg: Mapping[Mode, Decimal] = field(
        default_factory=lambda: {
            Mode.EXPRESS: Decimal("4.0"),
            Mode.AIR: Decimal("3.0"),
            Mode.TRUCK: Decimal("0.4"),
            Mode.SEA: Decimal("0.1"),
        }
    )
    kg_per_piece: Decimal = Decimal("0.1")

    def weight(self, pieces: int) -> Decimal:
        """The estimated weight of so many pieces."""
        return pieces * self.kg_per_piece

    def cost(self, mode: str, weight_kg: Decimal) -> Decimal:
        """Freight for this weight by this mode."""
        return weight_kg * self.per_kg[Mode(mode)]


class OrderFacts(Protocol):
    """What the change rules read of an order logistics knows (its consignment)."""

    delivery_date: date
    country: str
    quantity: int


class ShipmentFacts(Protocol):
    """What the change rules read of a shipment."""

    id: str
    status: str
    mode: str
    quantity: int
    weight_kg: Decimal


@dataclass(frozen=True)
class Proposal:
    """A requested change as logistics reads it: the order's pieces and delivery date after it."""

    quantity: int
    delivery_date: date
    cancels: bool  # the order, or some of its lines, would be cancelled


@dataclass(frozen=True)
class Assessment(Findings):
    """Logistics's answer to a requested change, before anyone decides."""

    new_date: date | None
    cost: Decimal
    shipped: int


ON_THEIR_WAY = "the goods are already on their way; the new date does not change their journey"
UNKNOWN_ORDER = Assessment(
    new_date=None, cost=Decimal(0), shipped=0, warnings=("logistics has nothing planned for it yet",)
)


def shipped(shipments: Sequence[ShipmentFacts]) -> int:
    """Pieces of the order a carrier has picked up or delivered."""
    return sum(s.quantity for s in shipments if left_warehouse(s.status))


def weight_after(weight_kg: Decimal, added: int, freight: Freight) -> Decimal:
    """A packed shipment's weight once the order gains (or loses) pieces, by the estimated weight per piece."""
    return max(weight_kg + freight.weight(added), Decimal(0)).quantize(Decimal("0.001"))


def assess_change(
    order: OrderFacts | None,
    shipments: Sequence[ShipmentFacts],
    change: Proposal,
    *,
    today: date,
    freight: Freight,
) -> Assessment:
    """The impact of a change on logistics: what has left the warehouse, whether the change can still be carried
    out, the date the goods can arrive if it moves the date or adds pieces, and the extra freight.

    Goods a carrier has cannot be called back, and an order travels as one shipment: once it left, the order
    can neither be cancelled, shrink below what left, nor grow (the added pieces would have nothing to go in).
    The extra freight is what the new plan costs over the old (the added pieces, and a faster mode if the new
    date forces one), each plan choosing its mode as a packing report would."""
    if order is None:
        return UNKNOWN_ORDER
    gone = shipped(shipments)
    added = change.quantity - order.quantity
    moved = change.delivery_date != order.delivery_date
    problems: list[str] = []
    if gone and change.cancels:
        problems.append(f"{gone} pieces already left the warehouse and cannot be cancelled")
    elif change.quantity < gone:
        problems.append(f"the order cannot go below the {gone} pieces that already left the warehouse")
    elif gone and added > 0:
        problems.append(f"the goods already left in one shipment; the {added} added pieces cannot follow")
    if gone:
        warnings = (ON_THEIR_WAY,) if moved and not problems else ()
        return Assessment(new_date=None, cost=Decimal(0), shipped=gone, problems=tuple(problems), warnings=warnings)
    if not (moved or added > 0):
        return Assessment(new_date=None, cost=Decimal(0), shipped=0)
    pending = [s for s in shipments if s.status == ShipmentStatus.PLANNED]
    before = pending[0].weight_kg if pending else freight.weight(order.quantity)
    after = weight_after(before, added, freight)
    old_mode = pending[0].mode if pending else _mode(order.delivery_date, order.country, before, today)
    new_mode = _mode(change.delivery_date, order.country, after, today)
    new_date = promised(new_mode, today=today, due=change.delivery_date)
    extra = freight.cost(new_mode, after) - freight.cost(old_mode, before)
    late = (f"by {new_mode} the goods can arrive on {new_date} at the earliest",) * (new_date > change.delivery_date)
    return Assessment(
        new_date=new_date, cost=max(extra, Decimal(0)).quantize(Decimal("0.01")), shipped=0, warnings=late
    )


def _mode(due: date, country: str, weight_kg: Decimal, today: date) -> str:
    return choose_mode(today=today, due=due, country=country, weight_kg=weight_kg)


@dataclass(frozen=True)
class Replan:
    """A planned shipment brought to an accepted change."""

    quantity: int
    weight_kg: Decimal
    mode: str
    note: str  # what changed, for the people following the shipment; empty when nothing did


def replan(
    shipment: ShipmentFacts,
    *,
    added: int,
    was_due: date,
    due: date,
    country: str,
    today: date,
    freight: Freight,
) -> Replan:
    """A shipment not yet picked up, after the order gained `added` pieces (or lost them) and its date moved
    from `was_due` to `due`: its weight follows the pieces, and its mode is chosen again if what it was chosen
    from changed (a mode change means a new carrier)."""
    quantity = max(shipment.quantity + added, 0)
    weight = weight_after(shipment.weight_kg, added, freight) if added else shipment.weight_kg
    mode = shipment.mode
    if due != was_due or weight != shipment.weight_kg:
        mode = choose_mode(today=today, due=due, country=country, weight_kg=weight)
    said = []
    if quantity != shipment.quantity:
        said.append(f"{shipment.quantity} -> {quantity} pieces, {shipment.weight_kg} -> {weight} kg")
    if due != was_due:
        said.append(f"due {was_due} -> {due}")
    if mode != shipment.mode:
        said.append(f"{shipment.mode} with {carrier_for(shipment.mode)} -> {mode} with {carrier_for(mode)}")
    return Replan(quantity, weight, mode, "; ".join(said))


def cancels_everything(lines_left: int) -> bool:
    """An accepted change that leaves no line is the order cancelled."""
    return lines_left == 0
