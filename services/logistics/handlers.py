"""Logistics handlers: one small function per message."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from services.logistics import documents, domain, planning, settings
from services.logistics.models import CarrierScan, Consignment, Shipment, ShipmentLeg
from services.logistics.settings import LogisticsSettings
from shared.contracts import (
    CarrierException,
    CarrierStatus,
    CarrierTracking,
    Event,
    OrderAccepted,
    ShipmentChanged,
    ShipmentDelivered,
    ShipmentDispatched,
    ShipmentHeld,
    ShipmentLine,
    ShipmentPlanned,
    ShipmentReleased,
    ShipmentTracked,
    WmsEvent,
)
from shared.contracts import (
    ShipmentLeg as LegContract,
)
from shared.errors import Invalid, NotYet
from shared.exceptions import raise_exception, resolve_exceptions
from shared.fields import scrub
from shared.ids import new_id
from shared.unit_of_work import UnitOfWork
from shared.watcher import Rule

Lines = dict[int, int]


def as_lines(rows: list[dict[str, Any]]) -> Lines:
    """Stored lines (line_no, quantity) as a mapping."""
    return {int(r["line_no"]): int(r["quantity"]) for r in rows}


def stored(lines: Lines) -> list[dict[str, int]]:
    return [{"line_no": n, "quantity": q} for n, q in sorted(lines.items())]


def ordered_lines(consignment: Consignment) -> Lines:
    """What the order asks for, per line (one line of the whole quantity for an order known before lines)."""
    return as_lines(consignment.lines) if consignment.lines else {1: consignment.quantity}


def carried_lines(shipment: Shipment) -> Lines:
    return as_lines(shipment.lines) if shipment.lines else {1: shipment.quantity}


async def on_order_accepted(event: Event[OrderAccepted], uow: UnitOfWork) -> None:
    """Remember where, by when and how many pieces of each line must arrive, and whether shipments wait for
    billing's release; what packing, changes and cancellations wait for."""
    order = event.data
    known = await uow.get(Consignment, event.order_id, lock=True)
    consignment = Consignment(
        order_id=event.order_id,
        delivery_date=order.delivery_date,
        delivery_address=order.delivery_address,
        country=order.destination_country,
        quantity=sum(line.quantity for line in order.lines),
        correlation_id=event.correlation_id,
        order_version=order.order_version,
        customer=order.customer,
        contact=order.contact,
        currency=order.currency,
        incoterm=order.incoterm or "",
        lines=[
            {
                "line_no": line.line_no,
                "product": line.product,
                "sku": line.sku or "",
                "unit": line.unit,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
            }
            for line in order.lines
        ],
        holds_shipment=order.payment_terms.holds_shipment,
    )
    if known is not None:  # the same order again: what billing and cancellation said stands
        consignment.released_at, consignment.held_reason = known.released_at, known.held_reason
        consignment.cancelled_at = known.cancelled_at
    await uow.session.merge(consignment)
    uow.release(event.order_id)


async def on_wms_event(message: WmsEvent, uow: UnitOfWork) -> None:
    """A packed batch becomes a shipment of what it carries of each line (partial packing is normal); goods of
    an order already all shipped, or cancelled, plan nothing; receipts and picks change nothing yet."""
    if not domain.ships_on(message.type):
        return
    why = "goods packed for an order logistics has not seen accepted"
    consignment = await uow.require(Consignment, message.order_id, why=why, lock=True)
    shipments = await order_shipments(uow, message.order_id, lock=True)
    packed = [carried_lines(s) for s in shipments if _counts_as_packed(s)]
    left = planning.left_to_pack(ordered_lines(consignment), packed)
    if not domain.needs_shipment(sum(left.values()), cancelled=consignment.cancelled_at is not None):
        return
    batch = planning.packed_lines(left, {line.line_no: line.quantity for line in message.lines}, message.quantity)
    if not batch:
        return
    dims = [(d.length_cm, d.width_cm, d.height_cm, d.count) for d in message.dimensions]
    volume = message.volume_m3 if message.volume_m3 is not None else (planning.volume(dims) if dims else None)
    waiting = [s for s in shipments if s.status == domain.ShipmentStatus.PLANNED and not s.reshipment_of]
    if settings.settings().consolidate_packing and waiting:
        await _consolidate(uow, waiting[0], consignment, message, batch, volume)
        return
    await plan_shipment(
        uow,
        consignment,
        lines=batch,
        packages=message.packages,
        weight_kg=message.weight_kg,
        net_weight_kg=message.net_weight_kg,
        volume_m3=volume,
    )


