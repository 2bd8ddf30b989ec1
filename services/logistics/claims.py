"""Claims and reshipments over HTTP: a claim against the carrier for damaged, lost or missing goods (evidence,
amount, status through its lifecycle), and a reshipment that becomes a new shipment of the same order."""

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from services.logistics import domain, handlers, planning
from services.logistics.models import CarrierClaim, Consignment, Shipment, ShipmentPublic
from shared.contracts import ClaimChanged, ClaimStatus, ShipmentLine
from shared.fields import Currency, Money, OptionalText, Weight
from shared.http import Actor
from shared.ids import new_id
from shared.service import RuntimeDep
from shared.unit_of_work import UnitOfWork

EvidenceRef = Annotated[str, Field(min_length=1, max_length=300, pattern=r"^[^\s\x00-\x1f]+$")]
Id = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Reason = Literal["damage", "loss", "shortage", "delay"]


class ClaimOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shipment_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    reason: Reason
    amount: Money
    currency: Currency | None = Field(default=None, description="The order's currency when not given.")
    evidence: Annotated[list[EvidenceRef], Field(max_length=50)] = Field(
        default_factory=list, description="References to photos, the proof of delivery, the carrier's report."
    )
    note: OptionalText = ""


class ClaimUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ClaimStatus | None = None
    amount: Money | None = None
    evidence: Annotated[list[EvidenceRef], Field(max_length=50)] = Field(
        default_factory=list, description="More evidence, added to what is there."
    )
    note: OptionalText = ""


class ClaimPublic(BaseModel):
    id: str
    order_id: str
    shipment_id: str
    carrier: str
    reason: str
    status: str
    amount: str
    currency: str
    evidence: list[str]
    note: str
    history: list[dict[str, str]]


class ReshipmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: Annotated[list[ShipmentLine], Field(max_length=500)] = Field(
        default_factory=list, description="What to send again; by default what the shipment did not deliver."
    )
    packages: Annotated[int, Field(ge=1, le=100_000)] = 1
    weight_kg: Weight = Field(description="Gross weight of the goods sent again.")
    note: OptionalText = ""


router = APIRouter(tags=["claims"])
MAX_EVIDENCE = 200


def public(claim: CarrierClaim) -> ClaimPublic:
    return ClaimPublic(**claim.model_dump(exclude={"amount", "opened_at", "updated_at"}), amount=str(claim.amount))


def _announce(uow: UnitOfWork, claim: CarrierClaim, correlation_id: str | None) -> None:
    changed = ClaimChanged(
        claim_id=claim.id,
        shipment_id=claim.shipment_id,
        carrier=claim.carrier,
        status=ClaimStatus(claim.status),
        reason=claim.reason,
        amount=claim.amount,
        currency=claim.currency,
        note=claim.note,
    )
    uow.emit(changed, order_id=claim.order_id, correlation_id=correlation_id)


@router.post("/claims", status_code=status.HTTP_201_CREATED, response_model=ClaimPublic)
async def open_claim(body: ClaimOpen, runtime: RuntimeDep, actor: Actor) -> ClaimPublic:
    """Open a claim against the carrier of a shipment."""
    async with runtime.units() as uow:
        shipment = await uow.get(Shipment, body.shipment_id)
        if shipment is None:
            raise HTTPException(404, f"no shipment {body.shipment_id}")
        consignment = await uow.get(Consignment, shipment.order_id)
        now = uow.clock.now()
        claim = CarrierClaim(
            id=new_id("CL"),
            order_id=shipment.order_id,
            shipment_id=shipment.id,
            carrier=shipment.carrier,
            reason=body.reason,
            status=ClaimStatus.OPENED,
            amount=body.amount,
            currency=body.currency or (consignment.currency if consignment and consignment.currency else "USD"),
            evidence=list(dict.fromkeys(body.evidence)),
            note=body.note,
            opened_at=now,
            updated_at=now,
            history=[{"status": ClaimStatus.OPENED, "at": now.isoformat(), "by": actor, "note": body.note}],
        )
        uow.session.add(claim)
        _announce(uow, claim, consignment.correlation_id if consignment else None)
    return public(claim)


