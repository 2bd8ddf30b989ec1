"""Order HTTP API for review, clarification, changes, cancellation, versions and the masters."""

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from pydantic import BaseModel, Field
from sqlmodel import SQLModel, col, select

from services.order import changes, domain, masters, review
from services.order.models import ChangeRequest, Clarification, Department, Order, OrderVersion, Review
from shared import auth, tables
from shared.auth import AccessRole
from shared.contracts import LineNo, OrderLine, OrderTerms
from shared.errors import NotFound
from shared.fields import LongText, OptionalText, Ref, Text, Timestamp
from shared.http import Actor
from shared.service import Runtime, RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter(prefix="/orders", tags=["review and changes"])
master_data = APIRouter(tags=["masters"])

OrderId = Annotated[str, Path(max_length=64)]
T = TypeVar("T")


async def _run(runtime: Runtime, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """One unit of work; a refusal is 409 with its reason, an unknown order or item 404."""
    try:
        async with runtime.units() as uow:
            return await work(uow)
    except NotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"not found: {error.args[0]}") from error
    except (review.NotInReview, changes.ChangeRefused, review.OrderConflict) as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    except review.OrderRefused as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error


# --- review -------------------------------------------------------------------------------------------


class ReviewPublic(SQLModel):
    department: str
    order_version: int
    decision: str
    reason: str
    confirmed: list[dict[str, Any]] = Field(description="Production: requested and confirmed date per line.")
    decided_by: str | None
    decided_at: datetime | None
    deadline: datetime


class ClarificationPublic(SQLModel):
    id: str
    order_version: int
    code: str = Field(description="What raised it: unknown_product, price_off_list, date_before_lead_time, ...")
    field: str
    question: str
    raised_by: str
    raised_at: datetime
    deadline: datetime
    open: bool
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None


class ReviewState(BaseModel):
    order_id: str
    status: str
    version: int
    reviews: list[ReviewPublic]
    clarifications: list[ClarificationPublic]


@router.get("/{order_id}/review", response_model=ReviewState)
async def get_review(order_id: OrderId, runtime: RuntimeDep) -> ReviewState:
    """Where the order's review stands: each department's decision and every question with its answer."""

    async def read(uow: UnitOfWork) -> ReviewState:
        order = await uow.get(Order, order_id)
        if order is None:
            raise NotFound(order_id)
        reviews = await uow.all(select(Review).where(Review.order_id == order_id).order_by(col(Review.department)))
        questions = await uow.all(
            select(Clarification).where(Clarification.order_id == order_id).order_by(col(Clarification.raised_at))
        )
        return ReviewState(
            order_id=order_id,
            status=order.status,
            version=order.version,
            reviews=[ReviewPublic.model_validate(r, from_attributes=True) for r in reviews],
            clarifications=[ClarificationPublic.model_validate(c, from_attributes=True) for c in questions],
        )

    return await _run(runtime, read)


class ReviewDecision(BaseModel):
    decision: Literal["approve", "reject"]
    reason: Text


@router.post(
    "/{order_id}/reviews/{department}",
    response_model=ReviewPublic,
    dependencies=[Depends(auth.allow(AccessRole.MERCHANDISER, AccessRole.FINANCE))],
)
async def decide_review(
    order_id: OrderId,
    department: Annotated[str, Path(max_length=64)],
    body: ReviewDecision,
    actor: Actor,
    runtime: RuntimeDep,
) -> Review:
    """A department's decision, by a person (finance over the credit limit, or any manual department)."""
    return await _run(
        runtime,
        lambda uow: review.decide_review(
            uow, order_id, department, approve=body.decision == "approve", reason=body.reason, by=actor
        ),
    )


class Question(BaseModel):
    question: Text
    field: OptionalText = Field(default="", description="The order field it is about, e.g. lines.0.spec.")
    deadline: Timestamp | None = Field(default=None, description="Default: 48 hours from now.")


@router.post("/{order_id}/clarifications", status_code=status.HTTP_201_CREATED, response_model=ClarificationPublic)
async def ask(order_id: OrderId, body: Question, actor: Actor, runtime: RuntimeDep) -> Clarification:
    """Ask the customer something; the order waits in review until it is answered."""
    return await _run(
        runtime,
        lambda uow: review.ask_customer(
            uow, order_id, question=body.question, field=body.field, by=actor, deadline=body.deadline
        ),
    )


class Answer(BaseModel):
    answer: LongText = Field(min_length=1, description="The customer's written answer (or where it is filed).")


@router.post("/{order_id}/clarifications/{clarification_id}/answer", response_model=ClarificationPublic)
async def answer(
    order_id: OrderId,
    clarification_id: Annotated[str, Path(max_length=64)],
    body: Answer,
    actor: Actor,
    runtime: RuntimeDep,
) -> Clarification:
    """Record the customer's answer; when nothing else is open and every department approved, the order
    is accepted."""
    return await _run(runtime, lambda uow: review.answer(uow, order_id, clarification_id, text=body.answer, by=actor))