def _counts_as_packed(shipment: Shipment) -> bool:
    """Shipments that took goods off the packing list: not cancelled, not a reshipment of goods packed before."""
    return shipment.status != domain.ShipmentStatus.CANCELLED and not shipment.reshipment_of


async def _consolidate(
    uow: UnitOfWork,
    shipment: Shipment,
    consignment: Consignment,
    message: WmsEvent,
    batch: Lines,
    volume: Decimal | None,
) -> None:
    """A packed batch joins the order's shipment still in the warehouse (consolidated packing)."""
    lines = carried_lines(shipment)
    for n, q in batch.items():
        lines[n] = lines.get(n, 0) + q
    shipment.lines, shipment.quantity = stored(lines), sum(lines.values())
    shipment.packages += message.packages
    shipment.weight_kg += message.weight_kg
    if message.net_weight_kg is not None:
        shipment.net_weight_kg = (shipment.net_weight_kg or Decimal(0)) + message.net_weight_kg
    if volume is not None:
        shipment.volume_m3 = (shipment.volume_m3 or Decimal(0)) + volume
    note = f"{sum(batch.values())} more pieces packed into it: {shipment.quantity} pieces, {shipment.weight_kg} kg"
    changed = ShipmentChanged(shipment_id=shipment.id, change_id=message.message_id[:64], note=note)
    uow.emit(changed, order_id=shipment.order_id, correlation_id=consignment.correlation_id)
    await documents.refresh(uow, shipment, consignment)


async def plan_shipment(
    uow: UnitOfWork,
    consignment: Consignment,
    *,
    lines: Lines,
    packages: int,
    weight_kg: Decimal,
    net_weight_kg: Decimal | None = None,
    volume_m3: Decimal | None = None,
    reshipment_of: str | None = None,
) -> Shipment:
    """Plan a shipment of these lines: its mode (and why), its legs with their carriers and tracking numbers, its
    ETA and documents; it leaves at once unless the order's terms hold it for billing's release."""
    table, today = settings.mode_table(), uow.clock.now().date()
    choice = planning.choose(
        today=today,
        due=consignment.delivery_date,
        country=consignment.country,
        weight_kg=weight_kg,
        volume_m3=volume_m3 or Decimal(0),
        table=table,
    )
    shipment = Shipment(
        id=new_id("SH"),
        order_id=consignment.order_id,
        tracking_number=new_id("GD", 12),
        carrier=table.spec(choice.mode).carrier,
        mode=choice.mode,
        mode_reason=scrub(choice.reason, 500),
        status=domain.ShipmentStatus.PLANNED,
        packages=packages,
        quantity=sum(lines.values()),
        lines=stored(lines),
        weight_kg=weight_kg,
        net_weight_kg=net_weight_kg,
        volume_m3=volume_m3,
        planned_at=uow.clock.now(),
        held=consignment.holds_shipment and consignment.released_at is None,
        reshipment_of=reshipment_of,
        eta=planning.eta_at_plan(choice.mode, today=today, table=table),
    )
    uow.session.add(shipment)
    legs = _legs(shipment, consignment.country, table)
    uow.session.add_all(legs)
    planned = ShipmentPlanned(
        shipment_id=shipment.id,
        tracking_number=shipment.tracking_number,
        carrier=shipment.carrier,
        mode=choice.mode,
        packages=shipment.packages,
        weight_kg=shipment.weight_kg,
        lines=[ShipmentLine(line_no=n, quantity=q) for n, q in sorted(lines.items())],
        held=shipment.held,
        reshipment_of=reshipment_of,
        legs=[
            LegContract(
                leg_no=g.leg_no,
                mode=g.mode,
                carrier=g.carrier,
                tracking_number=g.tracking_number,
                origin=g.origin,
                destination=g.destination,
            )
            for g in legs
        ],
        mode_reason=shipment.mode_reason,
        eta=shipment.eta,
    )
    uow.emit(planned, order_id=shipment.order_id, correlation_id=consignment.correlation_id)
    if not shipment.held:
        dispatch(uow, shipment, consignment)
    await uow.session.flush()
    await documents.refresh(uow, shipment, consignment)
    await _check_eta(uow, shipment, consignment)
    for leg in legs:
        uow.release(leg.tracking_number)
    return shipment


