"""Logistics's part of changes and cancellation on a real database and the injected clock: the impact of a
requested change, the order's facts and its planned shipment brought to an accepted change, shipments not yet
picked up cancelled with the order, and later warehouse and carrier messages planning nothing new."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import uuid4

import pytest
from sqlmodel import select

from services.logistics import changes, handlers
from services.logistics.consumers import SUBSCRIPTIONS
from services.logistics.domain import Freight, Mode
from services.logistics.models import Consignment, Shipment
from shared import topics
from shared.clock import FixedClock
from shared.contracts import (
    ASSESSED,
    CarrierException,
    CarrierStatus,
    CarrierTracking,
    ChangeKind,
    Envelope,
    Event,
    EventData,
    ExceptionResolved,
    OrderAccepted,
    OrderCancelled,
    OrderChangeAccepted,
    OrderChangeRequested,
    OrderLine,
    OrderTerms,
    ShipmentChanged,
    WmsEvent,
)
from shared.errors import NotYet
from shared.unit_of_work import UnitOfWorkFactory
from tests.e2e.flows import order_body
from tests.integration.journal import handle, types

pytestmark = pytest.mark.integration
SERVICE = "logistics"
TODAY = date(2027, 1, 4)  # the clock's day
DUE = TODAY + timedelta(days=40)  # order_body's delivery date
ASSESSED_TYPE, CHANGED = "logistics.change_assessed", "logistics.shipment_changed"
TRACKED, RAISED, RESOLVED = "logistics.shipment_tracked", "logistics.exception_raised", "logistics.exception_resolved"


def event(clock: FixedClock, payload: EventData, order_id: str = "SO1") -> Event[Any]:
    return Event.new(payload, source="order", order_id=order_id, clock=clock)


def lines(*quantities: int) -> list[OrderLine]:
    return [
        OrderLine(line_no=n, product=f"GX-{n}", quantity=q, unit_price=Decimal("12.35"))
        for n, q in enumerate(quantities, 1)
    ]


def accepted(clock: FixedClock, *quantities: int, country: str = "CN", order_id: str = "SO1") -> Event[Any]:
    """An order due in 40 days, one line per quantity."""
    body = order_body(1, today=clock.now().date()) | {"destination_country": country}
    terms = OrderTerms.model_validate(body).model_copy(update={"lines": lines(*quantities)})
    return event(clock, OrderAccepted(**terms.model_dump(), total_amount=terms.compute_total()), order_id)


def packed(clock: FixedClock, kg: str, quantity: int, order_id: str = "SO1") -> WmsEvent:
    return WmsEvent(
        message_id=uuid4().hex,
        occurred_at=clock.now(),
        type="packed",
        order_id=order_id,
        packages=4,
        weight_kg=kg,
        quantity=quantity,
    )


def requested(
    clock: FixedClock, *quantities: int, due: date = DUE, cancelled: tuple[int, ...] = (), change_id: str = "CR1"
) -> Event[OrderChangeRequested]:
    payload = OrderChangeRequested(
        change_id=change_id,
        kind=ChangeKind.CANCEL if cancelled else ChangeKind.CHANGE,
        order_version=2,
        lines=lines(*quantities),
        cancelled_lines=list(cancelled),
        delivery_date=due,
        reason="the customer's forecast changed",
        respond_by=clock.now() + timedelta(days=1),
    )
    return event(clock, payload)


def change_accepted(
    clock: FixedClock,
    *quantities: int,
    due: date = DUE,
    cancelled: tuple[int, ...] = (),
    change_id: str = "CR1",
    version: int = 2,
) -> Event[OrderChangeAccepted]:
    payload = OrderChangeAccepted(
        change_id=change_id,
        kind=ChangeKind.CANCEL if cancelled else ChangeKind.CHANGE,
        order_version=version,
        lines=lines(*quantities),
        cancelled_lines=list(cancelled),
        delivery_date=due,
        total_amount=Decimal(1),
        previous_total=Decimal(1),
    )
    return event(clock, payload)


def cancelled(clock: FixedClock, change_id: str = "CR9") -> Event[OrderCancelled]:
    return event(clock, OrderCancelled(change_id=change_id, reason="the customer withdrew", cancelled_at=clock.now()))


def scan(
    clock: FixedClock, shipment: Shipment, status: CarrierStatus, code: CarrierException | None = None
) -> CarrierTracking:
    return CarrierTracking(
        message_id=uuid4().hex,
        occurred_at=clock.now(),
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        status=status,
        received_quantity=14 if status == CarrierStatus.DELIVERED else None,
        exception_code=code,
    )


async def shipments(units: UnitOfWorkFactory, order_id: str = "SO1") -> list[Shipment]:
    async with units() as uow:
        return list((await uow.session.exec(select(Shipment).where(Shipment.order_id == order_id))).all())


async def consignment(units: UnitOfWorkFactory, order_id: str = "SO1") -> Consignment:
    async with units() as uow:
        found = await uow.get(Consignment, order_id)
    assert found is not None
    return found


async def planned(
    units: UnitOfWorkFactory, clock: FixedClock, *quantities: int, kg: str = "400", country: str = "CN"
) -> Shipment:
    """Order SO1 accepted and packed: its planned shipment."""
    await handle(units, handlers.on_order_accepted, accepted(clock, *quantities, country=country))
    events = await handle(units, handlers.on_wms_event, packed(clock, kg, sum(quantities)))
    assert types(events)[:2] == ["logistics.shipment_planned", "logistics.shipment_dispatched"]
    assert set(types(events)[2:]) == {"logistics.document_issued"}
    [shipment] = await shipments(units)
    return shipment


async def picked_up(units: UnitOfWorkFactory, clock: FixedClock, *quantities: int) -> Shipment:
    """Order SO1 accepted, packed (400 kg, by truck) and picked up by its carrier."""
    shipment = await planned(units, clock, *quantities)
    assert types(await handle(units, handlers.on_carrier_tracking, scan(clock, shipment, CarrierStatus.PICKED_UP))) == [
        TRACKED
    ]
    return shipment


def answer(events: list[Envelope]) -> Any:
    [assessed] = events
    assert assessed.type == ASSESSED_TYPE
    return assessed.payload(ASSESSED["logistics"])


# --- change assessment ------------------------------------------------------------------


async def test_a_change_of_an_order_not_known_yet_is_answered(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    request = requested(clock, 40)
    events = await handle(units, changes.on_order_change_requested, request)
    data = answer(events)
    assert (events[0].order_id, events[0].causation_id) == ("SO1", str(request.envelope.id))
    assert (data.change_id, data.feasible, data.shipped, data.new_date, data.cost) == ("CR1", True, 0, None, 0)
    assert data.note == "logistics has nothing planned for it yet"


async def test_added_pieces_before_packing_get_a_date_and_their_freight(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, 300, 100))
    later = DUE + timedelta(days=7)
    data = answer(await handle(units, changes.on_order_change_requested, requested(clock, 300, 200, due=later)))
    # 40 kg -> 50 kg by truck inside China at 0.4 a kg; the goods can make the new date
    assert (data.feasible, data.shipped, data.new_date, data.cost, data.note) == (True, 0, later, Decimal("4.00"), "")
    assert (await consignment(units)).quantity == 400  # an assessment changes nothing


async def test_the_freight_rates_given_are_the_ones_used(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, 400))
    rates = Freight(
        per_kg={Mode.EXPRESS: Decimal(4), Mode.AIR: Decimal(3), Mode.TRUCK: Decimal(2), Mode.SEA: Decimal(1)}
    )
    freight = Freight(per_kg=rates.per_kg, kg_per_piece=Decimal(1))
    assess = partial(changes.on_order_change_requested, freight=freight)
    data = answer(await handle(units, assess, requested(clock, 500)))
    assert data.cost == Decimal("200.00")  # 100 added pieces of 1 kg by truck at 2 a kg


async def test_a_date_pulled_in_forces_air_freight_on_a_planned_sea_shipment(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    shipment = await planned(units, clock, 4000, country="US")
    assert shipment.mode == Mode.SEA  # 400 kg abroad, 40 days left
    soon = TODAY + timedelta(days=10)
    data = answer(await handle(units, changes.on_order_change_requested, requested(clock, 4000, due=soon)))
    assert (data.feasible, data.new_date, data.cost) == (True, soon, Decimal("1160.00"))  # air 1 200 instead of sea 40
    [unchanged] = await shipments(units)
    assert (unchanged.mode, unchanged.status) == (Mode.SEA, "planned")


async def test_a_date_closer_than_any_transit_is_promised_later(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    await planned(units, clock, 4000, country="US")
    data = answer(await handle(units, changes.on_order_change_requested, requested(clock, 4000, due=TODAY)))
    assert (data.feasible, data.new_date) == (True, TODAY + timedelta(days=4))
    assert data.note == "by air the goods can arrive on 2027-01-08 at the earliest"


async def test_a_cancellation_after_pickup_cannot_be_done(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    await picked_up(units, clock, 10, 4)
    whole = answer(await handle(units, changes.on_order_change_requested, requested(clock, cancelled=(1, 2))))
    assert (whole.feasible, whole.shipped) == (False, 14)
    assert whole.note == "14 pieces already left the warehouse and cannot be cancelled"
    line = answer(await handle(units, changes.on_order_change_requested, requested(clock, 10, cancelled=(2,))))
    assert (line.feasible, line.shipped) == (False, 14)


async def test_a_cancellation_before_pickup_can_be_done(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    await planned(units, clock, 10, 4)
    data = answer(await handle(units, changes.on_order_change_requested, requested(clock, cancelled=(1, 2))))
    assert (data.feasible, data.shipped, data.new_date, data.cost, data.note) == (True, 0, None, 0, "")


async def test_quantities_below_what_shipped_cannot_be_done(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    await picked_up(units, clock, 14)
    data = answer(await handle(units, changes.on_order_change_requested, requested(clock, 12)))
    assert (data.feasible, data.shipped) == (False, 14)
    assert data.note == "the order cannot go below the 14 pieces that already left the warehouse"


# --- accepted changes -------------------------------------------------------------------


async def test_an_accepted_change_replans_a_planned_shipment_once(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    shipment = await planned(units, clock, 4000, country="US")
    soon = TODAY + timedelta(days=10)
    change = change_accepted(clock, 4100, due=soon)
    async with units() as uow:
        assert len(await handlers.legs_of(uow, shipment.id)) == 3  # truck to port, sea, last mile
    events = await handle(units, changes.on_order_change_accepted, change)
    assert types(events) == [CHANGED] + ["logistics.document_issued"] * 3  # new carrier and route on the papers
    async with units() as uow:
        [leg] = await handlers.legs_of(uow, shipment.id)
    assert (leg.mode, leg.carrier, leg.tracking_number) == ("air", "air-china-cargo", shipment.tracking_number)
    data = events[0].payload(ShipmentChanged)
    assert (data.shipment_id, data.change_id, data.cancelled, events[0].causation_id) == (
        shipment.id,
        "CR1",
        False,
        str(change.envelope.id),
    )
    assert data.note == (
        f"4000 -> 4100 pieces, 400.000 -> 410.000 kg; due {DUE} -> {soon}; sea with cosco -> air with air-china-cargo"
    )
    [replanned] = await shipments(units)
    assert (replanned.mode, replanned.carrier, replanned.quantity, replanned.weight_kg, replanned.status) == (
        Mode.AIR,
        "air-china-cargo",
        4100,
        Decimal("410.000"),
        "planned",
    )
    facts = await consignment(units)
    assert (facts.quantity, facts.delivery_date, facts.order_version, facts.change_id) == (4100, soon, 2, "CR1")

    again = change_accepted(clock, 4100, due=soon)  # the same change, published again
    assert await handle(units, changes.on_order_change_accepted, again) == []
    older = change_accepted(clock, 9000, due=DUE, change_id="CR0")  # a version already passed
    assert await handle(units, changes.on_order_change_accepted, older) == []
    assert (await consignment(units)).quantity == 4100


async def test_a_change_that_leaves_the_shipment_as_it_was_announces_nothing(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await planned(units, clock, 14)
    assert await handle(units, changes.on_order_change_accepted, change_accepted(clock, 14)) == []
    assert (await consignment(units)).order_version == 2


async def test_an_accepted_change_leaves_a_picked_up_shipment_alone(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    shipment = await picked_up(units, clock, 14)
    later = DUE + timedelta(days=5)
    assert await handle(units, changes.on_order_change_accepted, change_accepted(clock, 14, due=later)) == []
    [moving] = await shipments(units)
    assert (moving.status, moving.mode, moving.quantity, moving.weight_kg) == ("picked_up", Mode.TRUCK, 14, 400)

    clock.advance(timedelta(days=42))  # after the old date, before the new one
    delivered = await handle(units, handlers.on_carrier_tracking, scan(clock, shipment, CarrierStatus.DELIVERED))
    assert types(delivered) == ["logistics.shipment_delivered"]  # not late against the date now promised


async def test_a_change_cancelling_every_line_cancels_the_order(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    shipment = await planned(units, clock, 10, 4)
    change = change_accepted(clock, cancelled=(1, 2), change_id="CR5")
    events = await handle(units, changes.on_order_change_accepted, change)
    assert types(events) == [CHANGED]
    data = events[0].payload(ShipmentChanged)
    assert (data.shipment_id, data.change_id, data.cancelled) == (shipment.id, "CR5", True)
    [stopped] = await shipments(units)
    assert stopped.status == "cancelled"
    facts = await consignment(units)
    assert (facts.cancelled_at, facts.change_id, facts.order_version) == (clock.now(), "CR5", 2)
    assert await handle(units, changes.on_order_cancelled, cancelled(clock, "CR5")) == []  # already cancelled


# --- cancellation -----------------------------------------------------------------------


async def test_a_cancelled_order_cancels_its_planned_shipment_once(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    shipment = await planned(units, clock, 14)
    cancellation = cancelled(clock)
    events = await handle(units, changes.on_order_cancelled, cancellation)
    assert types(events) == [CHANGED]
    data = events[0].payload(ShipmentChanged)
    assert (data.shipment_id, data.change_id, data.cancelled, events[0].causation_id) == (
        shipment.id,
        "CR9",
        True,
        str(cancellation.envelope.id),
    )
    assert data.note == "cancelled with the order before the carrier picked it up"
    assert [s.status for s in await shipments(units)] == ["cancelled"]
    assert await handle(units, changes.on_order_cancelled, cancelled(clock)) == []
    # nothing more is planned or changed for it
    assert await handle(units, handlers.on_wms_event, packed(clock, "400", 14)) == []
    assert await handle(units, changes.on_order_change_accepted, change_accepted(clock, 20)) == []
    assert len(await shipments(units)) == 1


async def test_carrier_scans_of_a_cancelled_shipment_are_recorded_and_raise_nothing(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    shipment = await planned(units, clock, 14)
    await handle(units, changes.on_order_cancelled, cancelled(clock))
    clock.advance(timedelta(hours=3))
    assert await handle(units, handlers.on_carrier_tracking, scan(clock, shipment, CarrierStatus.PICKED_UP)) == []
    lost = scan(clock, shipment, CarrierStatus.EXCEPTION, CarrierException.LOSS)
    assert await handle(units, handlers.on_carrier_tracking, lost) == []
    [scanned] = await shipments(units)
    assert (scanned.status, scanned.last_scan_at) == ("cancelled", clock.now())


async def test_cancelling_a_shipment_resolves_what_its_carrier_said_about_moving_it(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    shipment = await planned(units, clock, 14)
    delayed = scan(clock, shipment, CarrierStatus.EXCEPTION, CarrierException.DELAY)
    assert types(await handle(units, handlers.on_carrier_tracking, delayed)) == [RAISED]
    events = await handle(units, changes.on_order_cancelled, cancelled(clock))
    assert types(events) == [CHANGED, RESOLVED]
    resolved = events[1].payload(ExceptionResolved)
    assert (resolved.kind, resolved.subject_id, resolved.reason) == (
        "logistics.carrier_delay",
        shipment.id,
        "shipment cancelled with the order",
    )


async def test_an_order_cancelled_before_packing_ships_nothing(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, 14))
    assert await handle(units, changes.on_order_cancelled, cancelled(clock)) == []
    assert (await consignment(units)).cancelled_at == clock.now()
    assert await handle(units, handlers.on_wms_event, packed(clock, "400", 14)) == []  # ignored, no exception
    assert await shipments(units) == []


async def test_a_cancellation_leaves_a_picked_up_shipment_moving(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    shipment = await picked_up(units, clock, 14)
    assert await handle(units, changes.on_order_cancelled, cancelled(clock)) == []
    assert [s.status for s in await shipments(units)] == ["picked_up"]
    assert types(
        await handle(units, handlers.on_carrier_tracking, scan(clock, shipment, CarrierStatus.IN_TRANSIT))
    ) == [TRACKED]


async def test_changes_of_an_order_not_seen_accepted_wait_for_it(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    with pytest.raises(NotYet) as waiting:
        async with units() as uow:
            await changes.on_order_change_accepted(change_accepted(clock, 20), uow)
    assert waiting.value.key == "SO1"
    with pytest.raises(NotYet) as waiting:
        async with units() as uow:
            await changes.on_order_cancelled(cancelled(clock), uow)
    assert waiting.value.key == "SO1"


def test_the_order_events_reach_their_handlers() -> None:
    [order_events] = [s for s in SUBSCRIPTIONS if s.topic == topics.ORDER_EVENTS]
    clock = FixedClock(datetime(2027, 1, 4, 8, tzinfo=UTC))
    for payload, handler in (
        (requested(clock, 1).data, changes.on_order_change_requested),
        (change_accepted(clock, 1).data, changes.on_order_change_accepted),
        (cancelled(clock).data, changes.on_order_cancelled),
    ):
        envelope = Envelope.new(payload, source="order", order_id="SO1", clock=clock)
        assert order_events.parse(envelope.model_dump_json().encode()).handler is handler
