"""Production HTTP API: the work orders of an order."""

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from services.production.models import WorkOrder, WorkOrderPublic
from shared.service import RuntimeDep

router = APIRouter(prefix="/work-orders", tags=["work orders"])


@router.get("", response_model=list[WorkOrderPublic])
async def list_work_orders(order_id: Annotated[str, Query(max_length=64)], runtime: RuntimeDep) -> list[WorkOrder]:
    """Every production or purchase order opened for one customer order."""
    query = select(WorkOrder).where(WorkOrder.order_id == order_id).order_by(col(WorkOrder.line_no))
    async with runtime.sessions() as session:
        return list((await session.exec(query)).all())
