"""Business documents render as real PDFs whose text a reader finds, Chinese included, byte-stable."""

import io

import pypdf
import pytest

from shared.pdf import PdfDocument, PdfTable, checksum, render

pytestmark = pytest.mark.unit

PACKING_LIST = PdfDocument(
    title="Packing list 装箱单",
    number="PL-SO1-1",
    fields=[("Order", "SO1"), ("Shipment", "SH1")],
    parties=[("Shipper", "Gendan Works\nShenzhen"), ("Consignee", "ACME Industrial\n88 Harbour Road")],
    tables=[PdfTable(["Line", "Product", "Qty"], [["1", "齿轮箱 GX-200", "120"]], title="Goods", numeric=[2])],
    notes=["Export carton, 10 per carton."],
)


def text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_a_document_renders_as_a_pdf_with_its_text() -> None:
    data = render(PACKING_LIST)
    assert data.startswith(b"%PDF-")
    found = text(data)
    for expected in ("装箱单", "PL-SO1-1", "齿轮箱 GX-200", "ACME Industrial", "Export carton", "120"):
        assert expected in found


def test_the_same_document_gives_the_same_bytes_and_a_change_changes_them() -> None:
    assert checksum(render(PACKING_LIST)) == checksum(render(PACKING_LIST))
    changed = PdfDocument(title=PACKING_LIST.title, number=PACKING_LIST.number, fields=[("Order", "SO2")])
    assert checksum(render(changed)) != checksum(render(PACKING_LIST))


def test_long_tables_flow_onto_more_pages() -> None:
    rows = [[str(n), f"part {n}", "1"] for n in range(1, 200)]
    data = render(PdfDocument(title="List", number="X", tables=[PdfTable(["Line", "Product", "Qty"], rows)]))
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) > 1
    assert "part 199" in text(data)


def test_careless_text_still_lays_out() -> None:
    """Partners' text: a 300-character word, a cell of 500 lines, a party of 50 lines, a huge note."""
    word = "X" * 300
    doc = PdfDocument(
        title="Invoice",
        number="INV-1",
        fields=[("Customer's order", word)],
        parties=[("Bill to", "\n".join(f"line {n}" for n in range(50)))],
        tables=[PdfTable(["Line", "Product", "Qty"], [["1", "\n".join(["ab"] * 500), word]])],
        notes=["n" * 50_000],
    )
    found = text(render(doc)).replace(" ", "").replace("\n", "")
    assert "X" * 48 in found and "line11" in found and "line12" not in found