def _legs(shipment: Shipment, country: str, table: planning.ModeTable) -> list[ShipmentLeg]:
    """The shipment's legs; the leg of its own mode carries the shipment's tracking number."""
    specs = planning.legs_of(shipment.mode, country, table)
    main = next((i for i, s in enumerate(specs) if s.mode == shipment.mode), 0)
    return [
        ShipmentLeg(
            shipment_id=shipment.id,
            leg_no=i + 1,
            mode=spec.mode,
            carrier=shipment.carrier if i == main else spec.carrier,
            tracking_number=shipment.tracking_number if i == main else new_id("GD", 12),
            origin=spec.origin,
            destination=spec.destination,
            days=spec.days,
            status=domain.ShipmentStatus.PLANNED,
        )
        for i, spec in enumerate(specs)
    ]


async def replace_legs(uow: UnitOfWork, shipment: Shipment, country: str) -> None:
    """A planned shipment whose mode changed travels the new mode's legs."""
    for leg in await legs_of(uow, shipment.id):
        await uow.session.delete(leg)
    await uow.session.flush()
    legs = _legs(shipment, country, settings.mode_table())
    uow.session.add_all(legs)
    for leg in legs:
        uow.release(leg.tracking_number)


def must_wait(shipment: Shipment, consignment: Consignment) -> bool:
    """Whether a planned shipment may not leave yet: billing has not released the order, or customs hold it."""
    billing = consignment.holds_shipment and consignment.released_at is None
    return billing or shipment.customs_status == "held"


def dispatch(uow: UnitOfWork, shipment: Shipment, consignment: Consignment) -> None:
    """Release the shipment to its carrier: the goods may leave (the `shipment` payment trigger)."""
    shipment.held, shipment.dispatched_at = False, uow.clock.now()
    dispatched = ShipmentDispatched(
        shipment_id=shipment.id,
        dispatched_at=shipment.dispatched_at,
        lines=[ShipmentLine(line_no=n, quantity=q) for n, q in sorted(carried_lines(shipment).items())],
    )
    uow.emit(dispatched, order_id=shipment.order_id, correlation_id=consignment.correlation_id)


async def on_shipment_held(event: Event[ShipmentHeld], uow: UnitOfWork) -> None:
    """Billing holds the order's shipments: the ones planned from now on wait for its release."""
    why = "a shipment hold for an order logistics has not seen accepted"
    consignment = await uow.require(Consignment, event.order_id, why=why, lock=True)
    consignment.held_reason = scrub(event.data.reason, 500)
    consignment.holds_shipment, consignment.released_at = True, None


async def on_shipment_released(event: Event[ShipmentReleased], uow: UnitOfWork) -> None:
    """Billing released the order: remembered for shipments planned later; the held ones leave now."""
    why = "a shipment release for an order logistics has not seen accepted"
    consignment = await uow.require(Consignment, event.order_id, why=why, lock=True)
    if consignment.released_at is not None:
        return
    consignment.released_at = event.data.released_at
    for shipment in await order_shipments(uow, event.order_id, lock=True):
        if shipment.held and shipment.status == domain.ShipmentStatus.PLANNED and not must_wait(shipment, consignment):
            dispatch(uow, shipment, consignment)


