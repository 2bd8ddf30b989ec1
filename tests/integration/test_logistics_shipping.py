"""Logistics shipping on a real database and the injected clock: partial packing into several shipments, the
order delivered only when every part is, billing's hold and release, a multi-leg export with its documents,
out-of-order and early scans, ETA exceptions, proof of delivery short of what was shipped."""

from datetime import datetime, timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any
from uuid import uuid4

import pytest
from pypdf import PdfReader
from sqlmodel import col, select

from services.logistics import customs, handlers, remedies
from services.logistics.models import CarrierScan, Shipment, ShipmentLeg, ShippingDocument
from services.logistics.settings import LogisticsSettings
from shared.clock import FixedClock
from shared.contracts import (
    CarrierException,
    CarrierStatus,
    CarrierTracking,
    Envelope,
    Event,
    ExceptionRaised,
    OrderAccepted,
    OrderRemedyRequested,
    OrderTerms,
    Remedy,
    ShipmentDelivered,
    ShipmentLine,
    ShipmentPlanned,
    ShipmentReleased,
    WmsEvent,
)
from shared.errors import NotYet
from shared.unit_of_work import UnitOfWorkFactory
from tests.e2e.flows import order_body
from tests.integration.journal import handle, outbox, types, watch

pytestmark = pytest.mark.integration
SERVICE = "logistics"
PLANNED, DISPATCHED, DOC = "logistics.shipment_planned", "logistics.shipment_dispatched", "logistics.document_issued"
TRACKED, DELIVERED, RAISED = "logistics.shipment_tracked", "logistics.shipment_delivered", "logistics.exception_raised"
HOLD_70 = {"installments": [{"trigger": "before_shipment", "percent": "100"}]}


def accepted(
    clock: FixedClock, quantity: int = 1000, *, days: int = 40, country: str = "CN", **more: Any
) -> Event[Any]:
    body = order_body(1, today=clock.now().date()) | {"destination_country": country, **more}
    body["lines"][0]["quantity"] = quantity
    terms = OrderTerms.model_validate(body)
    terms = terms.model_copy(update={"delivery_date": clock.now().date() + timedelta(days=days)})
    return Event.new(
        OrderAccepted(**terms.model_dump(), total_amount=terms.compute_total()),
        source="order",
        order_id="SO1",
        clock=clock,
    )


def packed(clock: FixedClock, quantity: int, kg: str = "400", lines: bool = True) -> WmsEvent:
    return WmsEvent(
        message_id=uuid4().hex,
        occurred_at=clock.now(),
        type="packed",
        order_id="SO1",
        quantity=quantity,
        packages=4,
        weight_kg=Decimal(kg),
        net_weight_kg=Decimal(kg) * Decimal("0.9"),
        lines=[ShipmentLine(line_no=1, quantity=quantity)] if lines else [],
    )


def scan(leg: ShipmentLeg | Shipment, status: CarrierStatus, at: datetime, **more: Any) -> CarrierTracking:
    return CarrierTracking(
        message_id=uuid4().hex,
        occurred_at=at,
        carrier=leg.carrier,
        tracking_number=leg.tracking_number,
        status=status,
        **more,
    )


async def shipments(units: UnitOfWorkFactory) -> list[Shipment]:
    async with units() as uow:
        return await handlers.order_shipments(uow, "SO1")


async def legs(units: UnitOfWorkFactory, shipment: Shipment) -> list[ShipmentLeg]:
    async with units() as uow:
        return await handlers.legs_of(uow, shipment.id)


def only(events: list[Envelope], kind: str) -> list[Envelope]:
    return [e for e in events if e.type == kind]


async def test_600_then_400_of_1000_are_two_shipments_and_the_order_is_delivered_with_the_second(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock))
    first = await handle(units, handlers.on_wms_event, packed(clock, 600, "60"))
    clock.advance(timedelta(days=1))
    second = await handle(units, handlers.on_wms_event, packed(clock, 400, "40"))
    assert types(first)[:2] == types(second)[:2] == [PLANNED, DISPATCHED]
    assert [e.payload(ShipmentPlanned).lines for e in (first[0], second[0])] == [
        [ShipmentLine(line_no=1, quantity=600)],
        [ShipmentLine(line_no=1, quantity=400)],
    ]
    assert await handle(units, handlers.on_wms_event, packed(clock, 100, "10")) == []  # all 1000 already shipped

    one, two = await shipments(units)
    assert (one.quantity, two.quantity, one.mode, two.mode) == (600, 400, "truck", "truck")
    assert one.mode_reason.startswith("truck: cheapest arriving by")
    events = await handle(
        units,
        handlers.on_carrier_tracking,
        scan(one, CarrierStatus.DELIVERED, clock.now(), received_quantity=600, signed_by="Li Wei"),
    )
    [part] = only(events, DELIVERED)
    assert part.payload(ShipmentDelivered).order_delivered is False
    assert part.payload(ShipmentDelivered).lines == [ShipmentLine(line_no=1, quantity=600)]
    events = await handle(units, handlers.on_carrier_tracking, scan(two, CarrierStatus.DELIVERED, clock.now()))
    [whole] = only(events, DELIVERED)
    assert (whole.payload(ShipmentDelivered).order_delivered, whole.payload(ShipmentDelivered).received_quantity) == (
        True,
        400,
    )


