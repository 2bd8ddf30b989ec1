"""The tracking table over HTTP: one row per order, searched, sorted, paged and exported; KPIs."""

import asyncio
import base64
import binascii
import csv
import io
import json
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import String, literal, or_, tuple_
from sqlalchemy.orm import defer
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.order import kpis, milestones, tracking
from services.order.domain import OrderStatus
from services.order.models import BoardEntry, Order, TimelineEntry, TrackingPage, TrackingRow
from shared import tables
from shared.kinds import Severity
from shared.service import Runtime, RuntimeDep

router = APIRouter(tags=["tracking"])
router.include_router(milestones.router)

PAGE_MAX = 500
EXPORT_MAX = 100_000  # rows in one export; narrow the filters for more
EXPORT_BATCH = 1000
SEARCH_TERMS = 8
RANKS = {s.value: s.rank + 1 for s in Severity}  # 0: no open exception


class Sort(StrEnum):
    """The columns the table can be sorted by."""

    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    CUSTOMER = "customer"
    EXTERNAL_REF = "external_ref"
    STATUS = "status"
    PROMISED_DATE = "promised_date"
    PROJECTED_DELIVERY = "projected_delivery"
    TOTAL_AMOUNT = "total_amount"
    OUTSTANDING_AMOUNT = "outstanding_amount"
    RISK = "risk"


@dataclass(frozen=True)
class SortKey:
    expression: Any
    parse: Callable[[Any], Any]  # a cursor's JSON value back to the column's type


SORT_KEYS = {
    Sort.CREATED_AT: SortKey(col(Order.created_at), datetime.fromisoformat),
    Sort.UPDATED_AT: SortKey(col(Order.updated_at), datetime.fromisoformat),
    Sort.CUSTOMER: SortKey(col(Order.customer), str),
    Sort.EXTERNAL_REF: SortKey(col(Order.external_ref), str),
    Sort.STATUS: SortKey(col(Order.status), str),
    Sort.PROMISED_DATE: SortKey(tracking.PROMISED, date.fromisoformat),
    Sort.PROJECTED_DELIVERY: SortKey(tracking.PROJECTED, date.fromisoformat),
    Sort.TOTAL_AMOUNT: SortKey(col(Order.total_amount), Decimal),
    Sort.OUTSTANDING_AMOUNT: SortKey(tracking.OUTSTANDING, Decimal),
    Sort.RISK: SortKey(tracking.severity_rank(RANKS), int),
}


class BadRequest(ValueError):
    """A filter or cursor the table cannot use (400 with the reason)."""


@dataclass(frozen=True)
class Filters:
    """Which orders the table shows."""

    status: list[OrderStatus] | None = None
    customer: str | None = None
    risk: Severity | None = None
    late: bool | None = None
    promised_from: date | None = None
    promised_to: date | None = None
    created_from: date | None = None
    created_to: date | None = None
    q: str | None = None


def filters(
    status_in: Annotated[
        list[OrderStatus] | None, Query(alias="status", max_length=len(OrderStatus), description="Any of these.")
    ] = None,
    customer: Annotated[str | None, Query(max_length=200)] = None,
    risk: Annotated[Severity | None, Query(description="An open exception of this severity or worse.")] = None,
    late: Annotated[bool | None, Query(description="Only late (true) or only not late (false) orders.")] = None,
    promised_from: Annotated[date | None, Query()] = None,
    promised_to: Annotated[date | None, Query(description="Inclusive.")] = None,
    created_from: Annotated[date | None, Query(description="UTC day.")] = None,
    created_to: Annotated[date | None, Query(description="UTC day, inclusive.")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Words in customer, reference, product or SKU (all of them).")
    ] = None,
) -> Filters:
    """The filters of a tracking request, checked."""
    for low, high, name in ((promised_from, promised_to, "promised"), (created_from, created_to, "created")):
        if low and high and low > high:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{name}_from {low} is after {name}_to {high}")
    if q is not None and "\x00" in q:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "q must not contain NUL characters")
    return Filters(
        status=status_in,
        customer=customer,
        risk=risk,
        late=late,
        promised_from=promised_from,
        promised_to=promised_to,
        created_from=created_from,
        created_to=created_to,
        q=q,
    )


FiltersDep = Annotated[Filters, Depends(filters)]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def conditions(found: Filters, *, today: date) -> list[Any]:
    """The WHERE clauses of some filters."""
    where: list[Any] = []
    if found.status:
        where.append(col(Order.status).in_([str(s) for s in found.status]))
    if found.customer is not None:
        where.append(col(Order.customer) == found.customer)
    if found.risk is not None:
        where.append(tracking.severity_rank(RANKS) >= RANKS[found.risk])
    if found.late is not None:
        late = tracking.late_clause(today)
        where.append(late if found.late else ~late)
    if found.promised_from:
        where.append(found.promised_from <= tracking.PROMISED)
    if found.promised_to:
        where.append(found.promised_to >= tracking.PROMISED)
    if found.created_from:
        where.append(col(Order.created_at) >= _midnight(found.created_from))
    if found.created_to:
        where.append(col(Order.created_at) < _midnight(found.created_to + timedelta(days=1)))
    for term in (found.q or "").lower().split()[:SEARCH_TERMS]:
        where.append(col(Order.search).ilike(_like(term), escape="\\"))  # pg_trgm's GIN index serves ILIKE '%..%'
    return where


