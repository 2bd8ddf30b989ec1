"""Logistics HTTP API: the shipments of an order."""

from fastapi import APIRouter
from sqlmodel import select

from services.logistics.models import Shipment
from shared.service import RuntimeDep

router = APIRouter(prefix="/shipments", tags=["shipments"])


@router.get("", response_model=list[Shipment])
async def list_shipments(order_id: str, runtime: RuntimeDep) -> list[Shipment]:
    """The shipments of one customer order."""
    async with runtime.sessions() as session:
        return list((await session.exec(select(Shipment).where(Shipment.order_id == order_id))).all())
