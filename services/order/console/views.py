"""The console's routes, all under /console (one guard will cover them once sign-in exists)."""

import json
import mimetypes
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
from sqlmodel import col, select

from services.order import api, files, followup_api, kpis, tracking_api
from services.order.console import feed, i18n, links, peers, settings
from services.order.console.pages import STATIC, Lang, render
from services.order.domain import ENDED, OrderStatus
from services.order.models import (
    BoardEntry,
    ChangeRequest,
    Clarification,
    Exposure,
    LineProgress,
    Order,
    OrderVersion,
    TimelineEntry,
)
from services.order.tracking_api import Filters, Listing, Sort
from shared.auth import principal_of
from shared.contracts import ExceptionAction, LineDates, Milestone, OrderTerms
from shared.kinds import Severity
from shared.service import Runtime, RuntimeDep

router = APIRouter(prefix="/console", include_in_schema=False)
OPEN = [s for s in OrderStatus if s not in ENDED]
PAGE = 50
NO_MOVEMENT = {"order.stalled", "production.no_mes_report", "logistics.no_scan"}
USER_COOKIE = "gendan_user"
OrderId = Annotated[str, Path(min_length=1, max_length=64)]


def _actor(request: Request) -> str:
    """Who acts: the signed-in person; where authentication is off, the name they gave (cookie), else `console`."""
    principal = principal_of(request)
    if principal.kind != "anonymous":
        return principal.name
    return (request.cookies.get(USER_COOKIE) or "console")[:200]


# --- the tracking table ------------------------------------------------------------------------------


def _view(
    status_in: list[OrderStatus] | None,
    customer: str | None,
    risk: Severity | None,
    late: bool | None,
    q: str | None,
    ended: bool,
) -> Filters:
    chosen = status_in or (None if ended else OPEN)
    if q is not None and "\x00" in q:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "q must not contain NUL characters")
    return Filters(status=chosen, customer=customer or None, risk=risk, late=late, q=q or None)


class TableQuery:
    """The table's filters, sort and page as the browser sends them (query string)."""

    def __init__(
        self,
        status_in: Annotated[
            list[OrderStatus | Literal[""]] | None, Query(alias="status", max_length=len(OrderStatus) + 1)
        ] = None,
        customer: Annotated[str | None, Query(max_length=200)] = None,
        risk: Annotated[Severity | Literal[""] | None, Query()] = None,
        late: Annotated[Literal["", "true", "false"] | None, Query()] = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        ended: Annotated[bool, Query(description="Also closed, rejected and cancelled orders.")] = False,
        sort: Annotated[Sort, Query()] = Sort.CREATED_AT,
        order: Annotated[Literal["asc", "desc"], Query()] = "desc",
        cursor: Annotated[str | None, Query(max_length=2000)] = None,
    ) -> None:
        self.status = [OrderStatus(s) for s in status_in or [] if s]  # "" is the select's "all open"
        self.customer, self.q, self.ended = customer or "", q or "", ended
        self.risk = risk or None
        self.late = None if not late else late == "true"
        self.sort, self.order, self.cursor = sort, order, cursor or None
        self.filters = _view(self.status, customer, self.risk, self.late, q, ended)

    def params(self, **changes: Any) -> dict[str, Any]:
        """The query of this view, with some values changed (None drops one)."""
        found: dict[str, Any] = {
            "status": [str(s) for s in self.status],
            "customer": self.customer,
            "risk": self.risk or "",
            "late": "" if self.late is None else str(self.late).lower(),
            "q": self.q,
            "ended": "true" if self.ended else "",
            "sort": str(self.sort),
            "order": self.order,
            "cursor": self.cursor or "",
        } | changes
        return {k: v for k, v in found.items() if v not in (None, "", [])}

    def url(self, path: str, **changes: Any) -> str:
        return f"{path}?{urlencode(self.params(**changes), doseq=True)}"

    def listing(self) -> Listing:
        descending = self.order == "desc"
        try:
            after = tracking_api.decode_cursor(self.cursor, self.sort, descending) if self.cursor else None
        except tracking_api.BadRequest as error:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from error
        return Listing(self.filters, self.sort, descending, after)


