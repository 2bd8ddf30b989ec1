"""Shipment planning rules: the mode from a cost and transit-time table, the legs of a multi-leg shipment,
what a packed batch carries of each order line, when the order is delivered, and the ETA. Pure."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from shared.contracts import HOME_COUNTRY, ClaimStatus


class Mode(StrEnum):
    EXPRESS = "express"
    TRUCK = "truck"
    SEA = "sea"
    AIR = "air"


@dataclass(frozen=True)
class LegSpec:
    """One leg a mode's shipments travel: by what, with whom, from where to where, in how many days."""

    mode: Mode
    carrier: str
    origin: str
    destination: str
    days: int


@dataclass(frozen=True)
class ModeSpec:
    """What a mode costs and takes, and where it goes."""

    carrier: str
    transit_days: int
    per_kg: Decimal
    minimum: Decimal = Decimal(0)
    kg_per_m3: int = 167
    max_kg: Decimal | None = None
    domestic: bool = True
    export: bool = True
    legs: tuple[LegSpec, ...] = ()

    def cost(self, weight_kg: Decimal, volume_m3: Decimal) -> Decimal:
        """Freight for goods of this weight and volume: by the chargeable kg, at least the minimum charge."""
        chargeable = max(weight_kg, volume_m3 * self.kg_per_m3)
        return max(chargeable * self.per_kg, self.minimum).quantize(Decimal("0.01"))

    def carries(self, weight_kg: Decimal, export: bool) -> bool:
        """Whether it takes goods of this weight to a destination at home or abroad."""
        fits = self.max_kg is None or weight_kg <= self.max_kg
        return fits and (self.export if export else self.domestic)


@dataclass(frozen=True)
class ModeTable:
    """The modes to choose from (deploy/seed/logistics/modes.yaml) and the days before goods can travel."""

    modes: Mapping[Mode, ModeSpec]
    buffer_days: int = 3

    def spec(self, mode: str) -> ModeSpec:
        return self.modes[Mode(mode)]


DEFAULT_TABLE = ModeTable(
    {
        Mode.EXPRESS: ModeSpec("sf-express", 2, Decimal("3.0"), Decimal(20), 167, Decimal(30)),
        Mode.TRUCK: ModeSpec("deppon", 3, Decimal("0.4"), Decimal(150), 333, export=False),
        Mode.AIR: ModeSpec("air-china-cargo", 4, Decimal("3.5"), Decimal(200), 167),
        Mode.SEA: ModeSpec(
            "cosco",
            18,
            Decimal("0.1"),
            Decimal(100),
            1000,
            domestic=False,
            legs=(
                LegSpec(Mode.TRUCK, "deppon", "factory", "port of loading (Yantian)", 2),
                LegSpec(Mode.SEA, "cosco", "port of loading (Yantian)", "port of discharge", 14),
                LegSpec(Mode.EXPRESS, "dhl-express", "port of discharge", "consignee", 2),
            ),
        ),
    }
)


@dataclass(frozen=True)
class ModeChoice:
    """The mode chosen, and why (kept with the shipment)."""

    mode: Mode
    cost: Decimal
    arrives: date
    reason: str


def choose(
    *,
    today: date,
    due: date,
    country: str,
    weight_kg: Decimal,
    volume_m3: Decimal = Decimal(0),
    table: ModeTable = DEFAULT_TABLE,
) -> ModeChoice:
    """The cheapest mode that carries the goods there by the due date; when none can, the fastest."""
    export = country != HOME_COUNTRY
    usable = {m: s for m, s in table.modes.items() if s.carries(weight_kg, export)} or dict(table.modes)
    arrives = {m: today + timedelta(days=s.transit_days + table.buffer_days) for m, s in usable.items()}
    costs = {m: s.cost(weight_kg, volume_m3) for m, s in usable.items()}
    in_time = [m for m in usable if arrives[m] <= due]
    if in_time:
        mode = min(in_time, key=lambda m: (costs[m], usable[m].transit_days))
        why = f"cheapest arriving by {due}"
    else:
        mode = min(usable, key=lambda m: (usable[m].transit_days, costs[m]))
        why = f"fastest; none arrives by {due}"
    where = f"to {country} ({'export' if export else 'domestic'})"
    compared = ", ".join(f"{m} {costs[m]} in {usable[m].transit_days}d" for m in sorted(usable, key=costs.__getitem__))
    reason = f"{mode}: {why}, {weight_kg} kg / {volume_m3} m3 {where}; compared {compared}"
    return ModeChoice(mode, costs[mode], arrives[mode], reason)


def legs_of(mode: str, country: str, table: ModeTable = DEFAULT_TABLE) -> tuple[LegSpec, ...]:
    """The legs a shipment of this mode travels: the mode's legs for an export, else one direct leg."""
    spec = table.spec(mode)
    if spec.legs and country != HOME_COUNTRY:
        return spec.legs
    return (LegSpec(Mode(mode), spec.carrier, "warehouse", "consignee", spec.transit_days),)


