"""The customs declaration of an export shipment (报关): declared, then released, or held with a reason. A step of
the order's export formalities that blocks the goods: a held shipment does not leave (as billing's hold keeps
it), and leaves the moment customs release it (if billing lets it go too); one held after it left is an
exception (the goods sit at the port)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, status
from pydantic import BaseModel, ConfigDict

from services.logistics import domain, handlers
from services.logistics.models import Consignment, Shipment
from shared import auth
from shared.auth import AccessRole
from shared.contracts import FORMALITY, HOME_COUNTRY, FormalityStep
from shared.exceptions import raise_exception, resolve_exception
from shared.fields import OptionalText, scrub
from shared.service import RuntimeDep
from shared.unit_of_work import UnitOfWork

KIND = "logistics.customs_held"
router = APIRouter(tags=["customs"])


class CustomsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["declared", "released", "held"]
    declaration_number: OptionalText = ""
    reason: OptionalText = ""


async def declare(uow: UnitOfWork, shipment: Shipment, given: CustomsIn) -> Shipment:
    consignment = await uow.get(Consignment, shipment.order_id, lock=True)
    assert consignment is not None
    if consignment.country == HOME_COUNTRY:
        raise HTTPException(status.HTTP_409_CONFLICT, f"shipment {shipment.id} is domestic: no customs declaration")
    shipment.customs_status = given.status
    shipment.customs_number = scrub(given.declaration_number, 64) or shipment.customs_number
    shipment.customs_reason = scrub(given.reason, 500)
    subject = {"subject_type": "shipment", "subject_id": shipment.id}
    waiting = shipment.dispatched_at is None and shipment.status == domain.ShipmentStatus.PLANNED
    if given.status == "held":
        shipment.held = waiting or shipment.held
        if not waiting:  # it left already: the goods sit at the port
            await raise_exception(
                uow,
                kind_name=KIND,
                order_id=shipment.order_id,
                title=f"Customs hold shipment {shipment.id} ({shipment.customs_number or 'no declaration number'}):"
                f" {shipment.customs_reason or 'no reason given'}",
                facts={"declaration": shipment.customs_number, "reason": shipment.customs_reason},
                **subject,  # type: ignore[arg-type]
            )
    elif given.status == "released":
        await resolve_exception(uow, kind_name=KIND, reason="released by customs", **subject)  # type: ignore[arg-type]
        if waiting and not handlers.must_wait(shipment, consignment):
            handlers.dispatch(uow, shipment, consignment)
    changed = FORMALITY["logistics"](
        step=FormalityStep.CUSTOMS_DECLARATION,
        status=given.status,
        subject_id=shipment.id,
        reference=shipment.customs_number,
        reason=shipment.customs_reason,
        blocks_shipment=given.status == "held",
    )
    uow.emit(changed, order_id=shipment.order_id, correlation_id=consignment.correlation_id)
    return shipment


@router.post("/shipments/{shipment_id}/customs", dependencies=[Depends(auth.allow(AccessRole.MERCHANDISER))])
async def customs(
    shipment_id: Annotated[str, Path(min_length=1, max_length=64)], given: CustomsIn, runtime: RuntimeDep
) -> dict[str, str | None]:
    """The customs broker's word on an export shipment: declared, released, or held with a reason."""
    async with runtime.units() as uow:
        shipment = await uow.get(Shipment, shipment_id, lock=True)
        if shipment is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no shipment {shipment_id}")
        await declare(uow, shipment, given)
        return {"shipment_id": shipment.id, "customs_status": shipment.customs_status}
