"""Logistics HTTP API: the shipments of an order."""

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from services.logistics.models import Shipment, ShipmentPublic
from shared.service import RuntimeDep

router = APIRouter(prefix="/shipments", tags=["shipments"])


@router.get("", response_model=list[ShipmentPublic])
async def list_shipments(order_id: Annotated[str, Query(max_length=64)], runtime: RuntimeDep) -> list[Shipment]:
    """The shipments of one customer order, in the order they were planned."""
    query = select(Shipment).where(Shipment.order_id == order_id).order_by(col(Shipment.planned_at))
    async with runtime.sessions() as session:
        return list((await session.exec(query)).all())
