"""Shipping documents: packing list, commercial invoice and, for an export, customs declaration, made from the
order, packing and shipment data as PDFs (shared/pdf.py); each kept in versions, a new one only when the PDF
changed; listed per order and downloaded over HTTP."""

import asyncio
import logging
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response
from sqlmodel import col, select

from services.logistics import planning
from services.logistics.models import Consignment, Shipment, ShipmentLeg, ShippingDocument, ShippingDocumentPublic
from shared.contracts import DocumentIssued
from shared.ids import new_id
from shared.pdf import PdfDocument, PdfTable, checksum, render
from shared.service import RuntimeDep
from shared.unit_of_work import UnitOfWork

log = logging.getLogger("gendan.logistics.documents")
TITLES = {
    "packing_list": "Packing List 装箱单",
    "commercial_invoice": "Commercial Invoice 商业发票",
    "customs_declaration": "Customs Declaration 出口报关单",
}
SHIPPER = "Gendan Manufacturing Co., Ltd.\nShenzhen, China"


def kinds_for(country: str) -> list[str]:
    """The documents a shipment needs: a customs declaration only when it leaves the country."""
    kinds = ["packing_list", "commercial_invoice"]
    return kinds + ["customs_declaration"] if country != planning.HOME_COUNTRY else kinds


def describe(kind: str, shipment: Shipment, consignment: Consignment, legs: list[ShipmentLeg]) -> PdfDocument:
    """A shipping document as data: the same facts always give the same PDF."""
    products = {line["line_no"]: line for line in consignment.lines}
    carried = sorted(shipment.lines, key=lambda line: line["line_no"])
    fields = [
        ("Order", shipment.order_id),
        ("Shipment", shipment.id + (f" (reshipment of {shipment.reshipment_of})" if shipment.reshipment_of else "")),
        ("Planned", f"{shipment.planned_at:%Y-%m-%d}"),
        ("Mode / carrier", f"{shipment.mode} / {shipment.carrier}"),
        ("Tracking number", shipment.tracking_number),
        ("Incoterm", consignment.incoterm or "-"),
        ("Destination", consignment.country),
        ("Shipper 发货人", SHIPPER),
        ("Consignee 收货人", f"{consignment.customer}\n{consignment.delivery_address}\n{consignment.contact}"),
    ]
    tables = [_lines_table(kind, carried, products, consignment.currency)]
    if kind == "packing_list":
        tables.append(_packing_table(shipment))
    if len(legs) > 1 or kind == "customs_declaration":
        tables.append(_legs_table(legs))
    notes = ["Goods of Chinese origin. 原产地：中国。"] if kind != "packing_list" else []
    return PdfDocument(
        title=TITLES[kind],
        number=f"{shipment.id}",
        fields=fields,
        tables=tables,
        notes=notes,
        meta={"subject": kind, "keywords": f"{shipment.order_id} {shipment.id}"},
    )


def _lines_table(kind: str, carried: list[dict[str, int]], products: dict[int, dict], currency: str) -> PdfTable:
    if kind == "packing_list":
        rows = [[str(c["line_no"]), _product(products, c["line_no"]), str(c["quantity"])] for c in carried]
        return PdfTable(["Line", "Product", "Quantity"], rows, "Contents", numeric=[2])
    rows, total = [], Decimal(0)
    for c in carried:
        price = Decimal(str(products.get(c["line_no"], {}).get("unit_price", "0")))
        amount = price * c["quantity"]
        total += amount
        rows.append([str(c["line_no"]), _product(products, c["line_no"]), str(c["quantity"]), f"{price}", f"{amount}"])
    rows.append(["", "Total", "", "", f"{total} {currency}"])
    return PdfTable(["Line", "Product", "Quantity", "Unit price", "Amount"], rows, "Goods", numeric=[2, 3, 4])


def _product(products: dict[int, dict], line_no: int) -> str:
    line = products.get(line_no, {})
    return " ".join(p for p in (line.get("product", f"line {line_no}"), line.get("sku") or "") if p)