async def order_shipments(uow: UnitOfWork, order_id: str, *, lock: bool = False) -> list[Shipment]:
    """The order's shipments in the order they were planned."""
    query = select(Shipment).where(Shipment.order_id == order_id).order_by(col(Shipment.planned_at))
    return await uow.all(query, lock=lock)


async def legs_of(uow: UnitOfWork, shipment_id: str) -> list[ShipmentLeg]:
    query = select(ShipmentLeg).where(ShipmentLeg.shipment_id == shipment_id).order_by(col(ShipmentLeg.leg_no))
    return await uow.all(query)


# --- carrier tracking --------------------------------------------------------------------------------------


async def on_carrier_tracking(message: CarrierTracking, uow: UnitOfWork) -> None:
    """A carrier scan of one leg: kept in the shipment's history; progress moves the leg and the shipment on
    (scans of an earlier stage, or older than what is known, change nothing); the last leg delivered is the
    shipment delivered, with its proof of delivery."""
    query = select(ShipmentLeg).where(ShipmentLeg.tracking_number == message.tracking_number)
    leg = await uow.first(query, lock=True)
    if leg is None:
        raise NotYet(message.tracking_number, "tracking event for a shipment not planned yet")
    shipment = await uow.get(Shipment, leg.shipment_id, lock=True)
    assert shipment is not None
    if leg.carrier != message.carrier:
        raise Invalid(f"carrier {message.carrier} reported shipment {shipment.id} of {leg.carrier}")
    _keep_scan(uow, shipment, leg, message)
    if shipment.status == domain.ShipmentStatus.CANCELLED:
        shipment.last_scan_at = uow.clock.now()  # heard of, for whoever recovers the goods; nothing to follow
        return
    newest = leg.last_event_at is None or message.occurred_at >= leg.last_event_at
    leg.last_event_at = at_least(leg.last_event_at, message.occurred_at)
    await _scanned(shipment, message, uow, newest=newest)
    if message.status == CarrierStatus.EXCEPTION or not domain.moves_forward(leg.status, message.status):
        return  # an exception is raised (above), not a status; an older stage tells nothing new
    consignment = await uow.get(Consignment, shipment.order_id)
    assert consignment is not None
    legs = await legs_of(uow, shipment.id)
    final = leg.leg_no == legs[-1].leg_no
    leg.status = message.status
    if message.status == CarrierStatus.DELIVERED:
        leg.delivered_at = message.occurred_at
    shipment.eta = planning.eta_after_scan(
        on=message.occurred_at.date(),
        status=message.status,
        days_after_leg=sum(g.days for g in legs if g.leg_no > leg.leg_no),
        leg_days=leg.days,
        carrier_eta=message.estimated_delivery,
        final_leg=final,
    )
    if final and message.status == CarrierStatus.DELIVERED:
        await _delivered(uow, shipment, consignment, message)
        return
    await _check_eta(uow, shipment, consignment)
    status = message.status if final or message.status in domain.EN_ROUTE else CarrierStatus.IN_TRANSIT
    if domain.moves_forward(shipment.status, status):
        shipment.status = status
        tracked = ShipmentTracked(
            shipment_id=shipment.id,
            status=status,
            location=message.location,
            leg_no=leg.leg_no if len(legs) > 1 else None,
            eta=shipment.eta,
        )
        emit = uow.emitter(order_id=shipment.order_id, correlation_id=consignment.correlation_id)
        emit(tracked, occurred_at=message.occurred_at)