# --- cursors --------------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def encode_cursor(sort: Sort, descending: bool, key: Any, order_id: str) -> str:
    """An opaque cursor after a row: the sort, its direction, the row's sort key and id (base64url JSON)."""
    raw = json.dumps({"s": sort.value, "d": descending, "k": _json_value(key), "id": order_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sort, descending: bool) -> tuple[Any, str]:
    """The sort key and id a cursor points after; BadRequest when it is not one of ours or for another sort."""
    try:
        found = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        named, direction, key, order_id = found["s"], found["d"], found["k"], found["id"]
        if not isinstance(order_id, str) or not isinstance(direction, bool) or key is None:
            raise ValueError("malformed")
        value = SORT_KEYS[Sort(named)].parse(key)
    except (ValueError, KeyError, TypeError, InvalidOperation, binascii.Error, UnicodeDecodeError) as error:
        raise BadRequest("cursor is not valid; start again without one") from error
    if named != sort or direction != descending:
        raise BadRequest(f"cursor was made for sort {named} {'desc' if direction else 'asc'}; keep the same sort")
    return value, order_id


# --- the query --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """One request for rows: filters, sort and where to start."""

    filters: Filters
    sort: Sort = Sort.CREATED_AT
    descending: bool = True
    after: tuple[Any, str] | None = None


def query(listing: Listing, *, today: date, limit: int) -> Any:
    """Orders (without their terms) and their sort key, in sort order, after the cursor."""
    key = SORT_KEYS[listing.sort].expression
    where = conditions(listing.filters, today=today)
    if listing.after is not None:
        value, order_id = listing.after
        here = tuple_(key, col(Order.id))
        there = tuple_(literal(value, key.type), literal(order_id, String()))
        where.append(here < there if listing.descending else here > there)
    ordered = (key.desc(), col(Order.id).desc()) if listing.descending else (key.asc(), col(Order.id).asc())
    return (
        select(Order, key.label("sort_key"))
        .options(defer(Order.terms))  # type: ignore[arg-type]
        .where(*where)
        .order_by(*ordered)
        .limit(limit)
    )


async def page(
    session: AsyncSession, listing: Listing, *, today: date, limit: int
) -> tuple[list[TrackingRow], tuple[Any, str] | None]:
    """One page of the table and the position after it (none on the last page)."""
    found = (await session.exec(query(listing, today=today, limit=limit + 1))).all()
    rows = [TrackingRow.model_validate(tracking.row(order, today=today)) for order, _ in found[:limit]]
    if len(found) <= limit:
        return rows, None
    last, key = found[limit - 1]
    return rows, (key, last.id)


async def all_rows(runtime: Runtime, listing: Listing, *, today: date, limit: int) -> AsyncIterator[list[TrackingRow]]:
    """Every row a listing selects, up to `limit`, in batches (each read in its own short transaction)."""
    left = limit
    while left > 0:
        async with runtime.sessions() as session:
            rows, after = await page(session, listing, today=today, limit=min(EXPORT_BATCH, left))
        if rows:
            yield rows
        left -= len(rows)
        if after is None:
            return
        listing = Listing(listing.filters, listing.sort, listing.descending, after)


def _listing(found: Filters, sort: Sort, order: str, cursor: str | None) -> Listing:
    descending = order == "desc"
    try:
        after = decode_cursor(cursor, sort, descending) if cursor else None
    except BadRequest as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from error
    return Listing(found, sort, descending, after)


SortDep = Annotated[Sort, Query(description="Column to sort by.")]
OrderDep = Annotated[str, Query(pattern="^(asc|desc)$", description="asc or desc.")]


@router.get("/tracking", response_model=TrackingPage)
async def tracking_table(
    runtime: RuntimeDep,
    found: FiltersDep,
    sort: SortDep = Sort.CREATED_AT,
    order: OrderDep = "desc",
    cursor: Annotated[str | None, Query(max_length=2000, description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 50,
) -> TrackingPage:
    """The tracking table: one row per order with its next milestone, dates, lateness, risk and money."""
    listing = _listing(found, sort, order, cursor)
    async with runtime.sessions() as session:
        rows, after = await page(session, listing, today=runtime.clock.now().date(), limit=limit)
    cursor = encode_cursor(sort, listing.descending, *after) if after else None
    return TrackingPage(rows=rows, next_cursor=cursor)


# --- exports ----------------------------------------------------------------------------------------

COLUMNS = list(TrackingRow.model_fields)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such text as a formula


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(FORMULA_START) else text


def csv_lines(rows: list[TrackingRow], *, header: bool) -> str:
    """Rows as CSV text (with the header line first when asked)."""
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_csv_cell(getattr(row, name)) for name in COLUMNS])
    return out.getvalue()


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)  # Excel has no time zones: UTC
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"  # text, never a formula
        return cell
    return value


