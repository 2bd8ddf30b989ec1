"""Order HTTP API for follow-through: the order's file, tasks across departments, complaints and feedback,
the post-order review."""

from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Form, HTTPException, Path, Query, Response, UploadFile, status
from pydantic import BaseModel, Field
from sqlmodel import SQLModel, col, select

from services.order import aftersales, files, formalities, post_review, tasks
from services.order.console import peers
from services.order.models import (
    Complaint,
    Feedback,
    Order,
    OrderDocument,
    OrderFile,
    PostOrderReview,
    Task,
    TaskTemplate,
)
from services.order.settings import OrderSettings
from shared import tables
from shared.contracts import OrderTerms
from shared.errors import Invalid, NotFound
from shared.fields import Name, OptionalText, Text
from shared.http import Actor
from shared.ids import new_id
from shared.objectstore import CorruptObject, Files
from shared.service import Runtime, RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter(tags=["follow-through"])
OrderId = Annotated[str, Path(max_length=64)]
ItemId = Annotated[str, Path(max_length=64)]
T = TypeVar("T")
MAX_UPLOAD = 20 * 1024 * 1024
PDF = "application/pdf"


async def _run(runtime: Runtime, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """One unit of work: unknown things are 404, refusals 409 with the reason."""
    try:
        async with runtime.units() as uow:
            return await work(uow)
    except NotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"not found: {error.args[0]}") from error
    except Invalid as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error


async def _order(uow: UnitOfWork, order_id: str, *, lock: bool = False) -> Order:
    order = await uow.get(Order, order_id, lock=lock)
    if order is None:
        raise NotFound(f"order {order_id}")
    return order


@cache
def _files(url: str) -> Files:
    return Files(url)


def store(runtime: Runtime) -> Files:
    settings = runtime.settings
    assert isinstance(settings, OrderSettings)
    return _files(settings.files_url)


# --- the order's file ---------------------------------------------------------------------------------


@router.get("/orders/{order_id}/file", response_model=OrderFile)
async def order_file(order_id: OrderId, runtime: RuntimeDep) -> OrderFile:
    """Every document of the order, and its checklist: what is required by which stage, and what is missing."""

    async def work(uow: UnitOfWork) -> OrderFile:
        order = await _order(uow, order_id)
        return files.the_file(order, await files.documents(uow, order_id))

    return await _run(runtime, work)


@router.post("/orders/{order_id}/documents", status_code=status.HTTP_201_CREATED)
async def upload_document(
    order_id: OrderId,
    file: UploadFile,
    kind: Annotated[Literal[files.UPLOADABLE], Form()],  # type: ignore[valid-type]
    actor: Actor,
    runtime: RuntimeDep,
    name: Annotated[str, Form(min_length=1, max_length=200)],
) -> dict[str, Any]:
    """File a document a person has (the customer's signed confirmation, a scan, a certificate): stored in the
    object store under its checksum; the same name again is its next revision."""
    data = await file.read(MAX_UPLOAD + 1)
    if not data:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the file is empty")
    if len(data) > MAX_UPLOAD:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"files are limited to {MAX_UPLOAD // 2**20} MiB")
    media = (file.content_type or "application/octet-stream")[:100]

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        order = await _order(uow, order_id, lock=True)
        document = await files.upload(
            uow, store(runtime), order, kind=kind, name=name, data=data, media_type=media, by=actor
        )
        return files.public(document).model_dump(mode="json")

    return await _run(runtime, work)


@router.get("/orders/{order_id}/confirmation.pdf", response_class=Response)
async def confirmation(order_id: OrderId, runtime: RuntimeDep) -> Response:
    """Our order confirmation, as the order stands now."""
    async with runtime.sessions() as session:
        order = await session.get(Order, order_id)
    if order is None or order.status == "in_review":
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no confirmed order {order_id}")
    return Response(files.confirmation_pdf(order), media_type=PDF)


async def _content(runtime: Runtime, order: Order, document: OrderDocument) -> bytes | None:
    if document.kind == files.ORDER_CONFIRMATION:
        return files.confirmation_pdf(order)
    if document.storage_key:
        try:
            return await store(runtime).get(document.storage_key)
        except CorruptObject as error:
            raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, str(error)) from error
    settings = runtime.settings
    assert isinstance(settings, OrderSettings)
    base = settings.service_urls.get(document.source)
    if base and document.href:  # another service's document: read through its HTTP API
        async with peers.client(runtime, base_url=base) as client:
            answer = await client.get(document.href)
        return answer.content if answer.is_success else None
    return None