def _keep_scan(uow: UnitOfWork, shipment: Shipment, leg: ShipmentLeg, message: CarrierTracking) -> None:
    scan = CarrierScan(
        shipment_id=shipment.id,
        leg_no=leg.leg_no,
        message_id=message.message_id,
        status=message.status if message.status != CarrierStatus.EXCEPTION else f"exception:{message.exception_code}",
        carrier_code=message.carrier_code,
        location=message.location,
        remark=message.remark,
        occurred_at=message.occurred_at,
        received_at=uow.clock.now(),
    )
    uow.session.add(scan)


async def _delivered(uow: UnitOfWork, shipment: Shipment, consignment: Consignment, message: CarrierTracking) -> None:
    """The shipment's proof of delivery: who signed, when, what was received; the order is delivered once the
    pieces received cover every line; fewer pieces than shipped is an exception."""
    emit = uow.emitter(order_id=shipment.order_id, correlation_id=consignment.correlation_id)
    carried = carried_lines(shipment)
    received = planning.received_lines(
        carried, message.received_quantity, {line.line_no: line.quantity for line in message.lines}
    )
    shipment.status, shipment.delivered_at = domain.ShipmentStatus.DELIVERED, message.occurred_at
    shipment.received_quantity = sum(received.values())
    shipment.received_lines = stored(received)
    shipment.signed_by, shipment.photo_ref = message.signed_by, message.photo_ref
    others = [carried_lines_received(s) for s in await order_shipments(uow, shipment.order_id) if s.id != shipment.id]
    order_delivered = planning.order_delivered(ordered_lines(consignment), [received, *others])
    delivered = ShipmentDelivered(
        shipment_id=shipment.id,
        delivered_at=message.occurred_at,
        received_quantity=shipment.received_quantity,
        lines=[ShipmentLine(line_no=n, quantity=q) for n, q in sorted(received.items())],
        order_delivered=order_delivered,
        signed_by=message.signed_by,
        photo_ref=message.photo_ref,
    )
    emit(delivered, occurred_at=message.occurred_at)
    subject: dict[str, Any] = {"order_id": shipment.order_id, "subject_type": "shipment", "subject_id": shipment.id}
    await resolve_exceptions(
        uow, kinds=["logistics.eta_late"], reason="delivered", subject_type="shipment", subject_id=shipment.id
    )
    if (short := shipment.quantity - shipment.received_quantity) > 0:
        await raise_exception(
            uow,
            kind_name="logistics.short_delivery",
            title=f"Shipment {shipment.id} delivered {shipment.received_quantity} of {shipment.quantity} pieces"
            f" ({short} short), signed by {message.signed_by or 'nobody named'}",
            facts={
                "shipped": shipment.quantity,
                "received": shipment.received_quantity,
                "short": short,
                "carrier": shipment.carrier,
                "photo_ref": message.photo_ref,
                "carrier_words": message.remark,
            },
            **subject,
        )
    if late := domain.days_late(consignment.delivery_date, message.occurred_at.date()):
        await raise_exception(
            uow,
            kind_name="logistics.late_delivery",
            title=f"Shipment {shipment.id} delivered {late} day(s) after the promised {consignment.delivery_date}",
            facts={"promised": consignment.delivery_date.isoformat(), "days_late": late, "carrier": shipment.carrier},
            **subject,
        )


def carried_lines_received(shipment: Shipment) -> Lines:
    """What a shipment delivered, per line (nothing while it is on its way)."""
    if shipment.status != domain.ShipmentStatus.DELIVERED:
        return {}
    return as_lines(shipment.received_lines) if shipment.received_lines else carried_lines(shipment)