async def _table(runtime: Runtime, view: TableQuery) -> dict[str, Any]:
    today = runtime.clock.now().date()
    async with runtime.sessions() as session:
        rows, after = await tracking_api.page(session, view.listing(), today=today, limit=PAGE)
    following = tracking_api.encode_cursor(view.sort, view.order == "desc", *after) if after else None
    return {
        "rows": rows,
        "view": view,
        "next_cursor": following,
        "statuses": list(OrderStatus),
        "severities": list(Severity),
    }


@router.get("")
async def home() -> RedirectResponse:
    return RedirectResponse("/console/orders", status.HTTP_303_SEE_OTHER)


@router.get("/orders")
async def orders_page(
    request: Request, runtime: RuntimeDep, fmt: Lang, view: Annotated[TableQuery, Depends()]
) -> Response:
    """The tracking table: every open order, filtered, sorted, searched, paged, live."""
    return render(request, fmt, "orders.html", **await _table(runtime, view))


@router.get("/orders/rows")
async def orders_rows(
    request: Request, runtime: RuntimeDep, fmt: Lang, view: Annotated[TableQuery, Depends()]
) -> Response:
    """The table alone (htmx swaps it when the filters change or the feed says an order moved)."""
    return render(request, fmt, "orders_table.html", **await _table(runtime, view))


@router.get("/orders/export.{extension}")
async def orders_export(
    runtime: RuntimeDep, extension: Literal["csv", "xlsx"], view: Annotated[TableQuery, Depends()]
) -> StreamingResponse:
    """The current view (all its pages) as CSV or Excel."""
    export = tracking_api.export_csv if extension == "csv" else tracking_api.export_xlsx
    return await export(runtime, view.filters, view.sort, view.order)


@router.get("/events")
async def events(request: Request) -> StreamingResponse:
    """Server-sent events: `orders` and `board` with the ids of the orders that changed."""
    hub = getattr(request.app.state, "console_hub", None)
    if hub is None:
        hub = request.app.state.console_hub = feed.Hub(request.app.state.runtime.sessions)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(feed.stream(hub), media_type="text/event-stream", headers=headers)


# --- the exceptions board ----------------------------------------------------------------------------


async def _board(
    runtime: Runtime, severity: Severity | None, mine: str | None, order_id: str | None
) -> list[BoardEntry]:
    query = (
        select(BoardEntry).where(col(BoardEntry.open)).order_by(api.SEVERITY_ORDER.desc(), col(BoardEntry.raised_at))
    )
    if severity is not None:
        query = query.where(BoardEntry.severity == severity)
    if mine:
        query = query.where(BoardEntry.assignee == mine)
    if order_id:
        query = query.where(BoardEntry.order_id == order_id)
    async with runtime.sessions() as session:
        return list((await session.exec(query.limit(500))).all())


def _board_context(runtime: Runtime, request: Request, entries: list[BoardEntry], **more: Any) -> dict[str, Any]:
    return {
        "entries": entries,
        "now": runtime.clock.now(),
        "no_movement": NO_MOVEMENT,
        "severities": list(Severity),
        "user": _actor(request),
        "signed_in": principal_of(request).kind != "anonymous",
        **more,
    }


BoardSeverity = Annotated[Severity | Literal[""] | None, Query()]
BoardOrder = Annotated[str | None, Query(max_length=64)]
BoardMine = Annotated[str | None, Query(max_length=200)]


@router.get("/exceptions")
async def board_page(
    request: Request,
    runtime: RuntimeDep,
    fmt: Lang,
    severity: BoardSeverity = None,
    assignee: BoardMine = None,
    order_id: BoardOrder = None,
) -> Response:
    """The exceptions board: open exceptions, worst and oldest first, with what can be done to them."""
    return await _board_view(request, runtime, fmt, "board.html", severity, assignee, order_id)