async def test_consolidated_packing_joins_the_shipment_still_in_the_warehouse(
    units: UnitOfWorkFactory, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.logistics import settings

    monkeypatch.setattr(settings, "settings", lambda: LogisticsSettings(consolidate_packing=True))
    await handle(
        units,
        handlers.on_order_accepted,
        accepted(clock, payment_terms=HOLD_70),
    )
    await handle(units, handlers.on_wms_event, packed(clock, 600, "60"))
    events = await handle(units, handlers.on_wms_event, packed(clock, 400, "40"))
    assert types(events)[0] == "logistics.shipment_changed" and set(types(events)[1:]) == {DOC}
    [shipment] = await shipments(units)
    assert (shipment.quantity, shipment.weight_kg, shipment.packages, shipment.held) == (
        1000,
        Decimal("100.000"),
        8,
        True,
    )


async def test_a_held_order_ships_only_once_billing_releases_it(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    release = Event.new(ShipmentReleased(released_at=clock.now()), source="billing", order_id="SO1", clock=clock)
    with pytest.raises(NotYet):  # a release before the order is known waits for it
        await handle(units, handlers.on_shipment_released, release)
    await handle(units, handlers.on_order_accepted, accepted(clock, payment_terms=HOLD_70))
    events = await handle(units, handlers.on_wms_event, packed(clock, 600, "60"))
    assert DISPATCHED not in types(events) and events[0].payload(ShipmentPlanned).held is True
    [held] = await shipments(units)
    assert (held.held, held.dispatched_at) == (True, None)

    events = await handle(units, handlers.on_shipment_released, release)
    assert types(events) == [DISPATCHED]
    assert await handle(units, handlers.on_shipment_released, release) == []  # released once
    events = await handle(units, handlers.on_wms_event, packed(clock, 400, "40"))  # after the release: leaves at once
    assert types(events)[:2] == [PLANNED, DISPATCHED] and events[0].payload(ShipmentPlanned).held is False


async def test_a_multi_leg_export_is_delivered_when_its_last_leg_is_with_its_documents(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, 4000, country="DE", incoterm="FOB"))
    events = await handle(units, handlers.on_wms_event, packed(clock, 4000, "400"))
    planned = events[0].payload(ShipmentPlanned)
    assert (planned.mode, [(g.leg_no, g.carrier) for g in planned.legs]) == (
        "sea",
        [(1, "deppon"), (2, "cosco"), (3, "dhl-express")],
    )
    assert sorted(e.data["kind"] for e in only(events, DOC)) == [
        "commercial_invoice",
        "customs_declaration",
        "packing_list",
    ]
    [shipment] = await shipments(units)
    truck, sea, last = await legs(units, shipment)
    assert sea.tracking_number == shipment.tracking_number
    now = clock.now()
    steps = [
        (truck, CarrierStatus.PICKED_UP, "picked_up"),
        (truck, CarrierStatus.DELIVERED, "in_transit"),  # handed over at the port: the shipment travels on
        (sea, CarrierStatus.CUSTOMS, "customs"),
        (last, CarrierStatus.OUT_FOR_DELIVERY, "out_for_delivery"),
    ]
    for n, (leg, status, shown) in enumerate(steps):
        events = await handle(units, handlers.on_carrier_tracking, scan(leg, status, now + timedelta(hours=n)))
        assert [e.data["status"] for e in only(events, TRACKED)] == [shown], status
    events = await handle(
        units, handlers.on_carrier_tracking, scan(last, CarrierStatus.DELIVERED, now + timedelta(days=1))
    )
    assert only(events, DELIVERED)[0].payload(ShipmentDelivered).order_delivered is True

    async with units() as uow:
        docs = await uow.all(select(ShippingDocument).where(ShippingDocument.kind == "customs_declaration"))
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(docs[0].content)).pages)
    for expected in ("Customs Declaration", shipment.id, truck.tracking_number, "dhl-express", "FOB", "4000"):
        assert expected in text