@router.get("/orders/{order_id}/documents/{document_id}/file", response_class=Response)
async def download(
    order_id: OrderId, document_id: Annotated[int, Path(ge=1, le=2**62)], runtime: RuntimeDep
) -> Response:
    async with runtime.units() as uow:
        order = await _order_http(uow, order_id)
        document = await uow.session.get(OrderDocument, document_id)
    if document is None or document.order_id != order_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no document {document_id} in order {order_id}")
    content = await _content(runtime, order, document)
    if content is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"document {document_id} is held by {document.source}")
    return Response(content, media_type=document.media_type or PDF)


async def _order_http(uow: UnitOfWork, order_id: str) -> Order:
    order = await uow.get(Order, order_id)
    if order is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no order {order_id}")
    return order


@router.get("/orders/{order_id}/file.zip", response_class=Response)
async def file_archive(order_id: OrderId, runtime: RuntimeDep) -> Response:
    """The whole file as one archive: every file that can be had, and a manifest of every document."""
    async with runtime.units() as uow:
        order = await _order_http(uow, order_id)
        found = await files.documents(uow, order_id)
    contents = {}
    for document in found:
        if document.id is not None and (content := await _content(runtime, order, document)) is not None:
            contents[document.id] = content
    headers = {"Content-Disposition": f'attachment; filename="{order_id}-file.zip"'}
    return Response(files.archive(order, found, contents), media_type="application/zip", headers=headers)


@router.get("/orders/{order_id}/formalities")
async def export_formalities(order_id: OrderId, runtime: RuntimeDep) -> dict[str, Any]:
    """An export order's formalities: customs declaration per shipment, commodity inspection, FX settlement."""
    async with runtime.units() as uow:
        order = await _order_http(uow, order_id)
        stored = (await uow.session.exec(select(Order.terms).where(Order.id == order_id))).one()
        return await formalities.steps(uow, order, OrderTerms.model_validate(stored))


# --- tasks --------------------------------------------------------------------------------------------


class TaskIn(BaseModel):
    title: Text
    department: Name
    due_date: date
    owner: Name | None = None
    note: OptionalText = ""


class TaskDone(BaseModel):
    note: OptionalText = ""


class TaskAssign(BaseModel):
    owner: Name


class TaskDue(BaseModel):
    due_date: date
    reason: Text


class TemplateIn(BaseModel):
    title: Text
    department: Name
    applies_to: Literal["all", "domestic", "export", "make", "buy", "inspection"] = "all"
    anchor: Literal[tasks.ANCHORS]  # type: ignore[valid-type]
    offset_days: Annotated[int, Field(ge=-365, le=365)] = 0
    active: bool = True


async def _task(uow: UnitOfWork, task_id: str) -> Task:
    task = await uow.get(Task, task_id, lock=True)
    if task is None:
        raise NotFound(f"task {task_id}")
    return task


@router.get("/orders/{order_id}/tasks", response_model=list[Task])
async def order_tasks(order_id: OrderId, runtime: RuntimeDep) -> list[Task]:
    async with runtime.units() as uow:
        await _order_http(uow, order_id)
        return await uow.all(select(Task).where(Task.order_id == order_id).order_by(col(Task.due_date)))


@router.post("/orders/{order_id}/tasks", status_code=status.HTTP_201_CREATED, response_model=Task)
async def add_task(order_id: OrderId, body: TaskIn, actor: Actor, runtime: RuntimeDep) -> Task:
    """A task added by hand to an order."""

    async def work(uow: UnitOfWork) -> Task:
        await _order(uow, order_id)
        task = Task(
            id=new_id("TK"),
            order_id=order_id,
            created_at=uow.clock.now(),
            created_by=actor,
            **body.model_dump(),
        )
        uow.session.add(task)
        return task

    return await _run(runtime, work)


@router.get("/tasks", response_model=list[Task])
async def list_tasks(
    runtime: RuntimeDep,
    department: Annotated[str | None, Query(max_length=200)] = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    state: Annotated[Literal["open", "done", "overdue"] | None, Query(alias="status")] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Task]:
    """Tasks across orders, soonest due first: a department's work list."""
    query = select(Task).order_by(col(Task.due_date), col(Task.id)).limit(limit)
    if department:
        query = query.where(Task.department == department)
    if owner:
        query = query.where(Task.owner == owner)
    if state == "overdue":
        query = query.where(Task.status == tasks.OPEN, col(Task.due_date) < runtime.clock.now().date())
    elif state:
        query = query.where(Task.status == state)
    async with runtime.units() as uow:
        return await uow.all(query)


