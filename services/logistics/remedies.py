"""A customer's complaint put right by logistics: the replacement goods go out as a reshipment of the order."""

from decimal import Decimal

from sqlmodel import col, select

from services.logistics import handlers
from services.logistics.models import Consignment, Shipment
from shared.contracts import REMEDIED, Event, OrderRemedyRequested, Remedy
from shared.errors import Invalid
from shared.unit_of_work import UnitOfWork

MIN_WEIGHT = Decimal("0.1")


async def on_remedy_requested(event: Event[OrderRemedyRequested], uow: UnitOfWork) -> None:
    """A replacement: a new shipment of the complained-about line and quantity, replacing the shipment named (or
    the order's latest); `logistics.remedy_done` names it."""
    data = event.data
    if data.service != "logistics" or data.remedy != Remedy.REPLACEMENT:
        return
    consignment = await uow.get(Consignment, event.order_id, lock=True)
    if consignment is None:
        raise Invalid(f"no shipments were ever planned for order {event.order_id}: nothing to replace")
    query = select(Shipment).where(Shipment.order_id == event.order_id).order_by(col(Shipment.planned_at))
    shipments = await uow.all(query)
    replaced = next((s for s in shipments if s.id == data.shipment_id), shipments[-1] if shipments else None)
    if replaced is None:
        raise Invalid(f"order {event.order_id} has no shipment to replace")
    carried = handlers.carried_lines(replaced)
    line_no = data.line_no or min(carried)
    quantity = data.quantity or carried.get(line_no, 0)
    if quantity <= 0:
        raise Invalid(f"a replacement of order {event.order_id} needs a quantity")
    share = Decimal(quantity) / Decimal(max(sum(carried.values()), 1))
    shipment = await handlers.plan_shipment(
        uow,
        consignment,
        lines={line_no: quantity},
        packages=max(1, round(replaced.packages * share)),
        weight_kg=max(MIN_WEIGHT, (replaced.weight_kg * share).quantize(Decimal("0.001"))),
        reshipment_of=replaced.id,
    )
    done = REMEDIED["logistics"](complaint_id=data.complaint_id, remedy=data.remedy, reference=shipment.id)
    uow.emit(done, order_id=event.order_id, cause=event.envelope)