async def test_scans_out_of_order_duplicated_or_early_change_nothing_twice(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock))
    await handle(units, handlers.on_wms_event, packed(clock, 1000))
    [shipment] = await shipments(units)
    early = CarrierTracking(
        message_id="early", occurred_at=clock.now(), carrier="deppon", tracking_number="GD-UNKNOWN", status="picked_up"
    )
    with pytest.raises(NotYet) as parked:
        await handle(units, handlers.on_carrier_tracking, early)
    assert parked.value.key == "GD-UNKNOWN"

    t0 = clock.now()
    assert types(
        await handle(
            units, handlers.on_carrier_tracking, scan(shipment, CarrierStatus.OUT_FOR_DELIVERY, t0 + timedelta(hours=5))
        )
    ) == [TRACKED]
    late_news = [
        scan(shipment, CarrierStatus.PICKED_UP, t0),  # happened first, arrives last
        scan(shipment, CarrierStatus.IN_TRANSIT, t0 + timedelta(hours=2)),
        scan(shipment, CarrierStatus.OUT_FOR_DELIVERY, t0 + timedelta(hours=5)),  # the same scan again
        scan(shipment, CarrierStatus.EXCEPTION, t0 + timedelta(hours=1), exception_code=CarrierException.DELAY),
    ]
    for message in late_news:
        assert await handle(units, handlers.on_carrier_tracking, message) == []  # an old delay is news no more
    damaged = scan(shipment, CarrierStatus.EXCEPTION, t0 + timedelta(hours=3), exception_code=CarrierException.DAMAGE)
    assert types(await handle(units, handlers.on_carrier_tracking, damaged)) == [RAISED]  # damage stays news

    async with units() as uow:
        query = select(CarrierScan.status).where(CarrierScan.shipment_id == shipment.id)
        history = list(
            (await uow.session.exec(query.order_by(col(CarrierScan.occurred_at), col(CarrierScan.id)))).all()
        )
    assert history == [
        "picked_up",
        "exception:delay",
        "in_transit",
        "exception:damage",
        "out_for_delivery",
        "out_for_delivery",
    ]


async def test_an_eta_past_the_promise_raises_eta_late_on_a_scan_and_on_the_clock(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, 4000, days=22, country="US"))
    events = await handle(units, handlers.on_wms_event, packed(clock, 4000, "400"))
    assert RAISED not in types(events)  # by sea in 21 days: within the 22 promised
    [shipment] = await shipments(units)
    assert shipment.eta == clock.now().date() + timedelta(days=21)
    _, sea, _ = await legs(units, shipment)
    later = clock.now().date() + timedelta(days=25)
    events = await handle(
        units, handlers.on_carrier_tracking, scan(sea, CarrierStatus.CUSTOMS, clock.now(), estimated_delivery=later)
    )
    [raised] = only(events, RAISED)
    assert (raised.payload(ExceptionRaised).kind, raised.payload(ExceptionRaised).facts["days_late"]) == (
        "logistics.eta_late",
        3,
    )


async def test_a_shipment_still_on_its_way_after_its_eta_and_the_promise_raises_eta_late(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock, days=10))
    await handle(units, handlers.on_wms_event, packed(clock, 1000))
    [shipment] = await shipments(units)
    assert shipment.eta == clock.now().date() + timedelta(days=6)  # by truck: 3 days booking, 3 on the road
    rules = handlers.rules(LogisticsSettings(no_scan_hours=10_000))
    clock.advance(timedelta(days=8))
    assert only(await watch(units, rules), RAISED) == []  # past its ETA, still within the promise
    assert (await shipments(units))[0].eta == clock.now().date()
    clock.advance(timedelta(days=3))
    [raised] = only(await watch(units, rules), RAISED)
    assert (raised.payload(ExceptionRaised).kind, raised.payload(ExceptionRaised).subject_id) == (
        "logistics.eta_late",
        shipment.id,
    )


async def test_a_proof_of_delivery_short_of_what_was_shipped_raises_short_delivery(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock))
    await handle(units, handlers.on_wms_event, packed(clock, 1000, lines=False))
    [shipment] = await shipments(units)
    pod = scan(
        shipment,
        CarrierStatus.DELIVERED,
        clock.now(),
        received_quantity=950,
        signed_by="Li Wei",
        photo_ref="pod/8812.jpg",
        remark="2 cartons crushed",
    )
    events = await handle(units, handlers.on_carrier_tracking, pod)
    delivered = only(events, DELIVERED)[0].payload(ShipmentDelivered)
    assert (delivered.received_quantity, delivered.order_delivered, delivered.signed_by, delivered.photo_ref) == (
        950,
        False,
        "Li Wei",
        "pod/8812.jpg",
    )
    [short] = only(events, RAISED)
    assert short.payload(ExceptionRaised).kind == "logistics.short_delivery"
    assert short.payload(ExceptionRaised).facts["short"] == 50