def _packing_table(shipment: Shipment) -> PdfTable:
    row = [
        str(shipment.packages),
        f"{shipment.weight_kg}",
        f"{shipment.net_weight_kg}" if shipment.net_weight_kg is not None else "-",
        f"{shipment.volume_m3}" if shipment.volume_m3 is not None else "-",
    ]
    return PdfTable(["Packages", "Gross kg", "Net kg", "Volume m3"], [row], "Packing", numeric=[0, 1, 2, 3])


def _legs_table(legs: list[ShipmentLeg]) -> PdfTable:
    rows = [[str(g.leg_no), g.mode, g.carrier, g.tracking_number, g.origin, g.destination] for g in legs]
    return PdfTable(["Leg", "Mode", "Carrier", "Tracking", "From", "To"], rows, "Route")


async def refresh(uow: UnitOfWork, shipment: Shipment, consignment: Consignment) -> list[ShippingDocument]:
    """Generate the shipment's documents; a kind whose PDF differs from its latest version gets a new version
    (announced), one whose PDF is the same keeps its version."""
    legs = await uow.all(select(ShipmentLeg).where(ShipmentLeg.shipment_id == shipment.id).order_by("leg_no"))
    made = []
    for kind in kinds_for(consignment.country):
        try:
            pdf = await asyncio.to_thread(render, describe(kind, shipment, consignment, legs))
        except Exception:  # a document that cannot be drawn must not stop the goods: logged, made again later
            log.exception("could not render the %s of shipment %s", kind, shipment.id)
            continue
        digest = checksum(pdf)
        query = select(ShippingDocument).where(
            ShippingDocument.shipment_id == shipment.id, ShippingDocument.kind == kind
        )
        latest = await uow.first(query.order_by(col(ShippingDocument.version).desc()))
        if latest is not None and latest.checksum == digest:
            continue
        document = ShippingDocument(
            id=new_id("DOC"),
            order_id=shipment.order_id,
            shipment_id=shipment.id,
            kind=kind,
            version=latest.version + 1 if latest else 1,
            checksum=digest,
            size=len(pdf),
            content=pdf,
            created_at=uow.clock.now(),
        )
        uow.session.add(document)
        issued = DocumentIssued(
            document_id=document.id,
            shipment_id=shipment.id,
            kind=kind,
            document_version=document.version,
            checksum=digest,
            filename=filename(document),
        )
        uow.emit(issued, order_id=shipment.order_id, correlation_id=consignment.correlation_id)
        made.append(document)
    return made


def filename(document: ShippingDocument | ShippingDocumentPublic) -> str:
    return f"{document.kind}-{document.shipment_id}-v{document.version}.pdf"


router = APIRouter(prefix="/documents", tags=["documents"])
DocumentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get("", response_model=list[ShippingDocumentPublic])
async def list_documents(
    order_id: Annotated[str, Query(min_length=1, max_length=64)],
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[ShippingDocument]:
    """Every version of every shipping document of an order, by shipment, kind and version (PDFs not included)."""
    query = (
        select(ShippingDocument)
        .where(ShippingDocument.order_id == order_id)
        .order_by(col(ShippingDocument.shipment_id), col(ShippingDocument.kind), col(ShippingDocument.version))
        .limit(limit)
    )
    async with runtime.sessions() as session:
        return list((await session.exec(query)).all())


@router.get("/{document_id}", response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
async def download_document(document_id: DocumentId, runtime: RuntimeDep) -> Response:
    """One version of a shipping document, as the PDF it was generated."""
    async with runtime.sessions() as session:
        document = await session.get(ShippingDocument, document_id)
    if document is None:
        raise HTTPException(404, f"no document {document_id}")
    disposition = f'attachment; filename="{filename(document)}"'
    headers = {"Content-Disposition": disposition, "X-Checksum-SHA256": document.checksum}
    return Response(document.content, media_type="application/pdf", headers=headers)