def volume(dimensions: Sequence[tuple[int, int, int, int]]) -> Decimal:
    """Cubic metres of packages given as (length, width, height in cm, count)."""
    cm3 = sum(length * width * height * count for length, width, height, count in dimensions)
    return (Decimal(cm3) / Decimal(1_000_000)).quantize(Decimal("0.001"))


# --- partial packing and delivery ------------------------------------------------------------------------


Quantities = Mapping[int, int]  # order line number -> pieces


def packed_lines(left: Quantities, reported: Quantities, pieces: int) -> dict[int, int]:
    """What a packed batch carries of each line, never more than is left to pack: the WMS's count per line when
    it gives one, else its piece count spread over the lines in order, else everything left."""
    if reported:
        batch = {n: min(q, left.get(n, 0)) for n, q in reported.items()}
    else:
        batch, rest = {}, pieces or sum(left.values())
        for n in sorted(left):
            batch[n], rest = min(left[n], rest), rest - min(left[n], rest)
    return {n: q for n, q in batch.items() if q > 0}


def left_to_pack(ordered: Quantities, packed: Sequence[Quantities]) -> dict[int, int]:
    """Pieces of each line not yet in a shipment."""
    return {n: max(q - sum(p.get(n, 0) for p in packed), 0) for n, q in ordered.items()}


def received_lines(carried: Quantities, received: int | None, counted: Quantities) -> dict[int, int]:
    """Pieces received per line: as counted per line, else the received count taken from the lines in order
    (a shortfall falls on the last lines), else everything carried."""
    if counted:
        return {n: min(q, carried.get(n, q)) for n, q in counted.items() if q > 0}
    if received is None:
        return dict(carried)
    lines, rest = {}, received
    for n in sorted(carried):
        lines[n], rest = min(carried[n], rest), rest - min(carried[n], rest)
    return {n: q for n, q in lines.items() if q > 0}


def order_delivered(ordered: Quantities, delivered: Sequence[Quantities]) -> bool:
    """The order is delivered when the pieces received cover every line's ordered quantity."""
    return all(sum(d.get(n, 0) for d in delivered) >= q for n, q in ordered.items())


# --- ETA --------------------------------------------------------------------------------------------------


def eta_at_plan(mode: str, *, today: date, table: ModeTable = DEFAULT_TABLE) -> date:
    """When a shipment planned today should arrive: booking, then the mode's transit time."""
    return today + timedelta(days=table.buffer_days + table.spec(mode).transit_days)


def eta_after_scan(
    *, on: date, status: str, days_after_leg: int, leg_days: int, carrier_eta: date | None, final_leg: bool
) -> date:
    """When the shipment should arrive as of a scan on day `on`: the carrier's own ETA when it gives one;
    else the scanned leg's remaining time plus the legs after it."""
    if carrier_eta is not None:
        return carrier_eta
    if status == "out_for_delivery" and final_leg:
        return on
    remaining = {"picked_up": leg_days, "in_transit": max(leg_days // 2, 1), "customs": max(leg_days // 2, 1)}
    rest = 0 if status == "delivered" else remaining.get(status, 1)
    return on + timedelta(days=rest + days_after_leg)


def eta_is_late(eta: date | None, promised: date) -> bool:
    """An ETA after the date promised to the customer is news."""
    return eta is not None and eta > promised


# --- claims -----------------------------------------------------------------------------------------------


CLAIM_STEPS: Mapping[ClaimStatus, frozenset[ClaimStatus]] = {
    ClaimStatus.OPENED: frozenset({ClaimStatus.SUBMITTED, ClaimStatus.CLOSED}),
    ClaimStatus.SUBMITTED: frozenset({ClaimStatus.ACCEPTED, ClaimStatus.REJECTED}),
    ClaimStatus.ACCEPTED: frozenset({ClaimStatus.PAID, ClaimStatus.CLOSED}),
    ClaimStatus.REJECTED: frozenset({ClaimStatus.CLOSED, ClaimStatus.SUBMITTED}),  # resubmitted with more evidence
    ClaimStatus.PAID: frozenset({ClaimStatus.CLOSED}),
    ClaimStatus.CLOSED: frozenset(),
}


def claim_may_move(current: str, to: str) -> bool:
    """Whether a claim may go from one status to another: opened -> submitted -> accepted / rejected ->
    paid / closed; staying where it is (an amount or evidence added) is always allowed until closed."""
    if current == to:
        return current != ClaimStatus.CLOSED
    return ClaimStatus(to) in CLAIM_STEPS[ClaimStatus(current)]


def reshipment_lines(carried: Quantities, received: Quantities, asked: Quantities) -> dict[int, int]:
    """The pieces a reshipment carries: as asked, else what the shipment it replaces carried and did not
    deliver (all of it when nothing was delivered: lost)."""
    if asked:
        return {n: q for n, q in asked.items() if q > 0}
    return {n: q - received.get(n, 0) for n, q in carried.items() if q > received.get(n, 0)}