class Amendment(BaseModel):
    terms: OrderTerms
    reason: Text


@router.put("/{order_id}/terms", response_model=dict[str, Any])
async def amend(order_id: OrderId, body: Amendment, actor: Actor, runtime: RuntimeDep) -> dict[str, Any]:
    """Replace the terms of an order in review (the customer's corrected order): a new version, reviewed
    afresh; open questions are closed as superseded."""
    order = await _run(runtime, lambda uow: review.amend(uow, order_id, body.terms, reason=body.reason, by=actor))
    return {"id": order.id, "status": order.status, "version": order.version}


class Refusal(BaseModel):
    reason: Text


@router.post("/{order_id}/reject", response_model=dict[str, Any])
async def reject(order_id: OrderId, body: Refusal, actor: Actor, runtime: RuntimeDep) -> dict[str, Any]:
    """Turn down an order in review."""
    order = await _run(runtime, lambda uow: review.reject(uow, order_id, reason=body.reason, by=actor))
    return {"id": order.id, "status": order.status}


# --- changes and cancellation ---------------------------------------------------------------------------


class ChangePublic(SQLModel):
    id: str
    order_id: str
    kind: str
    status: str = Field(description="requested (waiting for assessments), assessed, accepted or rejected.")
    order_version: int = Field(description="The version the change makes once accepted.")
    terms: dict[str, Any]
    cancelled_lines: list[int]
    reason: str
    requested_by: str
    requested_at: datetime
    respond_by: datetime
    assessments: dict[str, Any] = Field(description="Per service, its impact assessment.")
    decided_by: str | None
    decided_at: datetime | None
    confirmation: str | None
    decision_note: str | None


class ChangeIn(BaseModel):
    lines: list[OrderLine] | None = Field(
        default=None, max_length=500, description="Every line as it should be; omitted: the lines stay."
    )
    delivery_date: date | None = None
    reason: Text


class CancelIn(BaseModel):
    lines: list[LineNo] | None = Field(default=None, max_length=500, description="Omitted: the whole order.")
    reason: Text


@router.post("/{order_id}/changes", status_code=status.HTTP_201_CREATED, response_model=ChangePublic)
async def request_change(order_id: OrderId, body: ChangeIn, actor: Actor, runtime: RuntimeDep) -> ChangeRequest:
    """Record the customer's change (quantity, spec, date); production and logistics assess its impact."""
    if body.lines is None and body.delivery_date is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "say what changes: lines and/or delivery_date")
    return await _run(
        runtime,
        lambda uow: changes.request(
            uow,
            order_id,
            lines=body.lines,
            delivery_date=body.delivery_date,
            cancel_lines=[],
            cancel_all=False,
            reason=body.reason,
            by=actor,
        ),
    )


@router.post("/{order_id}/cancel", status_code=status.HTTP_201_CREATED, response_model=ChangePublic)
async def cancel(order_id: OrderId, body: CancelIn, actor: Actor, runtime: RuntimeDep) -> ChangeRequest:
    """Ask to cancel the order or some of its lines: not after shipment, not a line already produced;
    production and logistics report what was bought or made, for the decision."""
    return await _run(
        runtime,
        lambda uow: changes.request(
            uow,
            order_id,
            lines=None,
            delivery_date=None,
            cancel_lines=body.lines or [],
            cancel_all=body.lines is None,
            reason=body.reason,
            by=actor,
        ),
    )


@router.get("/{order_id}/changes", response_model=list[ChangePublic])
async def list_changes(order_id: OrderId, runtime: RuntimeDep) -> list[ChangeRequest]:
    """The order's change requests and cancellations, oldest first."""
    query = select(ChangeRequest).where(ChangeRequest.order_id == order_id).order_by(col(ChangeRequest.requested_at))
    return await _run(runtime, lambda uow: uow.all(query))


class Confirmation(BaseModel):
    customer_confirmation: Text = Field(description="The customer's written confirmation (mail, signed form).")


ChangeId = Annotated[str, Path(max_length=64)]


@router.post("/{order_id}/changes/{change_id}/accept", response_model=ChangePublic)
async def accept_change(
    order_id: OrderId, change_id: ChangeId, body: Confirmation, actor: Actor, runtime: RuntimeDep
) -> ChangeRequest:
    """Carry the change out: every service adjusts (work orders, shipments, invoices and credit notes)."""
    return await _run(
        runtime, lambda uow: changes.accept(uow, order_id, change_id, confirmation=body.customer_confirmation, by=actor)
    )


@router.post("/{order_id}/changes/{change_id}/reject", response_model=ChangePublic)
async def reject_change(
    order_id: OrderId, change_id: ChangeId, body: Refusal, actor: Actor, runtime: RuntimeDep
) -> ChangeRequest:
    """Drop the change: nothing changes anywhere."""
    return await _run(runtime, lambda uow: changes.reject(uow, order_id, change_id, reason=body.reason, by=actor))


