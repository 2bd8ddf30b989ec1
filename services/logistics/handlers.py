"""Logistics handlers: one small function per message."""

from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from services.logistics import domain
from services.logistics.models import Consignment, Shipment
from services.logistics.settings import LogisticsSettings
from shared.contracts import (
    CarrierStatus,
    CarrierTracking,
    Event,
    OrderAccepted,
    ShipmentDelivered,
    ShipmentPlanned,
    ShipmentTracked,
    WmsEvent,
)
from shared.errors import Invalid, NotYet
from shared.exceptions import raise_exception, resolve_exceptions
from shared.ids import new_id
from shared.unit_of_work import UnitOfWork
from shared.watcher import Rule


async def on_order_accepted(event: Event[OrderAccepted], uow: UnitOfWork) -> None:
    """Remember where, by when and how many pieces must arrive; what changes and cancellations wait for."""
    order = event.data
    consignment = Consignment(
        order_id=event.order_id,
        delivery_date=order.delivery_date,
        delivery_address=order.delivery_address,
        country=order.destination_country,
        quantity=sum(line.quantity for line in order.lines),
        correlation_id=event.correlation_id,
        order_version=order.order_version,
    )
    await uow.session.merge(consignment)
    uow.release(event.order_id)


async def on_wms_event(message: WmsEvent, uow: UnitOfWork) -> None:
    """Packed goods get a shipment with a mode and carrier; other stock movements change nothing yet."""
    if not domain.ships_on(message.type):
        return
    why = "goods packed for an order logistics has not seen accepted"
    consignment = await uow.require(Consignment, message.order_id, why=why, lock=True)
    shipments = await uow.all(select(Shipment).where(Shipment.order_id == message.order_id))
    if not domain.needs_shipment(len(shipments), cancelled=consignment.cancelled_at is not None):
        return
    mode = domain.choose_mode(
        today=uow.clock.now().date(),
        due=consignment.delivery_date,
        country=consignment.country,
        weight_kg=message.weight_kg,
    )
    shipment = Shipment(
        id=new_id("SH"),
        order_id=message.order_id,
        tracking_number=new_id("GD", 12),
        carrier=domain.carrier_for(mode),
        mode=mode,
        status=domain.ShipmentStatus.PLANNED,
        packages=message.packages,
        quantity=domain.packed_pieces(message.quantity, consignment.quantity),
        weight_kg=message.weight_kg,
        planned_at=uow.clock.now(),
    )
    uow.session.add(shipment)
    planned = ShipmentPlanned(
        shipment_id=shipment.id,
        tracking_number=shipment.tracking_number,
        carrier=shipment.carrier,
        mode=mode,
        packages=shipment.packages,
        weight_kg=shipment.weight_kg,
    )
    uow.emit(planned, order_id=shipment.order_id, correlation_id=consignment.correlation_id)
    uow.release(shipment.tracking_number)


async def on_carrier_tracking(message: CarrierTracking, uow: UnitOfWork) -> None:
    """A carrier scan: a new status is published; delivery is published once, with the received quantity."""
    query = select(Shipment).where(Shipment.tracking_number == message.tracking_number)
    shipment = await uow.first(query, lock=True)
    if shipment is None:
        raise NotYet(message.tracking_number, "tracking event for a shipment not planned yet")
    if shipment.carrier != message.carrier:
        raise Invalid(f"carrier {message.carrier} reported shipment {shipment.id} of {shipment.carrier}")
    if shipment.status == domain.ShipmentStatus.CANCELLED:
        shipment.last_scan_at = uow.clock.now()  # heard of, for whoever recovers the goods; nothing to follow
        return
    await _scanned(shipment, message, uow)
    if message.status == CarrierStatus.EXCEPTION:
        return  # raised as an exception (above), not a status: the progress it had made stands
    if not domain.moves_forward(shipment.status, message.status):
        return
    consignment = await uow.get(Consignment, shipment.order_id)
    emit = uow.emitter(order_id=shipment.order_id, correlation_id=consignment.correlation_id if consignment else None)
    shipment.status = message.status
    if message.status != CarrierStatus.DELIVERED:
        tracked = ShipmentTracked(shipment_id=shipment.id, status=message.status, location=message.location)
        emit(tracked, occurred_at=message.occurred_at)
        return
    shipment.delivered_at = message.occurred_at
    shipment.received_quantity = message.received_quantity
    received = message.received_quantity if message.received_quantity is not None else 0
    delivered = ShipmentDelivered(shipment_id=shipment.id, delivered_at=message.occurred_at, received_quantity=received)
    emit(delivered, occurred_at=message.occurred_at)
    if consignment and (late := domain.days_late(consignment.delivery_date, message.occurred_at.date())):
        await raise_exception(
            uow,
            kind_name="logistics.late_delivery",
            order_id=shipment.order_id,
            subject_type="shipment",
            subject_id=shipment.id,
            title=f"Shipment {shipment.id} delivered {late} day(s) after the promised {consignment.delivery_date}",
            facts={"promised": consignment.delivery_date.isoformat(), "days_late": late, "carrier": shipment.carrier},
        )


async def _scanned(shipment: Shipment, message: CarrierTracking, uow: UnitOfWork) -> None:
    """Every scan: the shipment is heard of again; an exception scan raises its kind, progress clears delays."""
    shipment.last_scan_at = uow.clock.now()
    subject: dict[str, Any] = {"subject_type": "shipment", "subject_id": shipment.id}
    cleared = domain.cleared_by(message.status, "no_scan")
    await resolve_exceptions(uow, kinds=cleared, reason=f"the carrier scanned: {message.status}", **subject)
    if message.status != CarrierStatus.EXCEPTION:
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


def rules(settings: LogisticsSettings) -> list[Rule]:
    """The logistics service's time-based exception rules."""
    return [quiet_shipments(timedelta(hours=settings.no_scan_hours))]
