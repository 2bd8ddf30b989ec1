"""Order HTTP API: intake and the tracking table."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from services.order.handlers import OrderConflict, OrderRejected, accept_order
from services.order.models import Order, OrderPublic, OrderSummary, TimelineEntry, TimelinePublic
from shared.contracts import OrderTerms
from shared.service import Runtime, RuntimeDep

router = APIRouter(prefix="/orders", tags=["orders"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrderSummary)
async def create_order(terms: OrderTerms, runtime: RuntimeDep, response: Response) -> Order:
    """Take an order in; posting the same customer order number again is answered with that order."""
    try:
        order, created = await _take_in(terms, runtime)
    except OrderConflict as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    except OrderRejected as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
    if not created:
        response.status_code = status.HTTP_200_OK
    return order


async def _take_in(terms: OrderTerms, runtime: Runtime) -> tuple[Order, bool]:
    """Accept the order; when the same order was posted concurrently, answer with the one that won."""
    try:
        async with runtime.units() as uow:
            return await accept_order(terms, uow)
    except IntegrityError:
        async with runtime.units() as uow:
            return await accept_order(terms, uow)


@router.get("", response_model=list[OrderSummary])
async def list_orders(
    runtime: RuntimeDep,
    status_is: Annotated[str | None, Query(alias="status", max_length=32)] = None,
    attention: Annotated[bool | None, Query(description="Only orders a service could not apply an event of.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Order]:
    """The order tracking table, newest first."""
    query = select(Order).order_by(col(Order.created_at).desc()).limit(limit)
    if status_is:
        query = query.where(Order.status == status_is)
    if attention is not None:
        query = query.where(col(Order.attention).is_not(None) if attention else col(Order.attention).is_(None))
    async with runtime.sessions() as session:
        return list((await session.exec(query)).all())


@router.get("/{order_id}", response_model=OrderPublic)
async def get_order(order_id: Annotated[str, Path(max_length=64)], runtime: RuntimeDep) -> OrderPublic:
    """One order with its status and the timeline of its events, in the order they happened."""
    async with runtime.sessions() as session:
        order = await session.get(Order, order_id)
        if order is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no order {order_id}")
        query = (
            select(TimelineEntry)
            .where(TimelineEntry.order_id == order_id)
            .order_by(col(TimelineEntry.occurred_at), col(TimelineEntry.id))
        )
        entries = (await session.exec(query)).all()
    return OrderPublic(
        **OrderSummary.model_validate(order, from_attributes=True).model_dump(),
        lines=OrderTerms.model_validate(order.terms).lines,
        timeline=[TimelinePublic.model_validate(e, from_attributes=True) for e in entries],
    )