@router.post("/tasks/{task_id}/done", response_model=Task)
async def task_done(task_id: ItemId, body: TaskDone, actor: Actor, runtime: RuntimeDep) -> Task:
    async def work(uow: UnitOfWork) -> Task:
        return await tasks.finish(uow, await _task(uow, task_id), by=actor, note=body.note)

    return await _run(runtime, work)


@router.post("/tasks/{task_id}/reopen", response_model=Task)
async def task_reopen(task_id: ItemId, actor: Actor, runtime: RuntimeDep) -> Task:
    async def work(uow: UnitOfWork) -> Task:
        return tasks.reopen(await _task(uow, task_id))

    return await _run(runtime, work)


@router.post("/tasks/{task_id}/assign", response_model=Task)
async def task_assign(task_id: ItemId, body: TaskAssign, actor: Actor, runtime: RuntimeDep) -> Task:
    async def work(uow: UnitOfWork) -> Task:
        task = await _task(uow, task_id)
        task.owner = body.owner
        return task

    return await _run(runtime, work)


@router.post("/tasks/{task_id}/due", response_model=Task)
async def task_due(task_id: ItemId, body: TaskDue, actor: Actor, runtime: RuntimeDep) -> Task:
    """Move a task's due date, with the reason (it no longer follows the plan)."""

    async def work(uow: UnitOfWork) -> Task:
        task = await _task(uow, task_id)
        task.due_date, task.anchor = body.due_date, None
        task.note = f"{task.note}\n{actor}: due {body.due_date}: {body.reason}".strip()[:2000]
        return task

    return await _run(runtime, work)


@router.get("/task-templates", response_model=list[TaskTemplate])
async def templates(runtime: RuntimeDep) -> list[TaskTemplate]:
    async with runtime.units() as uow:
        return await uow.all(select(TaskTemplate).order_by(col(TaskTemplate.code)))


@router.put("/task-templates/{code}", response_model=TaskTemplate)
async def put_template(
    code: Annotated[str, Path(pattern=r"^[a-z0-9_]{1,64}$")], body: TemplateIn, runtime: RuntimeDep
) -> TaskTemplate:
    """Create or change a template (it applies to orders accepted from now on)."""

    async def work(uow: UnitOfWork) -> TaskTemplate:
        template = await uow.get(TaskTemplate, code, lock=True)
        if template is None:
            template = TaskTemplate(code=code, **body.model_dump())
            uow.session.add(template)
        else:
            for name, value in body.model_dump().items():
                setattr(template, name, value)
        return template

    return await _run(runtime, work)


# --- complaints and feedback --------------------------------------------------------------------------


class ComplaintPublic(SQLModel):
    id: str
    order_id: str
    customer: str
    category: str
    description: str
    line_no: int | None
    shipment_id: str | None
    invoice_number: str | None
    quantity: int | None
    evidence: list[str]
    severity: str
    owner: str
    due_at: datetime
    status: str = Field(description="open, remedy_requested (a service is putting it right) or resolved")
    remedy: str | None
    remedy_detail: dict[str, Any] | None
    created_at: datetime
    created_by: str
    resolved_at: datetime | None
    resolved_by: str | None


@router.post("/orders/{order_id}/complaints", status_code=status.HTTP_201_CREATED, response_model=ComplaintPublic)
async def complain(order_id: OrderId, body: aftersales.ComplaintIn, actor: Actor, runtime: RuntimeDep) -> Complaint:
    """Record a customer's complaint; it is on the board until it is put right."""

    async def work(uow: UnitOfWork) -> Complaint:
        return await aftersales.record(uow, await _order(uow, order_id), body, by=actor)

    return await _run(runtime, work)


@router.get("/orders/{order_id}/complaints", response_model=list[ComplaintPublic])
async def order_complaints(order_id: OrderId, runtime: RuntimeDep) -> list[Complaint]:
    async with runtime.units() as uow:
        return await uow.all(
            select(Complaint).where(Complaint.order_id == order_id).order_by(col(Complaint.created_at))
        )


@router.get("/complaints", response_model=list[ComplaintPublic])
async def list_complaints(
    runtime: RuntimeDep,
    state: Annotated[Literal["open", "remedy_requested", "resolved"] | None, Query(alias="status")] = None,
    customer: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Complaint]:
    query = select(Complaint).order_by(col(Complaint.created_at).desc()).limit(limit)
    if state:
        query = query.where(Complaint.status == state)
    if customer:
        query = query.where(Complaint.customer == customer)
    async with runtime.units() as uow:
        return await uow.all(query)


