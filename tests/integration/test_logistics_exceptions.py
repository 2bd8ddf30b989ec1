"""Logistics exceptions on a real database and the injected clock: carrier exception scans in the carrier's
words, delays cleared by progress, quiet shipments, late deliveries, messages waiting too long."""

from datetime import timedelta
from typing import TypeVar
from uuid import uuid4

import pytest
from sqlmodel import delete, select

from services.logistics import handlers
from services.logistics.models import Shipment
from services.logistics.settings import LogisticsSettings
from shared import topics
from shared.clock import FixedClock
from shared.contracts import (
    CarrierException,
    CarrierStatus,
    CarrierTracking,
    Event,
    ExceptionRaised,
    ExceptionResolved,
    OrderAccepted,
    OrderTerms,
    WmsEvent,
    exception_id,
)
from shared.db import ParkedMessage
from shared.exceptions import messages_waiting, stopped_waiting
from shared.unit_of_work import UnitOfWorkFactory
from tests.e2e.flows import order_body
from tests.integration.journal import handle, outbox, record, types, watch

pytestmark = pytest.mark.integration
SERVICE = "logistics"
RULES = handlers.rules(LogisticsSettings(no_scan_hours=24))
TRACKED, DELIVERED = "logistics.shipment_tracked", "logistics.shipment_delivered"
RAISED, RESOLVED = "logistics.exception_raised", "logistics.exception_resolved"
M = TypeVar("M")


def accepted(clock: FixedClock, order_id: str) -> Event[OrderAccepted]:
    """An order due in 40 days."""
    terms = OrderTerms.model_validate(order_body(4, today=clock.now().date()))
    payload = OrderAccepted(**terms.model_dump(), total_amount=terms.compute_total())
    return Event.new(payload, source="order", order_id=order_id, clock=clock)


def packed(clock: FixedClock, order_id: str) -> WmsEvent:
    """400 kg packed for a Chinese address: a truck shipment with deppon."""
    return WmsEvent(
        message_id=uuid4().hex,
        occurred_at=clock.now(),
        type="packed",
        order_id=order_id,
        packages=4,
        weight_kg="400",
        quantity=14,
    )


def scan(
    clock: FixedClock,
    shipment: Shipment,
    status: CarrierStatus,
    code: CarrierException | None = None,
    remark: str = "",
) -> CarrierTracking:
    """A scan by the shipment's carrier happening now, with a message id of its own."""
    return CarrierTracking(
        message_id=uuid4().hex,
        occurred_at=clock.now(),
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        status=status,
        received_quantity=14 if status == CarrierStatus.DELIVERED else None,
        exception_code=code,
        remark=remark,
    )


async def picked_up(units: UnitOfWorkFactory, clock: FixedClock, order_id: str = "SO1") -> Shipment:
    """An accepted, packed order whose shipment the carrier picked up now."""
    await handle(units, handlers.on_order_accepted, accepted(clock, order_id))
    await handle(units, handlers.on_wms_event, packed(clock, order_id))
    async with units() as uow:
        shipment = (await uow.session.exec(select(Shipment).where(Shipment.order_id == order_id))).one()
    first = scan(clock, shipment, CarrierStatus.PICKED_UP)
    assert types(await handle(units, handlers.on_carrier_tracking, first)) == [TRACKED]
    return shipment


def ident(kind: str, shipment: Shipment) -> str:
    """The id of a shipment's exception of this kind."""
    return exception_id(SERVICE, kind, "shipment", shipment.id)


CARRIER_EXCEPTIONS = [  # code, kind, severity, cause
    (CarrierException.DAMAGE, "logistics.carrier_damage", "high", "carrier"),
    (CarrierException.LOSS, "logistics.carrier_loss", "critical", "carrier"),
    (CarrierException.DELAY, "logistics.carrier_delay", "medium", "carrier"),
    (CarrierException.FAILED_DELIVERY, "logistics.delivery_failed", "medium", "customer"),  # consignee absent
    (CarrierException.OTHER, "logistics.carrier_exception", "medium", "carrier"),
]