@router.patch("/claims/{claim_id}", response_model=ClaimPublic)
async def update_claim(claim_id: Id, body: ClaimUpdate, runtime: RuntimeDep, actor: Actor) -> ClaimPublic:
    """Move a claim on (opened -> submitted -> accepted / rejected -> paid / closed), change its amount or add
    evidence; a step the lifecycle does not allow is refused with 409."""
    async with runtime.units() as uow:
        claim = await uow.get(CarrierClaim, claim_id, lock=True)
        if claim is None:
            raise HTTPException(404, f"no claim {claim_id}")
        to = body.status or ClaimStatus(claim.status)
        if not planning.claim_may_move(claim.status, to):
            raise HTTPException(409, f"a claim {claim.status} cannot become {to}")
        evidence = list(dict.fromkeys([*claim.evidence, *body.evidence]))
        if len(evidence) > MAX_EVIDENCE:
            raise HTTPException(422, f"at most {MAX_EVIDENCE} pieces of evidence per claim")
        now = uow.clock.now()
        claim.status, claim.evidence, claim.updated_at = to, evidence, now
        claim.amount = body.amount if body.amount is not None else claim.amount
        claim.note = body.note or claim.note
        claim.history = [*claim.history, {"status": to, "at": now.isoformat(), "by": actor, "note": body.note}]
        consignment = await uow.get(Consignment, claim.order_id)
        _announce(uow, claim, consignment.correlation_id if consignment else None)
    return public(claim)


@router.get("/claims", response_model=list[ClaimPublic])
async def list_claims(
    order_id: Annotated[str, Query(min_length=1, max_length=64)],
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ClaimPublic]:
    """The claims of an order, oldest first."""
    query = select(CarrierClaim).where(CarrierClaim.order_id == order_id).order_by(col(CarrierClaim.opened_at))
    async with runtime.sessions() as session:
        return [public(c) for c in (await session.exec(query.limit(limit))).all()]


@router.get("/claims/{claim_id}", response_model=ClaimPublic)
async def show_claim(claim_id: Id, runtime: RuntimeDep) -> ClaimPublic:
    """One claim with its history."""
    async with runtime.sessions() as session:
        claim = await session.get(CarrierClaim, claim_id)
    if claim is None:
        raise HTTPException(404, f"no claim {claim_id}")
    return public(claim)


@router.post("/shipments/{shipment_id}/reshipments", status_code=status.HTTP_201_CREATED, response_model=ShipmentPublic)
async def reship(shipment_id: Id, body: ReshipmentRequest, runtime: RuntimeDep, actor: Actor) -> Shipment:
    """Send again what a damaged, lost or short shipment did not deliver: a new shipment of the same order."""
    async with runtime.units() as uow:
        replaced = await uow.get(Shipment, shipment_id, lock=True)
        if replaced is None:
            raise HTTPException(404, f"no shipment {shipment_id}")
        if replaced.status == domain.ShipmentStatus.CANCELLED:
            raise HTTPException(409, f"shipment {shipment_id} was cancelled; nothing to send again")
        consignment = await uow.get(Consignment, replaced.order_id, lock=True)
        assert consignment is not None
        if consignment.cancelled_at is not None:
            raise HTTPException(409, f"order {replaced.order_id} is cancelled")
        carried = handlers.carried_lines(replaced)
        asked = {line.line_no: line.quantity for line in body.lines}
        if unknown := set(asked) - set(carried):
            raise HTTPException(422, f"shipment {shipment_id} carried no line {sorted(unknown)}")
        lines = planning.reshipment_lines(carried, handlers.carried_lines_received(replaced), asked)
        if not lines:
            raise HTTPException(409, f"shipment {shipment_id} delivered everything it carried; nothing to reship")
        shipment = await handlers.plan_shipment(
            uow,
            consignment,
            lines=lines,
            packages=body.packages,
            weight_kg=body.weight_kg,
            reshipment_of=replaced.id,
        )
    return shipment