async def _scanned(shipment: Shipment, message: CarrierTracking, uow: UnitOfWork, *, newest: bool) -> None:
    """Every scan: the shipment is heard of again; an exception scan raises its kind, the newest progress
    clears delays (a late-arriving older scan clears nothing, and an older delay is news no more)."""
    shipment.last_scan_at = uow.clock.now()
    subject: dict[str, Any] = {"subject_type": "shipment", "subject_id": shipment.id}
    cleared = domain.cleared_by(message.status, "no_scan") if newest else ["logistics.no_scan"]
    await resolve_exceptions(uow, kinds=cleared, reason=f"the carrier scanned: {message.status}", **subject)
    if message.status != CarrierStatus.EXCEPTION:
        return
    lasting = message.exception_code in (CarrierException.DAMAGE, CarrierException.LOSS)
    if not newest and not lasting:
        return
    kind_name = domain.exception_kind(message.exception_code)
    words = message.remark or message.location
    await raise_exception(
        uow,
        kind_name=kind_name,
        order_id=shipment.order_id,
        title=f"{shipment.carrier} reports {kind_name.split('.')[1].replace('_', ' ')} on shipment {shipment.id}"
        + (f": {words}" if words else ""),
        facts={"carrier": shipment.carrier, "tracking_number": shipment.tracking_number, "carrier_words": words},
        **subject,
    )


async def _check_eta(uow: UnitOfWork, shipment: Shipment, consignment: Consignment) -> None:
    """An ETA after the promised date is an exception; back within it, the exception clears."""
    subject: dict[str, Any] = {"subject_type": "shipment", "subject_id": shipment.id}
    if not planning.eta_is_late(shipment.eta, consignment.delivery_date):
        await resolve_exceptions(uow, kinds=["logistics.eta_late"], reason="the ETA is within the promise", **subject)
        return
    assert shipment.eta is not None
    days = (shipment.eta - consignment.delivery_date).days
    await raise_exception(
        uow,
        kind_name="logistics.eta_late",
        order_id=shipment.order_id,
        title=f"Shipment {shipment.id} ({shipment.mode}, {shipment.carrier}) is expected on {shipment.eta},"
        f" {days} day(s) after the promised {consignment.delivery_date}",
        facts={"eta": shipment.eta.isoformat(), "promised": consignment.delivery_date.isoformat(), "days_late": days},
        **subject,
    )


# --- watch rules -------------------------------------------------------------------------------------------


def quiet_shipments(limit: timedelta) -> Rule:
    """Watch rule: a moving shipment with no carrier scan for longer than `limit`."""

    async def quiet_shipments(uow: UnitOfWork) -> None:
        now = uow.clock.now()
        query = select(Shipment).where(
            col(Shipment.status).in_(domain.MOVING), col(Shipment.last_scan_at) < now - limit
        )
        for shipment in await uow.all(query, lock=True):
            assert shipment.last_scan_at is not None
            await raise_exception(
                uow,
                kind_name="logistics.no_scan",
                order_id=shipment.order_id,
                subject_type="shipment",
                subject_id=shipment.id,
                title=f"No scan from {shipment.carrier} on shipment {shipment.id} since"
                f" {shipment.last_scan_at:%Y-%m-%d %H:%M} UTC (last: {shipment.status})",
                facts={"last_scan_at": shipment.last_scan_at.isoformat(), "tracking_number": shipment.tracking_number},
            )

    return quiet_shipments


async def overdue_etas(uow: UnitOfWork) -> None:
    """Watch rule: a dispatched shipment not delivered by its ETA arrives today at the earliest; past the
    promised date, that is an exception."""
    today = uow.clock.now().date()
    query = select(Shipment).where(
        col(Shipment.dispatched_at).is_not(None),
        col(Shipment.status).not_in((domain.ShipmentStatus.DELIVERED, domain.ShipmentStatus.CANCELLED)),
        col(Shipment.eta) < today,
    )
    for shipment in await uow.all(query, lock=True):
        shipment.eta = today
        consignment = await uow.get(Consignment, shipment.order_id)
        if consignment is not None:
            await _check_eta(uow, shipment, consignment)


def rules(settings: LogisticsSettings) -> list[Rule]:
    """The logistics service's time-based exception rules."""
    return [quiet_shipments(timedelta(hours=settings.no_scan_hours)), overdue_etas]


def at_least(*times: datetime | None) -> datetime | None:
    """The latest of the times given."""
    present = [t for t in times if t is not None]
    return max(present) if present else None