@router.post("/complaints/{complaint_id}/remedy", response_model=ComplaintPublic)
async def remedy(complaint_id: ItemId, body: aftersales.RemedyIn, actor: Actor, runtime: RuntimeDep) -> Complaint:
    """The remedy agreed with the customer: an explanation resolves it; anything else goes to its service."""

    async def work(uow: UnitOfWork) -> Complaint:
        complaint = await uow.get(Complaint, complaint_id, lock=True)
        if complaint is None:
            raise NotFound(f"complaint {complaint_id}")
        order = await _order(uow, complaint.order_id, lock=True)
        return await aftersales.remedy(uow, order, complaint, body, by=actor)

    return await _run(runtime, work)


@router.post("/orders/{order_id}/feedback", status_code=status.HTTP_201_CREATED, response_model=Feedback)
async def give_feedback(order_id: OrderId, body: aftersales.FeedbackIn, actor: Actor, runtime: RuntimeDep) -> Feedback:
    """The customer's feedback on a product of a delivered order."""

    async def work(uow: UnitOfWork) -> Feedback:
        return aftersales.feedback(uow, await _order(uow, order_id), body, by=actor)

    return await _run(runtime, work)


class FeedbackSummary(BaseModel):
    ratings: int
    average: float | None
    entries: list[Feedback]


@router.get("/feedback", response_model=FeedbackSummary)
async def list_feedback(
    runtime: RuntimeDep,
    product: Annotated[str | None, Query(max_length=200)] = None,
    customer: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> FeedbackSummary:
    query = select(Feedback).order_by(col(Feedback.received_at).desc()).limit(limit)
    if product:
        query = query.where(Feedback.product == product)
    if customer:
        query = query.where(Feedback.customer == customer)
    async with runtime.units() as uow:
        entries = await uow.all(query)
    mean = aftersales.average([e.rating for e in entries])
    return FeedbackSummary(ratings=len(entries), average=float(mean) if mean is not None else None, entries=entries)


# --- the post-order review ----------------------------------------------------------------------------


async def _review(runtime: Runtime, order_id: str) -> dict[str, Any]:
    async with runtime.sessions() as session:
        found = await session.get(PostOrderReview, order_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no review of order {order_id}: it is reviewed once closed")
    return found.review


@router.get("/orders/{order_id}/post-review")
async def get_post_review(order_id: OrderId, runtime: RuntimeDep) -> dict[str, Any]:
    """The review of a closed order: plan against actual per stage, delays and causes, exceptions, complaints,
    the file's completeness."""
    return await _review(runtime, order_id)


@router.get("/orders/{order_id}/post-review.pdf", response_class=Response)
async def post_review_pdf(order_id: OrderId, runtime: RuntimeDep) -> Response:
    return Response(post_review.as_pdf(await _review(runtime, order_id)), media_type=PDF)


async def _period(
    runtime: Runtime, start: date | None, end: date | None, customer: str | None
) -> list[PostOrderReview]:
    today = runtime.clock.now().date()
    start, end = start or today - timedelta(days=30), end or today
    if end < start:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "`to` is before `from`")
    first = datetime.combine(start, time.min, tzinfo=runtime.clock.now().tzinfo)
    last = datetime.combine(end + timedelta(days=1), time.min, tzinfo=first.tzinfo)
    query = (
        select(PostOrderReview)
        .where(col(PostOrderReview.closed_at) >= first, col(PostOrderReview.closed_at) < last)
        .order_by(col(PostOrderReview.closed_at))
        .limit(5000)
    )
    if customer:
        query = query.where(PostOrderReview.customer == customer)
    async with runtime.units() as uow:
        return await uow.all(query)


@router.get("/post-reviews")
async def post_reviews(
    runtime: RuntimeDep,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    customer: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The reviews of the orders closed in a period, summed (and listed)."""
    found = await _period(runtime, start, end, customer)
    return {"summary": post_review.summary(found), "orders": [r.review for r in found]}


@router.get("/post-reviews.xlsx", response_class=Response)
async def post_reviews_xlsx(
    runtime: RuntimeDep,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    customer: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    found = await _period(runtime, start, end, customer)
    return Response(post_review.as_xlsx([r.review for r in found]), media_type=tables.XLSX)
