"""Business documents as PDF: one small model (title, parties, fields, tables, notes) rendered with ReportLab.

Every service that issues a document (packing list, commercial invoice, customs declaration, invoice,
credit note) describes it as a `PdfDocument` and calls `render`; none draws PDFs itself. Text is set in
ReportLab's built-in Adobe CID font STSong-Light, so Chinese and Latin text print without font files
on the machine. Rendering is deterministic (ReportLab's invariant mode): the same document gives the
same bytes, so a checksum tells whether a regenerated document really changed.
"""

import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

_TITLE = ParagraphStyle("title", fontName=FONT, fontSize=16, leading=20, spaceAfter=4 * mm)
_HEAD = ParagraphStyle("head", fontName=FONT, fontSize=10, leading=13, spaceBefore=3 * mm)
_BODY = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
_CELL = ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10)


@dataclass(frozen=True)
class PdfTable:
    """A table with a header row; cells are text (format numbers before)."""

    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    title: str = ""
    numeric: Sequence[int] = ()  # indexes of right-aligned columns


@dataclass(frozen=True)
class PdfDocument:
    """A business document: what it is, who it is between, its facts, its tables and its notes."""

    title: str
    number: str
    fields: Sequence[tuple[str, str]] = ()  # label, value: dates, references, terms
    parties: Sequence[tuple[str, str]] = ()  # label, text block (lines separated by newlines)
    tables: Sequence[PdfTable] = ()
    notes: Sequence[str] = ()
    footer: str = "Gendan"
    meta: dict[str, str] = field(default_factory=dict)  # PDF metadata: subject, keywords


LONGEST_WORD = 24  # ReportLab breaks lines only at spaces and CJK characters: longer runs are broken here
MAX_LINES = 12  # of a text block (parties, notes); a table cell is one paragraph
MAX_CHARS = 2000


def fit(value: str, *, lines: bool = False) -> str:
    """Text from partners and people made safe to lay out: no word longer than LONGEST_WORD, bounded length, and
    in table cells one paragraph (a cell taller than a page cannot be drawn)."""
    value = value[:MAX_CHARS]
    kept = value.splitlines()[:MAX_LINES] if lines else [value]
    flat = [" ".join(line.split()) for line in kept]
    return "\n".join(re.sub(rf"\S{{{LONGEST_WORD}}}(?=\S)", lambda m: m.group() + " ", line) for line in flat)


def _text(value: str, style: ParagraphStyle, *, lines: bool = False) -> Paragraph:
    return Paragraph(escape(fit(value, lines=lines)).replace("\n", "<br/>"), style)


def _table(table: PdfTable) -> list[Flowable]:
    flow: list[Flowable] = [_text(table.title, _HEAD)] if table.title else []
    data = [[_text(c, _CELL) for c in table.columns]] + [[_text(c, _CELL) for c in row] for row in table.rows]
    width = (A4[0] - 36 * mm) / max(len(table.columns), 1)  # the columns share the page, whatever their text
    style = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecf0")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    style += [("ALIGN", (i, 1), (i, -1), "RIGHT") for i in table.numeric]
    flow.append(
        Table(data, colWidths=[width] * len(table.columns), style=TableStyle(style), repeatRows=1, hAlign="LEFT")
    )
    return flow


def render(doc: PdfDocument) -> bytes:
    """The document as PDF bytes (A4)."""
    buf = io.BytesIO()
    pdf = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"{doc.title} {doc.number}",
        author=doc.footer,
        subject=doc.meta.get("subject", doc.title),
        keywords=doc.meta.get("keywords", ""),
        invariant=1,
    )
    flow: list[Flowable] = [_text(f"{doc.title}  {doc.number}", _TITLE)]
    if doc.fields:
        rows = [[_text(label, _CELL), _text(value, _CELL)] for label, value in doc.fields]
        flow.append(Table(rows, colWidths=[45 * mm, None], hAlign="LEFT"))
    if doc.parties:
        cells = [
            [_text(label, _HEAD) for label, _ in doc.parties],
            [_text(text, _BODY, lines=True) for _, text in doc.parties],
        ]
        flow.append(Table(cells, hAlign="LEFT"))
    for table in doc.tables:
        flow += _table(table)
    if doc.notes:
        flow.append(Spacer(1, 4 * mm))
        flow += [_text(note, _BODY, lines=True) for note in doc.notes]

    def footer(canvas: object, page_doc: object) -> None:
        c = canvas  # reportlab's Canvas; typed loosely, ReportLab ships no type hints
        c.setFont(FONT, 7)  # type: ignore[attr-defined]
        c.drawString(18 * mm, 10 * mm, f"{doc.footer} · {doc.title} {doc.number} · {c.getPageNumber()}")  # type: ignore[attr-defined]

    pdf.build(flow, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


def checksum(data: bytes) -> str:
    """SHA-256 of a file's bytes, hex: what a stored document is known and compared by."""
    return hashlib.sha256(data).hexdigest()
