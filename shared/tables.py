"""Tables people send as files: a CSV (UTF-8, header row) or an Excel workbook (.xlsx, first sheet, header
row), read into validated entries with every bad row reported at once. The masters of every service are
loaded this way, over HTTP and from the seed folder (`MASTER_SEED`) at start."""

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from openpyxl import load_workbook
from pydantic import BaseModel, ValidationError

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
MAX_ROWS = 50_000

In = TypeVar("In", bound=BaseModel)


class BadRows(ValueError):
    """Rows of an import file that are not valid entries; nothing of the file was written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:50]) + (f"; and {len(problems) - 50} more" if len(problems) > 50 else ""))


def parse(content: bytes, content_type: str, model: type[In]) -> list[In]:
    """The rows of a CSV or .xlsx file, each validated as `model`; every bad row is reported at once."""
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


def seed_file(folder: str, name: str) -> tuple[bytes, str] | None:
    """`<folder>/<name>.csv` or `.xlsx` with its content type, if the folder names one."""
    if not folder:
        return None
    for suffix, content_type in ((".csv", CSV), (".xlsx", XLSX)):
        path = Path(folder) / f"{name}{suffix}"
        if path.exists():
            return path.read_bytes(), content_type
    return None


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