class VersionPublic(BaseModel):
    version: int
    reason: str
    change_id: str | None
    created_at: datetime
    created_by: str
    total_amount: Any
    terms: dict[str, Any]
    changes: list[dict[str, Any]] = Field(description="What differs from the version before (empty for the first).")


@router.get("/{order_id}/versions", response_model=list[VersionPublic])
async def versions(order_id: OrderId, runtime: RuntimeDep) -> list[VersionPublic]:
    """Every version of the order's terms, each with what changed since the one before."""
    query = select(OrderVersion).where(OrderVersion.order_id == order_id).order_by(col(OrderVersion.version))
    found = await _run(runtime, lambda uow: uow.all(query))
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no order {order_id}")
    out, before = [], None
    for v in found:
        diff: list[dict[str, Any]] = domain.diff(before, v.terms) if before is not None else []
        out.append(VersionPublic(**v.model_dump(exclude={"order_id"}), changes=diff))
        before = v.terms
    return out


# --- masters --------------------------------------------------------------------------------------------


@master_data.get("/products", response_model=list[masters.ProductPublic])
async def list_products(runtime: RuntimeDep) -> Any:
    return await _run(runtime, masters.products)


@master_data.put("/products/{sku}", response_model=masters.ProductPublic)
async def put_product(sku: Annotated[str, Path(max_length=64)], body: masters.ProductIn, runtime: RuntimeDep) -> Any:
    """Create or replace a product master entry (the SKU in the path and body must agree)."""
    if body.sku != sku:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"body names SKU {body.sku}, path {sku}")
    await _run(runtime, lambda uow: masters.upsert(uow, [body]))
    return body


@master_data.get("/customers", response_model=list[masters.CustomerPublic])
async def list_customers(runtime: RuntimeDep) -> Any:
    return await _run(runtime, masters.customers)


@master_data.put("/customers/{name}", response_model=masters.CustomerPublic)
async def put_customer(
    name: Annotated[str, Path(max_length=200)], body: masters.CustomerIn, runtime: RuntimeDep
) -> Any:
    """Create or replace a customer master entry."""
    if body.name != name:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"body names customer {body.name!r}, path {name!r}")
    await _run(runtime, lambda uow: masters.upsert(uow, [body]))
    return body


async def _import(
    request: Request, runtime: Runtime, model: type[masters.ProductIn] | type[masters.CustomerIn]
) -> masters.ImportResult:
    content_type = request.headers.get("content-type", "")
    if not (content_type.startswith("text/csv") or content_type.startswith(tables.XLSX)):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"send text/csv or {tables.XLSX}")
    try:
        entries: list[Any] = tables.parse(await request.body(), content_type, model)
    except tables.BadRows as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
    return masters.ImportResult(imported=await _run(runtime, lambda uow: masters.upsert(uow, entries)))


IMPORT_BODY = {
    "requestBody": {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            tables.XLSX: {"schema": {"type": "string", "format": "binary"}},
        }
    }
}


@master_data.post("/products/import", response_model=masters.ImportResult, openapi_extra=IMPORT_BODY)
async def import_products(request: Request, runtime: RuntimeDep) -> masters.ImportResult:
    """Load product master rows from a CSV or .xlsx file (columns: sku, name, unit, list_price, currency,
    lead_time_days, price_tolerance_percent, active); all rows or none."""
    return await _import(request, runtime, masters.ProductIn)


@master_data.post("/customers/import", response_model=masters.ImportResult, openapi_extra=IMPORT_BODY)
async def import_customers(request: Request, runtime: RuntimeDep) -> masters.ImportResult:
    """Load customer master rows from a CSV or .xlsx file (columns: name, credit_limit, currency,
    contact_email, active); all rows or none."""
    return await _import(request, runtime, masters.CustomerIn)


MAX_DEPARTMENTS = 20  # an order.review_requested names them all


class DepartmentIn(BaseModel):
    description: OptionalText = ""
    active: bool = True


class DepartmentPublic(SQLModel):
    name: str
    description: str
    active: bool


@master_data.get("/review-departments", response_model=list[DepartmentPublic])
async def list_departments(runtime: RuntimeDep) -> Any:
    """The departments whose approval a new order waits for."""
    return await _run(runtime, lambda uow: uow.all(select(Department).order_by(col(Department.name))))


@master_data.put("/review-departments/{name}", response_model=DepartmentPublic)
async def put_department(name: Annotated[Ref, Path()], body: DepartmentIn, runtime: RuntimeDep) -> Any:
    """Add, change or deactivate a reviewing department (applies to orders taken in from now on)."""

    async def write(uow: UnitOfWork) -> Department:
        active = await uow.all(select(Department).where(col(Department.active)))
        if body.active and name not in {d.name for d in active} and len(active) >= MAX_DEPARTMENTS:
            raise changes.ChangeRefused(f"at most {MAX_DEPARTMENTS} active review departments; deactivate one first")
        department = await uow.get(Department, name, lock=True) or Department(name=name)
        department.description, department.active = body.description, body.active
        uow.session.add(department)
        return department

    return await _run(runtime, write)
