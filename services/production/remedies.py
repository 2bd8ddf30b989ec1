"""A customer's complaint put right by production: a rework order for the line, and word when it is done.

The rework is one more work order of the line, named by the complaint (as a work order grown by a change
is named by the change); it runs through the MES like any other, and its completion answers the
complaint with `production.remedy_done`. It does not make the order ready again (the rest went long ago).
"""

from sqlmodel import col, select

from services.production import handlers
from services.production.models import WorkOrder
from shared.contracts import Event, OrderLine, OrderRemedyRequested, Remedy
from shared.errors import Invalid
from shared.unit_of_work import UnitOfWork


async def on_remedy_requested(event: Event[OrderRemedyRequested], uow: UnitOfWork) -> None:
    data = event.data
    if data.service != "production" or data.remedy != Remedy.REWORK:
        return
    query = select(WorkOrder).where(WorkOrder.order_id == event.order_id).order_by(col(WorkOrder.created_at))
    made = [w for w in await uow.all(query) if data.line_no in (None, w.line_no)]
    if not made:
        raise Invalid(f"order {event.order_id} has no work order for line {data.line_no}: nothing to rework")
    if any(w.change_id == data.complaint_id for w in made):
        return  # asked again: the rework order exists
    first = made[0]
    line = OrderLine(
        line_no=first.line_no,
        product=first.product,
        sku=first.sku or None,
        quantity=data.quantity or first.quantity,
        unit_price=first.unit_price,
        make_or_buy="make",
    )
    today = uow.clock.now().date()
    await handlers.open_work_order(
        uow,
        event,
        line,
        quantity=line.quantity,
        delivery_date=max(first.delivery_date, today),
        planned_from=today,
        change_id=data.complaint_id,
    )