async def test_documents_get_a_new_version_only_when_their_content_changes(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    from services.logistics import documents

    await handle(units, handlers.on_order_accepted, accepted(clock, 4000, country="US"))
    await handle(units, handlers.on_wms_event, packed(clock, 4000))
    [shipment] = await shipments(units)
    async with units() as uow:
        consignment = await uow.get(handlers.Consignment, "SO1")
        assert consignment is not None
        assert await documents.refresh(uow, shipment, consignment) == []  # the same data: the same PDFs
        shipment = await uow.get(Shipment, shipment.id)
        assert shipment is not None
        shipment.packages = 5
        again = await documents.refresh(uow, shipment, consignment)
    assert [(d.kind, d.version) for d in again] == [("packing_list", 2)]  # the invoice and declaration hold no packages
    async with units() as uow:
        stored = await uow.all(
            select(ShippingDocument).order_by(col(ShippingDocument.kind), col(ShippingDocument.version))
        )
    assert [(d.kind, d.version) for d in stored] == [
        ("commercial_invoice", 1),
        ("customs_declaration", 1),
        ("packing_list", 1),
        ("packing_list", 2),
    ]
    assert stored[2].checksum != stored[3].checksum and stored[2].content.startswith(b"%PDF")


async def test_a_replacement_for_a_complaint_is_a_reshipment_of_the_order(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(units, handlers.on_order_accepted, accepted(clock))
    await handle(units, handlers.on_wms_event, packed(clock, 1000, "100"))
    [delivered] = await shipments(units)
    await handle(units, handlers.on_carrier_tracking, scan(delivered, CarrierStatus.DELIVERED, clock.now()))
    request = OrderRemedyRequested(
        complaint_id="CP1",
        remedy=Remedy.REPLACEMENT,
        service="logistics",
        category="quality",
        line_no=1,
        quantity=12,
        shipment_id=delivered.id,
    )
    events = await handle(
        units, remedies.on_remedy_requested, Event.new(request, source="order", order_id="SO1", clock=clock)
    )
    [planned] = only(events, PLANNED)
    assert planned.payload(ShipmentPlanned).reshipment_of == delivered.id
    assert planned.payload(ShipmentPlanned).lines == [ShipmentLine(line_no=1, quantity=12)]
    [done] = only(events, "logistics.remedy_done")
    assert done.data == {
        "complaint_id": "CP1",
        "remedy": "replacement",
        "reference": planned.data["shipment_id"],
        "note": "",
    }
    credit = request.model_copy(update={"remedy": Remedy.CREDIT_NOTE, "service": "billing"})
    assert (
        await handle(
            units, remedies.on_remedy_requested, Event.new(credit, source="order", order_id="SO1", clock=clock)
        )
        == []
    )


async def test_customs_holding_an_export_keeps_it_until_they_release_it(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await handle(
        units, handlers.on_order_accepted, accepted(clock, country="DE", incoterm="FOB", payment_terms=HOLD_70)
    )
    await handle(units, handlers.on_wms_event, packed(clock, 1000, "100"))
    [shipment] = await shipments(units)
    held = customs.CustomsIn(status="held", declaration_number="531620270000123456", reason="HS code to confirm")
    async with units() as uow:
        found = await uow.get(Shipment, shipment.id, lock=True)
        assert found is not None
        await customs.declare(uow, found, held)
    release = Event.new(ShipmentReleased(released_at=clock.now()), source="billing", order_id="SO1", clock=clock)
    assert DISPATCHED not in types(await handle(units, handlers.on_shipment_released, release))  # customs still hold

    async with units() as uow:
        found = await uow.get(Shipment, shipment.id, lock=True)
        assert found is not None
        await customs.declare(uow, found, customs.CustomsIn(status="released"))
    [dispatched] = [e for e in await outbox(units) if e.type == DISPATCHED]
    assert dispatched.data["shipment_id"] == shipment.id
    steps = [e.data for e in await outbox(units) if e.type == "logistics.formality_changed"]
    assert [(s["status"], s["blocks_shipment"]) for s in steps] == [("held", True), ("released", False)]
