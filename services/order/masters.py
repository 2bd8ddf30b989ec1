"""The product and customer masters review checks orders against: managed over HTTP, loaded from CSV or
Excel files (an upload, or a folder named by MASTER_SEED when the service starts)."""

import csv
import io
import logging
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

from openpyxl import load_workbook
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from services.order.models import Customer, Product
from shared.fields import Currency, Money, Name, OptionalText, Ref
from shared.service import Runtime
from shared.unit_of_work import UnitOfWork

log = logging.getLogger("gendan.order.masters")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 50_000


class ProductIn(BaseModel):
    """One product master entry (a CSV/Excel row has these columns)."""

    model_config = ConfigDict(extra="forbid")

    sku: Ref
    name: Name
    unit: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,16}$")] = "pcs"
    list_price: Money
    currency: Currency
    lead_time_days: Annotated[int, Field(ge=0, le=730)] = Field(description="Days from order to delivery at least.")
    price_tolerance_percent: Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)] = Decimal(5)
    active: bool = True


class CustomerIn(BaseModel):
    """One customer master entry."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    credit_limit: Money
    currency: Currency
    contact_email: OptionalText = ""
    active: bool = True


class ProductPublic(ProductIn):
    pass


class CustomerPublic(CustomerIn):
    pass


class ImportResult(BaseModel):
    imported: int = Field(description="Rows written (new or updated).")


class BadRows(ValueError):
    """Rows of an import file that are not valid entries; nothing of the file was written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:50]) + (f"; and {len(problems) - 50} more" if len(problems) > 50 else ""))


In = TypeVar("In", bound=BaseModel)


def parse(content: bytes, content_type: str, model: type[In]) -> list[In]:
    """The rows of a CSV (UTF-8, header row) or .xlsx file (first sheet, header row), each validated;
    every bad row is reported at once."""
    rows = _xlsx_rows(content) if content_type.startswith(XLSX) else _csv_rows(content)
    entries, problems = [], []
    try:
        numbered = list(enumerate(rows, start=2))
    except BadRows:
        raise
    except Exception as error:  # csv.Error (a stray quote or NUL), or a damaged sheet inside an .xlsx
        raise BadRows([f"not a readable file: {str(error)[:200] or type(error).__name__}"]) from error
    for number, row in numbered:
        if number > MAX_ROWS + 1:
            raise BadRows([f"more than {MAX_ROWS} rows; split the file"])
        values = {k.strip(): v for k, v in row.items() if isinstance(k, str) and k.strip() and v not in (None, "")}
        try:
            entries.append(model.model_validate(values))
        except ValidationError as error:
            fields = ", ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
            problems.append(f"row {number}: {fields}")
    if problems:
        raise BadRows(problems)
    return entries


def _csv_rows(content: bytes) -> Iterator[dict[str, Any]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadRows(["the file is not UTF-8 text"]) from error
    yield from csv.DictReader(io.StringIO(text, newline=""))


def _xlsx_rows(content: bytes) -> Iterator[dict[str, Any]]:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged or foreign file
        raise BadRows([f"not a readable .xlsx file ({type(error).__name__})"]) from error
    rows = book.worksheets[0].iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
    for row in rows:
        if any(v is not None for v in row):
            yield {
                h: (str(v) if isinstance(v, float | int) and not isinstance(v, bool) else v)
                for h, v in zip(header, row, strict=False)
            }


async def upsert(uow: UnitOfWork, entries: Sequence[ProductIn | CustomerIn]) -> int:
    """Write entries, replacing those with the same key: one statement per table, however many rows."""
    now = uow.clock.now()
    for table, model, key in ((Product, ProductIn, "sku"), (Customer, CustomerIn, "name")):
        rows = [{**e.model_dump(), "updated_at": now} for e in entries if isinstance(e, model)]
        if rows:
            stmt = insert(table)
            replace = {column: stmt.excluded[column] for column in rows[0] if column != key}
            await uow.session.exec(stmt.on_conflict_do_update(index_elements=[key], set_=replace), params=rows)
    return len(entries)


async def products(uow: UnitOfWork) -> list[Product]:
    return await uow.all(select(Product).order_by(col(Product.sku)))


async def customers(uow: UnitOfWork) -> list[Customer]:
    return await uow.all(select(Customer).order_by(col(Customer.name)))


async def seed(runtime: Runtime) -> None:
    """At start, before serving: load `products.csv` / `customers.csv` (or .xlsx) from MASTER_SEED, if set."""
    folder = getattr(runtime.settings, "master_seed", "")
    if not folder:
        return
    kinds: list[tuple[str, type[ProductIn] | type[CustomerIn]]] = [("products", ProductIn), ("customers", CustomerIn)]
    for name, model in kinds:
        for suffix, content_type in ((".csv", "text/csv"), (".xlsx", XLSX)):
            path = Path(folder) / f"{name}{suffix}"
            if path.exists():
                entries: list[Any] = parse(path.read_bytes(), content_type, model)
                async with runtime.units() as uow:
                    count = await upsert(uow, entries)
                log.info("loaded %d %s from %s", count, name, path)
