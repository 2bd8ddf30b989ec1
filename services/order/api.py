"""Order HTTP API: intake and the tracking table."""

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import case
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from services.order import board
from services.order.models import (
    BoardAction,
    BoardActionPublic,
    BoardEntry,
    BoardEntryDetail,
    BoardEntryPublic,
    LineProgress,
    Order,
    OrderPublic,
    OrderSummary,
    TimelineEntry,
    TimelinePublic,
    WorkOrderPlan,
)
from services.order.review import OrderConflict, OrderRefused, take_in
from shared import auth
from shared.auth import AccessRole
from shared.contracts import ExceptionAction, Milestone, OrderTerms
from shared.fields import Name, OptionalText, Text, Timestamp
from shared.http import Actor, Submitter
from shared.kinds import Role, Severity, Stage
from shared.service import Runtime, RuntimeDep

router = APIRouter(prefix="/orders", tags=["orders"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderSummary,
    dependencies=[Depends(auth.allow(AccessRole.MERCHANDISER, partners=["erp"]))],
)
async def create_order(terms: OrderTerms, runtime: RuntimeDep, response: Response, actor: Submitter = "api") -> Order:
    """Take an order in and start its review; posting the same customer order number again is answered
    with that order."""
    try:
        order, created = await _take_in(terms, runtime, actor)
    except OrderConflict as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    except OrderRefused as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
    if not created:
        response.status_code = status.HTTP_200_OK
    return order


async def _take_in(terms: OrderTerms, runtime: Runtime, actor: str) -> tuple[Order, bool]:
    """Take the order in; when the same order was posted concurrently, answer with the one that won."""
    try:
        async with runtime.units() as uow:
            return await take_in(terms, uow, by=actor)
    except IntegrityError:
        async with runtime.units() as uow:
            return await take_in(terms, uow, by=actor)


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
        progress = select(LineProgress).where(LineProgress.order_id == order_id).order_by(col(LineProgress.line_no))
        plan = [
            WorkOrderPlan(
                work_order_id=p.work_order_id,
                line_no=p.line_no,
                quantity=p.quantity,
                status=p.status,
                milestones=[Milestone.model_validate(m) for m in p.milestones or []],
            )
            for p in (await session.exec(progress)).all()
        ]
    return OrderPublic(
        **OrderSummary.model_validate(order, from_attributes=True).model_dump(),
        lines=OrderTerms.model_validate(order.terms).lines,
        plan=plan,
        timeline=[TimelinePublic.model_validate(e, from_attributes=True) for e in entries],
    )


exceptions = APIRouter(prefix="/exceptions", tags=["exceptions board"])
SEVERITY_ORDER = case({s.value: s.rank for s in Severity}, value=col(BoardEntry.severity))


@exceptions.get("", response_model=list[BoardEntryPublic])
async def list_exceptions(
    runtime: RuntimeDep,
    open_only: Annotated[bool, Query(alias="open")] = True,
    stage: Annotated[Stage | None, Query()] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    severity: Annotated[Severity | None, Query()] = None,
    owner: Annotated[Role | None, Query(description="The role that chases it.")] = None,
    assignee: Annotated[str | None, Query(max_length=200)] = None,
    customer: Annotated[str | None, Query(max_length=200)] = None,
    order_id: Annotated[str | None, Query(max_length=64)] = None,
    older_than_hours: Annotated[float | None, Query(ge=0, le=100_000)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[BoardEntry]:
    """The exceptions board: worst first, then oldest; filter by stage, kind, severity, owner, customer, age."""
    query = select(BoardEntry).order_by(SEVERITY_ORDER.desc(), col(BoardEntry.raised_at)).limit(limit)
    if open_only:
        query = query.where(col(BoardEntry.open))
    filters = {
        BoardEntry.stage: stage,
        BoardEntry.kind: kind,
        BoardEntry.severity: severity,
        BoardEntry.owner_role: owner,
        BoardEntry.assignee: assignee,
        BoardEntry.customer: customer,
        BoardEntry.order_id: order_id,
    }
    for column, value in filters.items():
        if value is not None:
            query = query.where(col(column) == value)
    if older_than_hours is not None:
        query = query.where(col(BoardEntry.raised_at) < runtime.clock.now() - timedelta(hours=older_than_hours))
    async with runtime.sessions() as session:
        return list((await session.exec(query)).all())


@exceptions.get("/{exception_id}", response_model=BoardEntryDetail)
async def get_exception(exception_id: Annotated[str, Path(max_length=64)], runtime: RuntimeDep) -> BoardEntryDetail:
    """One exception with everything done to it, oldest first."""
    async with runtime.sessions() as session:
        entry = await session.get(BoardEntry, exception_id)
        if entry is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no exception {exception_id}")
        query = select(BoardAction).where(BoardAction.exception_id == exception_id).order_by(col(BoardAction.id))
        history = (await session.exec(query)).all()
    return BoardEntryDetail(
        **BoardEntryPublic.model_validate(entry, from_attributes=True).model_dump(),
        history=[BoardActionPublic.model_validate(a, from_attributes=True) for a in history],
    )


class Note(BaseModel):
    note: OptionalText = ""


class Assignment(BaseModel):
    owner: Name = Field(description="The person who chases it from now on.")
    note: OptionalText = ""


class Snooze(BaseModel):
    until: Timestamp = Field(description="Not escalated before this time.")
    note: OptionalText = ""


class Resolution(BaseModel):
    reason: Text = Field(description="Why it is over.")


ExceptionId = Annotated[str, Path(max_length=64)]


async def _act(runtime: Runtime, exception_id: str, action: ExceptionAction, actor: str, **details: Any) -> BoardEntry:
    try:
        async with runtime.units() as uow:
            return await board.act(uow, exception_id, action, by=actor, **details)
    except board.NotOnBoard as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no exception {exception_id}") from error
    except board.AlreadyResolved as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error


@exceptions.post("/{exception_id}/acknowledge", response_model=BoardEntryPublic)
async def acknowledge(exception_id: ExceptionId, body: Note, actor: Actor, runtime: RuntimeDep) -> BoardEntry:
    """Say you have seen it and are on it."""
    return await _act(runtime, exception_id, ExceptionAction.ACKNOWLEDGE, actor, note=body.note)


@exceptions.post("/{exception_id}/assign", response_model=BoardEntryPublic)
async def assign(exception_id: ExceptionId, body: Assignment, actor: Actor, runtime: RuntimeDep) -> BoardEntry:
    """Give it to a person to chase."""
    return await _act(runtime, exception_id, ExceptionAction.ASSIGN, actor, owner=body.owner, note=body.note)


@exceptions.post("/{exception_id}/comment", response_model=BoardEntryPublic)
async def comment(exception_id: ExceptionId, body: Note, actor: Actor, runtime: RuntimeDep) -> BoardEntry:
    """Add a note (also to a resolved one)."""
    return await _act(runtime, exception_id, ExceptionAction.COMMENT, actor, note=body.note)


@exceptions.post("/{exception_id}/snooze", response_model=BoardEntryPublic)
async def snooze(exception_id: ExceptionId, body: Snooze, actor: Actor, runtime: RuntimeDep) -> BoardEntry:
    """Hold its escalation until a time (waiting for the customer, say)."""
    return await _act(runtime, exception_id, ExceptionAction.SNOOZE, actor, until=body.until, note=body.note)


@exceptions.post("/{exception_id}/resolve", response_model=BoardEntryPublic)
async def resolve(exception_id: ExceptionId, body: Resolution, actor: Actor, runtime: RuntimeDep) -> BoardEntry:
    """Close it with a reason; the service that raised it will not raise it again."""
    return await _act(runtime, exception_id, ExceptionAction.RESOLVE, actor, note=body.reason)
