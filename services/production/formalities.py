"""The commodity inspection of an export order's goods (商检), booked with the inspection authority and then
passed or failed: a step of the order's export formalities. A failure holds the goods (an exception for the
quality owner) until a later inspection passes."""

from typing import Literal

from pydantic import BaseModel, ConfigDict

from services.production.models import WorkOrder
from shared.contracts import FORMALITY, FormalityStep
from shared.errors import NotFound
from shared.exceptions import raise_exception, resolve_exception
from shared.fields import OptionalText
from shared.unit_of_work import UnitOfWork

KIND = "production.commodity_inspection_failed"


class CommodityInspectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["booked", "passed", "failed"]
    certificate: OptionalText = ""
    reason: OptionalText = ""


async def commodity_inspection(uow: UnitOfWork, work_order_id: str, given: CommodityInspectionIn) -> dict[str, str]:
    work_order = await uow.get(WorkOrder, work_order_id)
    if work_order is None:
        raise NotFound(f"no work order {work_order_id}")
    if given.status == "failed":
        why = given.reason or "no reason given"
        await raise_exception(
            uow,
            kind_name=KIND,
            order_id=work_order.order_id,
            subject_type="work_order",
            subject_id=work_order.id,
            title=f"Commodity inspection of {work_order.product} ({work_order.id}) failed: {why}",
            facts={"certificate": given.certificate, "reason": given.reason},
        )
    elif given.status == "passed":
        await resolve_exception(
            uow, kind_name=KIND, subject_type="work_order", subject_id=work_order.id, reason="inspected and passed"
        )
    changed = FORMALITY["production"](
        step=FormalityStep.COMMODITY_INSPECTION,
        status=given.status,
        subject_id=work_order.id,
        reference=given.certificate,
        reason=given.reason,
        blocks_shipment=given.status == "failed",
    )
    uow.emit(changed, order_id=work_order.order_id, correlation_id=work_order.correlation_id)
    return {"work_order_id": work_order.id, "status": given.status}