def _append(sheet: WriteOnlyWorksheet, rows: list[TrackingRow]) -> None:
    for row in rows:
        sheet.append([_xlsx_cell(sheet, getattr(row, name)) for name in COLUMNS])


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    try:
        file.seek(0)
        while chunk := file.read(64 * 1024):
            yield chunk
    finally:
        file.close()


def _attachment(extension: str, today: date) -> dict[str, str]:
    return {"content-disposition": f'attachment; filename="tracking-{today:%Y%m%d}.{extension}"'}


@router.get("/tracking/export.csv", response_class=StreamingResponse)
async def export_csv(
    runtime: RuntimeDep, found: FiltersDep, sort: SortDep = Sort.CREATED_AT, order: OrderDep = "desc"
) -> StreamingResponse:
    """The tracking table with the same filters as CSV (UTF-8, header line), at most 100 000 rows."""
    listing, today = _listing(found, sort, order, None), runtime.clock.now().date()

    async def lines() -> AsyncIterator[str]:
        yield csv_lines([], header=True)
        async for rows in all_rows(runtime, listing, today=today, limit=EXPORT_MAX):
            yield csv_lines(rows, header=False)

    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=_attachment("csv", today))


@router.get("/tracking/export.xlsx", response_class=StreamingResponse)
async def export_xlsx(
    runtime: RuntimeDep, found: FiltersDep, sort: SortDep = Sort.CREATED_AT, order: OrderDep = "desc"
) -> StreamingResponse:
    """The tracking table with the same filters as an Excel workbook, at most 100 000 rows (times in UTC)."""
    listing, today = _listing(found, sort, order, None), runtime.clock.now().date()
    book = Workbook(write_only=True)
    sheet = book.create_sheet("tracking")
    sheet.append(COLUMNS)
    async for rows in all_rows(runtime, listing, today=today, limit=EXPORT_MAX):
        await asyncio.to_thread(_append, sheet, rows)
    file = tempfile.SpooledTemporaryFile(max_size=16 << 20)  # noqa: SIM115 (closed by _chunks)
    await asyncio.to_thread(book.save, file)
    return StreamingResponse(_chunks(file), media_type=tables.XLSX, headers=_attachment("xlsx", today))


# --- KPIs -------------------------------------------------------------------------------------------

KPI_SPAN = timedelta(days=366)
STEP_TYPES = list(kpis.STAGE_OF_TYPE)


async def kpi_facts(
    session: AsyncSession, start: datetime, end: datetime
) -> tuple[list[kpis.OrderFacts], list[kpis.Step], list[kpis.Raised]]:
    """The orders created, delivered or moved in the period, their stage events, the exceptions raised in it."""
    moved = select(TimelineEntry.order_id).where(
        col(TimelineEntry.type).in_(STEP_TYPES),
        col(TimelineEntry.occurred_at) >= start,
        col(TimelineEntry.occurred_at) < end,
    )
    touched = or_(
        (col(Order.created_at) >= start) & (col(Order.created_at) < end),
        (col(Order.delivered_at) >= start) & (col(Order.delivered_at) < end),
        col(Order.id).in_(moved),
    )
    orders = (await session.exec(select(Order).options(defer(Order.terms)).where(touched))).all()  # type: ignore[arg-type]
    ids = [o.id for o in orders]
    timeline = select(TimelineEntry.order_id, TimelineEntry.type, TimelineEntry.occurred_at).where(
        col(TimelineEntry.order_id).in_(ids), col(TimelineEntry.type).in_(STEP_TYPES)
    )
    steps = [kpis.Step(*row) for row in (await session.exec(timeline)).all()]
    board = select(BoardEntry).where(col(BoardEntry.raised_at) >= start, col(BoardEntry.raised_at) < end)
    raised = [
        kpis.Raised(e.order_id, e.customer, e.stage, e.cause, e.raised_at) for e in (await session.exec(board)).all()
    ]
    facts = [
        kpis.OrderFacts(
            o.id, o.customer, o.status, o.created_at, tracking.promised(o), o.delivered_at, o.planned_completion
        )
        for o in orders
    ]
    return facts, steps, raised


@router.get("/kpis", response_model=kpis.Kpis)
async def key_figures(
    runtime: RuntimeDep,
    start: Annotated[date, Query(alias="from", description="First UTC day of the period.")],
    end: Annotated[date, Query(alias="to", description="Last UTC day of the period (inclusive).")],
) -> kpis.Kpis:
    """On-time delivery, lead times per stage (actual and planned), delay causes, orders and exceptions per
    stage and customer, over a period of at most a year."""
    if start > end:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"from {start} is after to {end}")
    if end - start > KPI_SPAN:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"the period is at most {KPI_SPAN.days} days")
    since, until = _midnight(start), _midnight(end + timedelta(days=1))
    async with runtime.sessions() as session:
        orders, steps, raised = await kpi_facts(session, since, until)
    return kpis.measure(orders=orders, steps=steps, raised=raised, start=since, end=until, period=(start, end))
