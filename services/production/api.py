"""Production HTTP API: work and purchase orders with their plans and progress, the customer's approvals,
inspections, the product master, and suppliers without Kafka."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from pydantic import BaseModel
from sqlmodel import col, select

from services.production import domain, formalities, masters, purchasing, quality, schedule
from services.production.models import (
    Approval,
    Inspection,
    MilestoneRow,
    OperationProgress,
    ProductRouting,
    WorkOrder,
    WorkOrderPublic,
)
from shared import auth, topics
from shared.auth import AccessRole
from shared.contracts import Gate, Milestone, SupplierEvent
from shared.errors import Invalid, NotFound, NotYet
from shared.service import RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter()
OrderId = Annotated[str, Query(min_length=1, max_length=64)]
WorkOrderId = Annotated[str, Path(min_length=1, max_length=64)]


class OperationPublic(BaseModel):
    operation: str
    good_quantity: int
    scrap_quantity: int
    reported_at: datetime


class ApprovalPublic(BaseModel):
    id: str
    gate: str
    approved: bool
    comments: str
    evidence: list[str]
    by: str
    decided_at: datetime


class InspectionPublic(BaseModel):
    id: str
    work_order_id: str
    stage: str
    passed: bool
    inspected_quantity: int
    defect_quantity: int
    note: str
    by: str
    inspected_at: datetime
    decision: str
    decided_by: str
    decided_at: datetime | None


class WorkOrderDetail(WorkOrderPublic):
    """A work order with its plan, its operations as the MES last reported them, approvals and inspections."""

    milestones: list[Milestone]
    next_milestone: Milestone | None
    progress: list[OperationPublic]
    approvals: list[ApprovalPublic]
    inspections: list[InspectionPublic]


class LineProgressPublic(BaseModel):
    """One order line: its work orders' quantities rolled up, and the next milestone of the line."""

    line_no: int
    ordered: int
    good_quantity: int
    scrap_quantity: int
    complete: bool
    next_milestone: str | None
    next_date: date | None


@asynccontextmanager
async def _answering(runtime: RuntimeDep) -> AsyncIterator[UnitOfWork]:
    """A unit of work whose refusals are answered as HTTP errors."""
    try:
        async with runtime.units() as uow:
            yield uow
    except NotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    except domain.Refused as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error


# --- work orders ------------------------------------------------------------------------


@router.get("/work-orders", response_model=list[WorkOrderPublic], tags=["work orders"])
async def list_work_orders(order_id: OrderId, runtime: RuntimeDep) -> list[WorkOrder]:
    """Every production or purchase order opened for one customer order."""
    query = select(WorkOrder).where(WorkOrder.order_id == order_id).order_by(col(WorkOrder.line_no))
    async with runtime.sessions() as session:
        return list((await session.exec(query.limit(1000))).all())


@router.get("/work-orders/{work_order_id}", response_model=WorkOrderDetail, tags=["work orders"])
async def get_work_order(work_order_id: WorkOrderId, runtime: RuntimeDep) -> WorkOrderDetail:
    """One work or purchase order with its milestone plan, MES progress per operation, approvals and inspections."""
    async with runtime.sessions() as session:
        work_order = await session.get(WorkOrder, work_order_id)
        if work_order is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no work order {work_order_id}")
        plan = await session.exec(
            select(MilestoneRow).where(MilestoneRow.work_order_id == work_order_id).order_by(col(MilestoneRow.seq))
        )
        ops = await session.exec(
            select(OperationProgress)
            .where(OperationProgress.work_order_id == work_order_id)
            .order_by(col(OperationProgress.seq))
            .limit(200)
        )
        approvals = await session.exec(
            select(Approval)
            .where(Approval.work_order_id == work_order_id)
            .order_by(col(Approval.decided_at))
            .limit(200)
        )
        inspections = await session.exec(
            select(Inspection)
            .where(Inspection.work_order_id == work_order_id)
            .order_by(col(Inspection.inspected_at))
            .limit(200)
        )
    milestones = schedule.published(plan.all())
    return WorkOrderDetail(
        **WorkOrderPublic.model_validate(work_order).model_dump(),
        milestones=milestones,
        next_milestone=next((m for m in milestones if m.actual is None), None),
        progress=[OperationPublic.model_validate(op, from_attributes=True) for op in ops],
        approvals=[ApprovalPublic.model_validate(a, from_attributes=True) for a in approvals],
        inspections=[InspectionPublic.model_validate(i, from_attributes=True) for i in inspections],
    )


