"""Purchase orders: the supplier's confirmation, shipment, receipt and incoming inspection, from
`supplier.events` or `POST /supplier-events`. A bought line completes once received and inspected."""

from services.production import domain, handlers, plans, quality, schedule
from services.production.models import MilestoneRow, WorkOrder
from shared.contracts import MilestoneName, ProductionStarted, SupplierEvent
from shared.errors import Invalid
from shared.exceptions import resolve_exception
from shared.unit_of_work import UnitOfWork

M = MilestoneName


async def on_supplier_event(message: SupplierEvent, uow: UnitOfWork) -> None:
    """A supplier's message about one of its purchase orders; one it does not know yet waits for it."""
    found = await uow.require(
        WorkOrder, message.purchase_order_id, why=f"supplier {message.type} for unknown purchase order"
    )
    if found.kind != "buy":
        raise Invalid(f"{message.purchase_order_id} is made in-house, not a purchase order")
    siblings = await handlers.order_work_orders(uow, found.order_id)
    purchase = next(w for w in siblings if w.id == found.id)
    if purchase.status == domain.WorkOrderStatus.CANCELLED:
        return  # the purchase was stopped: what the supplier still sends changes nothing
    rows = await plans.load(uow, purchase.id)
    if message.type in ("confirmed", "shipped"):
        await _confirmed(uow, purchase, rows, message)
    elif message.type == "received":
        await _received(uow, purchase, rows, siblings, message)
    elif purchase.status != domain.WorkOrderStatus.COMPLETED:
        passed = message.passed is not False
        if passed and message.quantity:
            purchase.good_quantity = message.quantity  # accepted pieces
        result = quality.InspectionIn(
            stage="incoming",
            passed=passed,
            inspected_quantity=message.quantity,
            note=message.note,
            by=purchase.supplier or "supplier",
        )
        if not purchase.final_passed:
            await quality.inspect(uow, purchase.id, result)


async def _confirmed(uow: UnitOfWork, purchase: WorkOrder, rows: list[MilestoneRow], message: SupplierEvent) -> None:
    """The supplier took the order (a shipment says so too): the purchase has started; a promised date later than
    the material is needed is a shortage, attributed to the supplier."""
    if purchase.status == domain.WorkOrderStatus.PLANNED:
        purchase.status, purchase.started_at = domain.WorkOrderStatus.STARTED, message.occurred_at
        handlers.emitter(uow, purchase)(ProductionStarted(work_order_id=purchase.id), occurred_at=message.occurred_at)
    if message.type != "confirmed" or message.confirmed_date is None:
        return
    purchase.confirmed_date = message.confirmed_date
    needed = schedule.find(rows, M.MATERIALS_READY)
    if needed is None or needed.actual is not None:
        return
    late = message.confirmed_date > needed.planned
    if schedule.project(rows, M.MATERIALS_READY, message.confirmed_date if late else None):
        plans.changed(uow, purchase, rows)
    if late:
        await handlers.raise_material_shortage(
            uow, purchase, needed.planned, why=f"confirmed by the supplier for {message.confirmed_date}"
        )
    else:
        await _material_there(uow, purchase, "the supplier confirmed a date in time")


async def _received(
    uow: UnitOfWork, purchase: WorkOrder, rows: list[MilestoneRow], siblings: list[WorkOrder], message: SupplierEvent
) -> None:
    """The goods arrived: complete once the incoming inspection passed (it may have come first)."""
    if purchase.status not in (domain.WorkOrderStatus.PLANNED, domain.WorkOrderStatus.STARTED):
        return  # received already
    purchase.received_quantity = message.quantity
    if not purchase.final_passed:
        purchase.good_quantity = message.quantity
    purchase.started_at = purchase.started_at or message.occurred_at
    purchase.produced_at = message.occurred_at
    if schedule.reach(rows, M.MATERIALS_READY, message.occurred_at.date()):
        plans.changed(uow, purchase, rows)
    await _material_there(uow, purchase, "the goods were received")
    if domain.after_production(True, purchase.final_passed) == domain.WorkOrderStatus.AWAITING_QC:
        purchase.status = domain.WorkOrderStatus.AWAITING_QC
        return
    await handlers.complete(uow, purchase, rows, siblings, message.occurred_at)


async def _material_there(uow: UnitOfWork, purchase: WorkOrder, reason: str) -> None:
    await resolve_exception(
        uow,
        kind_name="production.material_shortage",
        subject_type="purchase_order",
        subject_id=purchase.id,
        reason=reason,
    )