async def test_an_exception_scan_raises_its_kind_in_the_carriers_words_once(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    for n, (code, kind, severity, cause) in enumerate(CARRIER_EXCEPTIONS, 1):
        shipment = await picked_up(units, clock, f"SO{n}")
        remark = f"{code}: pallet 3 of 4, see photo 火"
        exceptional = scan(clock, shipment, CarrierStatus.EXCEPTION, code, remark)
        events = await handle(units, handlers.on_carrier_tracking, exceptional)
        assert types(events) == [RAISED], code  # an exception, not a status: the progress stands
        raised = events[0].payload(ExceptionRaised)
        assert (raised.exception_id, raised.kind, raised.severity, raised.cause) == (
            ident(kind, shipment),
            kind,
            severity,
            cause,
        ), code
        assert (events[0].order_id, raised.subject_type, raised.subject_id) == (f"SO{n}", "shipment", shipment.id)
        assert raised.facts == {
            "carrier": "deppon",
            "tracking_number": shipment.tracking_number,
            "carrier_words": remark,
        }
        assert raised.title.endswith(f"on shipment {shipment.id}: {remark}"), raised.title
        assert (await record(units, ident(kind, shipment))).facts["carrier_words"] == remark

        again = exceptional.model_copy(update={"message_id": uuid4().hex})  # the carrier sends it again
        assert await handle(units, handlers.on_carrier_tracking, again) == [], code
    assert types(await outbox(units)).count(RAISED) == len(CARRIER_EXCEPTIONS)


async def test_a_delay_is_resolved_by_the_next_forward_scan_a_damage_is_not(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    shipment = await picked_up(units, clock)
    damaged = scan(clock, shipment, CarrierStatus.EXCEPTION, CarrierException.DAMAGE, "corner crushed")
    await handle(units, handlers.on_carrier_tracking, damaged)
    clock.advance(timedelta(hours=2))
    delayed = scan(clock, shipment, CarrierStatus.EXCEPTION, CarrierException.DELAY, "typhoon, depot closed")
    assert types(await handle(units, handlers.on_carrier_tracking, delayed)) == [RAISED]

    clock.advance(timedelta(hours=20))
    events = await handle(units, handlers.on_carrier_tracking, scan(clock, shipment, CarrierStatus.IN_TRANSIT))
    assert types(events) == [RESOLVED, TRACKED]
    resolved = events[0].payload(ExceptionResolved)
    assert (resolved.exception_id, resolved.kind, resolved.by, resolved.resolved_at) == (
        ident("logistics.carrier_delay", shipment),
        "logistics.carrier_delay",
        "system",
        clock.now(),
    )
    assert resolved.reason == "the carrier scanned: in_transit"
    assert not (await record(units, ident("logistics.carrier_delay", shipment))).open
    assert (await record(units, ident("logistics.carrier_damage", shipment))).open  # damage needs a person


async def test_a_quiet_shipment_raises_no_scan_and_the_next_scan_resolves_it(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    shipment = await picked_up(units, clock)
    clock.advance(timedelta(hours=23, minutes=59))
    assert await watch(units, RULES) == []

    clock.advance(timedelta(hours=1, minutes=1))
    [raised] = await watch(units, RULES)
    data = raised.payload(ExceptionRaised)
    assert (raised.type, raised.order_id) == (RAISED, "SO1")
    assert (data.exception_id, data.kind, data.cause, data.owner) == (
        ident("logistics.no_scan", shipment),
        "logistics.no_scan",
        "carrier",
        "logistics_coordinator",
    )
    assert data.facts == {"last_scan_at": "2027-01-04T08:00:00+00:00", "tracking_number": shipment.tracking_number}
    assert data.title == f"No scan from deppon on shipment {shipment.id} since 2027-01-04 08:00 UTC (last: picked_up)"
    assert await watch(units, RULES) == []  # once

    events = await handle(units, handlers.on_carrier_tracking, scan(clock, shipment, CarrierStatus.IN_TRANSIT))
    assert types(events) == [RESOLVED, TRACKED]  # in the commit of the scan
    assert events[0].payload(ExceptionResolved).exception_id == ident("logistics.no_scan", shipment)
    assert not (await record(units, ident("logistics.no_scan", shipment))).open
    clock.advance(timedelta(hours=23))
    assert await watch(units, RULES) == []  # heard of again: the limit starts over


async def test_a_longer_quiet_is_the_same_news(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    """The watcher runs every minute: a silence that merely goes on publishes nothing more."""
    await picked_up(units, clock)
    clock.advance(timedelta(hours=25))
    assert types(await watch(units, RULES)) == [RAISED]
    for _ in range(3):
        clock.advance(timedelta(minutes=30))
        assert types(await watch(units, RULES)) == []


async def test_a_delivery_after_the_promised_date_raises_late_delivery(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    on_time, late = await picked_up(units, clock, "SO1"), await picked_up(units, clock, "SO2")
    clock.advance(timedelta(days=40, hours=10))  # the promised day, evening
    events = await handle(units, handlers.on_carrier_tracking, scan(clock, on_time, CarrierStatus.DELIVERED))
    assert types(events) == [DELIVERED]

    clock.advance(timedelta(days=3))
    events = await handle(units, handlers.on_carrier_tracking, scan(clock, late, CarrierStatus.DELIVERED))
    assert types(events) == [DELIVERED, RAISED]
    data = events[1].payload(ExceptionRaised)
    assert (events[1].order_id, data.exception_id, data.kind, data.subject_id) == (
        "SO2",
        ident("logistics.late_delivery", late),
        "logistics.late_delivery",
        late.id,
    )
    assert data.facts == {"promised": "2027-02-13", "days_late": 3, "carrier": "deppon"}
    assert data.title == f"Shipment {late.id} delivered 3 day(s) after the promised 2027-02-13"
    assert (await record(units, ident("logistics.late_delivery", late))).facts["days_late"] == 3

    again = scan(clock, late, CarrierStatus.DELIVERED)  # the carrier repeats the delivery
    assert await handle(units, handlers.on_carrier_tracking, again) == []


def parked(clock: FixedClock, waits_for: str, offset: int) -> ParkedMessage:
    """A carrier scan parked now, waiting for a tracking number this service does not know."""
    return ParkedMessage(
        waits_for=waits_for,
        topic=topics.CARRIER_TRACKING,
        partition=0,
        offset=offset,
        key=waits_for,
        body=b"{}",
        headers={},
        reason="tracking event for a shipment not planned yet",
        parked_at=clock.now(),
    )


async def test_a_message_waiting_too_long_raises_message_waiting_once(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    rules, kind = [messages_waiting(timedelta(hours=1))], "logistics.message_waiting"
    async with units() as uow:
        uow.session.add(parked(clock, "GD404", 1))
    clock.advance(timedelta(minutes=61))
    [raised] = await watch(units, rules)
    data = raised.payload(ExceptionRaised)
    assert (raised.order_id, data.kind, data.subject_type, data.subject_id) == ("unassigned", kind, "message", "GD404")
    assert data.facts == {"waits_for": "GD404", "messages": 1, "topic": "carrier.tracking"}
    assert await watch(units, rules) == []

    before = len(await outbox(units))
    async with units() as uow:
        await uow.session.exec(delete(ParkedMessage))
        await stopped_waiting(uow, "GD404")
    [resolved] = (await outbox(units))[before:]
    assert resolved.payload(ExceptionResolved).exception_id == exception_id(SERVICE, kind, "message", "GD404")
    assert not (await record(units, exception_id(SERVICE, kind, "message", "GD404"))).open


async def test_an_exception_scan_keeps_the_progress_so_a_late_earlier_scan_cannot_move_it_back(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    shipment = await picked_up(units, clock)
    await handle(units, handlers.on_carrier_tracking, scan(clock, shipment, CarrierStatus.IN_TRANSIT))
    await handle(
        units, handlers.on_carrier_tracking, scan(clock, shipment, CarrierStatus.EXCEPTION, CarrierException.DELAY)
    )
    late = await handle(units, handlers.on_carrier_tracking, scan(clock, shipment, CarrierStatus.PICKED_UP))
    async with units() as uow:
        again = await uow.get(Shipment, shipment.id)
    assert again is not None and again.status == "in_transit"
    assert TRACKED not in types(late)  # nothing published about moving back