@router.get("/exceptions/rows")
async def board_rows(
    request: Request,
    runtime: RuntimeDep,
    fmt: Lang,
    severity: BoardSeverity = None,
    assignee: BoardMine = None,
    order_id: BoardOrder = None,
) -> Response:
    return await _board_view(request, runtime, fmt, "board_table.html", severity, assignee, order_id)


async def _board_view(
    request: Request,
    runtime: Runtime,
    fmt: Any,
    template: str,
    severity: Severity | Literal[""] | None,
    assignee: str | None,
    order_id: str | None,
) -> Response:
    """The board, or its table alone (what the live feed swaps in), for the filters given."""
    entries = await _board(runtime, severity or None, assignee, order_id)
    filters = {"severity": severity or "", "assignee": assignee or "", "order_id": order_id or ""}
    return render(request, fmt, template, **_board_context(runtime, request, entries, filters=filters))


Note = Annotated[str, Form(max_length=4000)]


@router.post("/exceptions/{exception_id}/{action}")
async def board_act(
    request: Request,
    runtime: RuntimeDep,
    fmt: Lang,
    exception_id: Annotated[str, Path(min_length=1, max_length=64)],
    action: ExceptionAction,
    note: Note = "",
    owner: Annotated[str, Form(max_length=200)] = "",
    until: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Acknowledge, assign, comment, snooze or resolve from the board; answers with the exception's new row."""
    details: dict[str, Any] = {"note": note.strip()}
    if action == ExceptionAction.ASSIGN:
        if not owner.strip():
            return _refused(request, fmt, "error.owner_required")
        details["owner"] = owner.strip()
    if action == ExceptionAction.SNOOZE:
        try:
            details["until"] = datetime.fromisoformat(until).replace(tzinfo=i18n.ZONE)  # the person's wall clock
        except ValueError:
            return _refused(request, fmt, "error.until_required")
    if action == ExceptionAction.RESOLVE and not details["note"]:
        return _refused(request, fmt, "error.reason_required")
    try:
        entry = await api._act(runtime, exception_id, action, _actor(request), **details)
    except HTTPException as error:
        return _refused(request, fmt, "error.action_refused", status_code=error.status_code, detail=str(error.detail))
    return render(
        request, fmt, "board_row.html", **_board_context(runtime, request, [entry], entry=entry, flash=f"done.{action}")
    )


def _refused(request: Request, fmt: Any, key: str, status_code: int = 422, detail: str = "") -> Response:
    response = render(request, fmt, "alert.html", message=fmt.t(key), detail=detail, status_code=status_code)
    response.headers["HX-Reswap"] = "none"
    response.headers["HX-Trigger"] = json.dumps({"console-alert": fmt.t(key) + (f": {detail}" if detail else "")})
    return response


@router.post("/me")
async def set_user(
    name: Annotated[str, Form(min_length=1, max_length=200)],
    back: Annotated[str, Form(max_length=2000)] = "/console/exceptions",
) -> RedirectResponse:
    """Say who you are (kept in a cookie until sign-in replaces it)."""
    response = RedirectResponse(_local(back), status.HTTP_303_SEE_OTHER)
    response.set_cookie(USER_COOKIE, name.strip()[:200], httponly=True, samesite="lax", max_age=30 * 86400)
    return response


# --- one order ---------------------------------------------------------------------------------------


async def _order_facts(runtime: Runtime, order_id: str) -> dict[str, Any]:
    async with runtime.sessions() as session:
        order = await session.get(Order, order_id)
        if order is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no order {order_id}")
        by_order = {"order_id": order_id}
        timeline = (
            await session.exec(
                select(TimelineEntry)
                .filter_by(**by_order)
                .order_by(col(TimelineEntry.occurred_at), col(TimelineEntry.id))
            )
        ).all()
        progress = (
            await session.exec(select(LineProgress).filter_by(**by_order).order_by(col(LineProgress.line_no)))
        ).all()
        clarifications = (
            await session.exec(select(Clarification).filter_by(**by_order).order_by(col(Clarification.raised_at)))
        ).all()
        changes = (
            await session.exec(select(ChangeRequest).filter_by(**by_order).order_by(col(ChangeRequest.requested_at)))
        ).all()
        versions = (
            await session.exec(select(OrderVersion).filter_by(**by_order).order_by(col(OrderVersion.version)))
        ).all()
        board = (await session.exec(select(BoardEntry).filter_by(**by_order).order_by(col(BoardEntry.raised_at)))).all()
    return {
        "order": order,
        "timeline": timeline,
        "plan": progress,
        "clarifications": clarifications,
        "changes": changes,
        "versions": versions,
        "exceptions": board,
    }


def plan_chart(progress: list[LineProgress]) -> list[dict[str, Any]]:
    """The milestone plan against actuals, one row per work order and milestone, for the timeline chart."""
    rows = []
    for p in progress:
        for raw in p.milestones or []:
            m = Milestone.model_validate(raw)
            rows.append(
                {
                    "work_order_id": p.work_order_id,
                    "line_no": p.line_no,
                    "milestone": m.name.value,
                    "planned": m.planned.isoformat(),
                    "projected": m.projected.isoformat() if m.projected else None,
                    "actual": m.actual.isoformat() if m.actual else None,
                    "late": bool((m.actual or m.projected or m.planned) > m.planned),
                }
            )
    return rows


def lines_with_dates(order: Order, timeline: list[TimelineEntry]) -> list[dict[str, Any]]:
    """The order's lines with the date asked for and the date confirmed (at acceptance) side by side."""
    terms = OrderTerms.model_validate(order.terms)
    accepted = [
        e for e in timeline if e.type in ("order.accepted", "order.change_accepted") and e.data.get("confirmed")
    ]
    confirmed = {
        c.line_no: c
        for c in (LineDates.model_validate(x) for x in (accepted[-1].data["confirmed"] if accepted else []))
    }
    return [
        {
            "line": line,
            "requested": line.requested_date or terms.delivery_date,
            "confirmed": confirmed[line.line_no].confirmed_date if line.line_no in confirmed else None,
        }
        for line in terms.lines
    ]


@router.get("/orders/{order_id}")
async def order_page(request: Request, runtime: RuntimeDep, fmt: Lang, order_id: OrderId) -> Response:
    """One order's whole story: header, lines, plan, production, shipments, documents, money, changes, events."""
    facts = await _order_facts(runtime, order_id)
    order: Order = facts["order"]
    try:
        file = await followup_api.order_file(order_id, runtime)
        documents = [(d, i) for i, d in await _document_ids(runtime, order_id)]
        problem = None
    except HTTPException:
        file, documents, problem = None, [], "error"
    story = await peers.order_story(runtime, order_id)
    today = runtime.clock.now().date()
    return render(
        request,
        fmt,
        "order.html",
        **facts,
        row=tracking_api.TrackingRow.model_validate(tracking_api.tracking.row(order, today=today)),
        lines=lines_with_dates(order, list(facts["timeline"])),
        chart=plan_chart(list(facts["plan"])),
        file=file,
        documents=documents,
        file_problem=problem,
        story=story,
        now=runtime.clock.now(),
        no_movement=NO_MOVEMENT,
    )


async def _document_ids(runtime: Runtime, order_id: str) -> list[tuple[int, Any]]:
    async with runtime.units() as uow:
        found = await files.documents(uow, order_id)
    return [(d.id, files.public(d)) for d in found if d.id is not None]


@router.get("/orders/{order_id}/documents/{document_id}")
async def order_document(
    runtime: RuntimeDep, order_id: OrderId, document_id: Annotated[int, Path(ge=1, le=2**62)]
) -> Response:
    """A document of the order's file, opened in the browser (PDFs inline)."""
    found = await followup_api.download(order_id, document_id, runtime)
    found.headers["Content-Disposition"] = f'inline; filename="{order_id}-{document_id}.pdf"'
    return found


@router.post("/orders/{order_id}/tracking-link")
async def tracking_link(request: Request, runtime: RuntimeDep, fmt: Lang, order_id: OrderId) -> Response:
    """A signed, read-only, expiring link the customer can follow the order with."""
    async with runtime.sessions() as session:
        if await session.get(Order, order_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no order {order_id}")
    config = settings.current()
    expires = runtime.clock.now() + timedelta(days=config.tracking_link_days)
    token = links.sign(order_id, expires, secret=config.tracking_link_secret.get_secret_value())
    url = str(request.base_url).rstrip("/") + f"/track/{token}"
    return render(request, fmt, "link.html", url=url, expires=expires)


# --- KPIs --------------------------------------------------------------------------------------------


@router.get("/kpis")
async def kpi_page(
    request: Request,
    runtime: RuntimeDep,
    fmt: Lang,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    customer: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """How the period went: on-time rate, lead times, delay causes, exceptions by stage, receivables aging."""
    today = runtime.clock.now().date()
    end = end or today
    start = start or end - timedelta(days=29)
    if start > end or end - start > tracking_api.KPI_SPAN:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the period runs from `from` to `to`, at most a year")
    since, until = (datetime.combine(d, time(), tzinfo=UTC) for d in (start, end + timedelta(days=1)))
    async with runtime.sessions() as session:
        orders, steps, raised = await tracking_api.kpi_facts(session, since, until)
        exposures = list((await session.exec(select(Exposure).order_by(col(Exposure.customer)))).all())
        customers = sorted({o.customer for o in orders} | {e.customer for e in exposures})
    if customer:
        mine = {o.id for o in orders if o.customer == customer}
        orders = [o for o in orders if o.customer == customer]
        steps = [s for s in steps if s.order_id in mine]
        raised = [r for r in raised if r.customer == customer]
        exposures = [e for e in exposures if e.customer == customer]
    figures = kpis.measure(orders=orders, steps=steps, raised=raised, start=since, end=until, period=(start, end))
    aging = await peers.aging(runtime, customer)
    charts = {
        "on_time": figures.on_time_delivery.model_dump(),
        "lead_times": [x.model_dump() for x in figures.lead_times],
        "delay_causes": [x.model_dump() for x in figures.delay_causes],
        "per_stage": [x.model_dump() for x in figures.per_stage],
        "aging": aging.data if aging.data else None,
    }
    return render(
        request,
        fmt,
        "kpis.html",
        figures=figures,
        start=start,
        end=end,
        customer=customer or "",
        customers=customers,
        aging=aging,
        exposures=exposures,
        charts=json.dumps(charts, default=str),
        labels=json.dumps(
            fmt.messages("status.") | fmt.messages("cause.") | fmt.messages("stage.") | fmt.messages("chart.")
        ),
    )


# --- language, assets -------------------------------------------------------------------------------


def _local(back: str) -> str:
    """Only a path of this site to go back to (never another site)."""
    return back if back.startswith("/") and not back.startswith("//") and "\\" not in back else "/console/orders"


@router.get("/language/{lang}")
async def switch_language(
    lang: Literal["en", "zh"], back: Annotated[str, Query(max_length=2000)] = "/console/orders"
) -> RedirectResponse:
    """The language switch: kept in a cookie, the page shown again in it."""
    response = RedirectResponse(_local(back), status.HTTP_303_SEE_OTHER)
    response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


@router.get("/static/{name:path}")
async def asset(name: Annotated[str, Path(max_length=200)]) -> FileResponse:
    """The console's own CSS and script and the libraries installed from npm at build time."""
    found = (STATIC / name).resolve()
    if not found.is_relative_to(STATIC.resolve()) or not found.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no asset {name}")
    media = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
    return FileResponse(found, media_type=media, headers={"Cache-Control": "public, max-age=3600"})