@router.get("/order-lines", response_model=list[LineProgressPublic], tags=["work orders"])
async def order_lines(order_id: OrderId, runtime: RuntimeDep) -> list[LineProgressPublic]:
    """Each line of an order: good and scrapped pieces of its work orders (not cancelled) and its next milestone."""
    async with runtime.sessions() as session:
        work_orders = (await session.exec(select(WorkOrder).where(WorkOrder.order_id == order_id).limit(1000))).all()
        ids = [w.id for w in work_orders]
        rows = (await session.exec(select(MilestoneRow).where(col(MilestoneRow.work_order_id).in_(ids)))).all()
    by_line: dict[int, list[WorkOrder]] = {}
    for w in work_orders:
        if w.status != domain.WorkOrderStatus.CANCELLED:
            by_line.setdefault(w.line_no, []).append(w)
    lines = []
    for line_no, live in sorted(by_line.items()):
        mine = {w.id for w in live}
        upcoming = [(m.projected or m.planned, m.name) for m in rows if m.work_order_id in mine and m.actual is None]
        next_date, next_name = min(upcoming) if upcoming else (None, None)
        lines.append(
            LineProgressPublic(
                line_no=line_no,
                ordered=sum(w.quantity for w in live),
                good_quantity=sum(w.good_quantity for w in live),
                scrap_quantity=sum(w.scrap_quantity for w in live),
                complete=all(w.status == domain.WorkOrderStatus.COMPLETED for w in live),
                next_milestone=next_name,
                next_date=next_date,
            )
        )
    return lines


# --- gates and quality ------------------------------------------------------------------


@router.post(
    "/work-orders/{work_order_id}/approvals/{gate}",
    response_model=ApprovalPublic,
    status_code=status.HTTP_201_CREATED,
    tags=["gates and quality"],
)
async def decide_gate(
    work_order_id: WorkOrderId, gate: Gate, decision: quality.GateDecisionIn, runtime: RuntimeDep
) -> Approval:
    """The customer's approval or rejection of the sample or pre-production sample (with comments and evidence
    references): the last approval releases the work order to production; a rejection raises an exception."""
    async with _answering(runtime) as uow:
        return await quality.decide_gate(uow, work_order_id, gate, decision)


@router.post(
    "/work-orders/{work_order_id}/inspections",
    response_model=InspectionPublic,
    status_code=status.HTTP_201_CREATED,
    tags=["gates and quality"],
)
async def record_inspection(
    work_order_id: WorkOrderId, result: quality.InspectionIn, runtime: RuntimeDep
) -> Inspection:
    """An incoming, in-process or final inspection's result; a failure raises a quality exception."""
    async with _answering(runtime) as uow:
        return await quality.inspect(uow, work_order_id, result)


@router.post("/work-orders/{work_order_id}/commodity-inspection", tags=["gates and quality"])
async def commodity_inspection(
    work_order_id: WorkOrderId, result: formalities.CommodityInspectionIn, runtime: RuntimeDep
) -> dict[str, str]:
    """An export's commodity inspection (商检): booked, passed, or failed with a reason (which holds the goods)."""
    async with _answering(runtime) as uow:
        return await formalities.commodity_inspection(uow, work_order_id, result)


@router.post("/inspections/{inspection_id}/decision", response_model=InspectionPublic, tags=["gates and quality"])
async def decide_quality(
    inspection_id: Annotated[str, Path(min_length=1, max_length=64)],
    decision: quality.QualityDecisionIn,
    runtime: RuntimeDep,
) -> Inspection:
    """Rework, scrap or concession for a failed inspection: resolves its exception and moves the plan."""
    async with _answering(runtime) as uow:
        return await quality.decide_quality(uow, inspection_id, decision)


# --- product master ---------------------------------------------------------------------


@router.get("/products", response_model=list[masters.ProductRoutingPublic], tags=["product master"])
async def list_products(
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[ProductRouting]:
    """The product master as production plans with it, by SKU."""
    query = select(ProductRouting).order_by(col(ProductRouting.sku)).offset(offset).limit(limit)
    async with runtime.sessions() as session:
        return list((await session.exec(query)).all())


@router.get("/products/{sku}", response_model=masters.ProductRoutingPublic, tags=["product master"])
async def get_product(sku: Annotated[str, Path(min_length=1, max_length=64)], runtime: RuntimeDep) -> ProductRouting:
    async with runtime.sessions() as session:
        product = await session.get(ProductRouting, sku)
    if product is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no product {sku}")
    return product


@router.put("/products/{sku}", response_model=masters.ProductRoutingPublic, tags=["product master"])
async def put_product(
    sku: Annotated[str, Path(min_length=1, max_length=64)], entry: masters.ProductRoutingIn, runtime: RuntimeDep
) -> masters.ProductRoutingIn:
    """Create or replace a product's make-or-buy, lead times, routing and capacity (new work orders plan with it)."""
    if entry.sku != sku:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"the body's sku {entry.sku} is not {sku}")
    async with runtime.units() as uow:
        await masters.upsert(uow, [entry])
    return entry


# --- suppliers --------------------------------------------------------------------------


@router.post(
    "/supplier-events",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["suppliers"],
    dependencies=[Depends(auth.allow(AccessRole.MERCHANDISER, partners=["supplier"]))],
)
async def supplier_event(message: SupplierEvent, runtime: RuntimeDep) -> dict[str, bool]:
    """A supplier without Kafka: the same message as on `supplier.events`, applied once per `message_id`
    whichever way it came."""
    try:
        async with runtime.units() as uow:
            applied = await uow.claim(runtime.consumer.group(topics.SUPPLIER_EVENTS), message.message_id)
            if applied:
                await purchasing.on_supplier_event(message, uow)
    except NotYet as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no purchase order {message.purchase_order_id}") from error
    except (Invalid, domain.Refused) as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    return {"applied": applied}
