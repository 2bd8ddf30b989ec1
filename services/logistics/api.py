"""Logistics HTTP API: the shipments of an order, their legs and carrier scans."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel
from sqlmodel import col, select

from services.logistics.models import CarrierScan, Shipment, ShipmentLeg, ShipmentLegPublic, ShipmentPublic
from shared.service import RuntimeDep

router = APIRouter(prefix="/shipments", tags=["shipments"])
ShipmentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class ScanPublic(BaseModel):
    leg_no: int
    status: str
    carrier_code: str
    location: str
    remark: str
    occurred_at: datetime
    received_at: datetime


@router.get("", response_model=list[ShipmentPublic])
async def list_shipments(
    order_id: Annotated[str, Query(max_length=64)],
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[ShipmentPublic]:
    """The shipments of one customer order with their legs, in the order they were planned."""
    query = select(Shipment).where(Shipment.order_id == order_id).order_by(col(Shipment.planned_at)).limit(limit)
    async with runtime.sessions() as session:
        shipments = list((await session.exec(query)).all())
        ids = [s.id for s in shipments]
        legs = (await session.exec(select(ShipmentLeg).where(col(ShipmentLeg.shipment_id).in_(ids)))).all()
    by_shipment: dict[str, list[ShipmentLegPublic]] = {}
    for leg in sorted(legs, key=lambda g: g.leg_no):
        by_shipment.setdefault(leg.shipment_id, []).append(ShipmentLegPublic.model_validate(leg, from_attributes=True))
    return [ShipmentPublic.model_validate(s.model_dump() | {"legs": by_shipment.get(s.id, [])}) for s in shipments]


@router.get("/{shipment_id}/scans", response_model=list[ScanPublic])
async def list_scans(
    shipment_id: ShipmentId, runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=1000)] = 500
) -> list[CarrierScan]:
    """Every carrier scan of a shipment, in the order the carrier says things happened (not as they arrived)."""
    query = (
        select(CarrierScan)
        .where(CarrierScan.shipment_id == shipment_id)
        .order_by(col(CarrierScan.occurred_at), col(CarrierScan.id))
        .limit(limit)
    )
    async with runtime.sessions() as session:
        if await session.get(Shipment, shipment_id) is None:
            raise HTTPException(404, f"no shipment {shipment_id}")
        return list((await session.exec(query)).all())
