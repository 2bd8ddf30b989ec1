"""Changes and cancellation: logistics's impact assessment of a requested change, and the order's facts and
its shipments not yet picked up brought to an accepted change or cancelled."""

from datetime import datetime

from sqlmodel import col, select

from services.logistics import documents, domain, handlers, settings
from services.logistics.models import Consignment, Shipment
from shared.contracts import (
    ASSESSED,
    ChangeKind,
    Event,
    EventData,
    OrderCancelled,
    OrderChangeAccepted,
    OrderChangeRequested,
    ShipmentChanged,
)
from shared.exceptions import resolve_exceptions
from shared.fields import scrub
from shared.unit_of_work import UnitOfWork

UNKNOWN = "a change of an order logistics has not seen accepted"


async def on_order_change_requested(
    event: Event[OrderChangeRequested], uow: UnitOfWork, *, freight: domain.Freight | None = None
) -> None:
    """Tell the merchandiser what a change would mean for shipping before anyone decides; nothing changes yet.
    An order logistics does not know yet is answered too (nothing planned, nothing shipped)."""
    change = event.data
    proposal = domain.Proposal(
        quantity=sum(line.quantity for line in change.lines),
        delivery_date=change.delivery_date,
        cancels=change.kind == ChangeKind.CANCEL or bool(change.cancelled_lines),
    )
    assessment = domain.assess_change(
        await uow.get(Consignment, event.order_id),
        await _shipments(uow, event.order_id),
        proposal,
        today=uow.clock.now().date(),
        freight=freight or settings.freight(),
    )
    assessed = ASSESSED["logistics"](
        change_id=change.change_id,
        feasible=assessment.feasible,
        new_date=assessment.new_date,
        cost=assessment.cost,
        shipped=assessment.shipped,
        note=scrub(assessment.note, 500),
    )
    uow.emit(assessed, order_id=event.order_id, cause=event.envelope)


async def on_order_change_accepted(
    event: Event[OrderChangeAccepted], uow: UnitOfWork, *, freight: domain.Freight | None = None
) -> None:
    """Bring the order's facts to the new version and replan its shipment if the carrier does not have it yet;
    a change leaving no line cancels the order. A version applied before (the same change again) does nothing."""
    change = event.data
    consignment = await uow.require(Consignment, event.order_id, why=UNKNOWN, lock=True)
    if consignment.cancelled_at is not None or change.order_version <= consignment.order_version:
        return
    consignment.order_version = change.order_version
    if domain.cancels_everything(len(change.lines)):
        await _cancel(uow, event, consignment, change_id=change.change_id, at=event.occurred_at)
        return
    quantity = sum(line.quantity for line in change.lines)
    for shipment in await _shipments(uow, event.order_id, lock=True):
        if shipment.status == domain.ShipmentStatus.PLANNED:
            await _replan(uow, event, shipment, consignment, quantity=quantity, freight=freight or settings.freight())
    consignment.quantity, consignment.delivery_date, consignment.change_id = (
        quantity,
        change.delivery_date,
        change.change_id,
    )
    known = {line["line_no"]: line for line in consignment.lines}
    consignment.lines = [
        {**known.get(line.line_no, {}), "line_no": line.line_no, "product": line.product, "sku": line.sku or ""}
        | {"unit": line.unit, "quantity": line.quantity, "unit_price": str(line.unit_price)}
        for line in change.lines
    ]


async def on_order_cancelled(event: Event[OrderCancelled], uow: UnitOfWork) -> None:
    """Cancel every shipment of the order its carrier does not have yet, and ship nothing more for it."""
    consignment = await uow.require(Consignment, event.order_id, why=UNKNOWN, lock=True)
    await _cancel(uow, event, consignment, change_id=event.data.change_id, at=event.data.cancelled_at)


async def _replan(
    uow: UnitOfWork,
    event: Event[OrderChangeAccepted],
    shipment: Shipment,
    consignment: Consignment,
    *,
    quantity: int,
    freight: domain.Freight,
) -> None:
    """A planned shipment resized and, if what its mode was chosen from moved, given a new mode and carrier;
    announced when anything about it changed."""
    plan = domain.replan(
        shipment,
        added=quantity - consignment.quantity,
        was_due=consignment.delivery_date,
        due=event.data.delivery_date,
        country=consignment.country,
        today=uow.clock.now().date(),
        freight=freight,
    )
    if not plan.note:
        return
    if plan.quantity != shipment.quantity and len(lines := handlers.carried_lines(shipment)) == 1:
        shipment.lines = handlers.stored({next(iter(lines)): plan.quantity})
    shipment.quantity, shipment.weight_kg = plan.quantity, plan.weight_kg
    moved = plan.mode != shipment.mode
    shipment.mode, shipment.carrier = plan.mode, domain.carrier_for(plan.mode)
    if moved:
        await handlers.replace_legs(uow, shipment, consignment.country)
    changed = ShipmentChanged(shipment_id=shipment.id, change_id=event.data.change_id, note=scrub(plan.note, 500))
    uow.emit(changed, order_id=event.order_id, cause=event.envelope)
    await uow.session.flush()
    await documents.refresh(uow, shipment, consignment)


async def _cancel(
    uow: UnitOfWork, event: Event[EventData], consignment: Consignment, *, change_id: str, at: datetime
) -> None:
    """The order is cancelled: what the carrier does not have yet stays here, and what a carrier or its silence
    said about it no longer needs chasing. Cancelling again changes nothing."""
    if consignment.cancelled_at is not None:
        return
    consignment.cancelled_at, consignment.change_id = at, change_id
    for shipment in await _shipments(uow, event.order_id, lock=True):
        if domain.left_warehouse(shipment.status) or shipment.status == domain.ShipmentStatus.CANCELLED:
            continue
        shipment.status = domain.ShipmentStatus.CANCELLED
        note = "cancelled with the order before the carrier picked it up"
        changed = ShipmentChanged(shipment_id=shipment.id, change_id=change_id, cancelled=True, note=note)
        uow.emit(changed, order_id=event.order_id, cause=event.envelope)
        await resolve_exceptions(
            uow,
            kinds=domain.cleared_by(domain.ShipmentStatus.CANCELLED, "no_scan"),
            subject_type="shipment",
            subject_id=shipment.id,
            reason="shipment cancelled with the order",
        )


async def _shipments(uow: UnitOfWork, order_id: str, *, lock: bool = False) -> list[Shipment]:
    """The order's shipments in the order they were planned."""
    query = select(Shipment).where(Shipment.order_id == order_id).order_by(col(Shipment.planned_at))
    return await uow.all(query, lock=lock)
