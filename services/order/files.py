"""The order's file: every document of an order, whoever made or received it, and what its checklist misses.

Documents come in three ways. Most are facts other services already publish: a work order is the
production order, a planned shipment's tracking number its waybill (or bill of lading by sea), a
delivery its proof, an issued invoice the invoice; logistics announces the PDFs it renders
(`logistics.document_issued`). Each such event files a reference (kind, reference, revision, source,
where the source serves it). The order service renders its own order confirmation, one revision per
order version. People upload the rest (the customer's signed confirmation, scans, certificates) into
the object store, content-addressed and checked on the way out.

The checklist says which kinds an order of its type must hold by which stage; once the order has
moved past that stage without one, `order.document_missing` is raised, and filing it resolves it.
"""

import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from services.order import board
from services.order.domain import STAGES, OrderStatus
from services.order.models import ChecklistItem, DocumentPublic, Order, OrderDocument, OrderFile
from shared.contracts import (
    CreditNoteIssued,
    DocumentIssued,
    Event,
    EventData,
    InspectionRecorded,
    InvoiceIssued,
    OrderTerms,
    ProductionOrderCreated,
    ShipmentDelivered,
    ShipmentPlanned,
)
from shared.objectstore import Files
from shared.pdf import PdfDocument, PdfTable, render
from shared.unit_of_work import UnitOfWork

ORDER_CONFIRMATION = "order_confirmation"
PDF = "application/pdf"
UPLOAD = "upload"
UPLOADABLE = (
    "customer_confirmation",
    "inspection_report",
    "certificate",
    "bill_of_lading",
    "waybill",
    "proof_of_delivery",
    "customs_declaration",
    "warehouse_receipt",
    "warehouse_issue",
    "other",
)


def order_type(terms: OrderTerms) -> set[str]:
    """What decides an order's checklist and tasks: domestic or export, make and/or buy, inspected or not."""
    kinds = {"export" if terms.export else "domestic"}
    kinds |= {line.make_or_buy for line in terms.lines}
    if terms.requirements.inspection != "none":
        kinds.add("inspection")
    return kinds


@dataclass(frozen=True)
class Requirement:
    """A document (any of `kinds`) an order of type `applies_to` must hold once it is past stage `by`."""

    kinds: tuple[str, ...]
    by: OrderStatus
    applies_to: str = "all"

    @property
    def name(self) -> str:
        return self.kinds[0]


CHECKLIST = (
    Requirement((ORDER_CONFIRMATION,), OrderStatus.ACCEPTED),
    Requirement(("customer_confirmation",), OrderStatus.ACCEPTED, "export"),
    Requirement(("production_order",), OrderStatus.IN_PRODUCTION, "make"),
    Requirement(("purchase_order",), OrderStatus.IN_PRODUCTION, "buy"),
    Requirement(("inspection_report",), OrderStatus.PRODUCED, "inspection"),
    Requirement(("packing_list",), OrderStatus.SHIPPING, "export"),
    Requirement(("commercial_invoice",), OrderStatus.SHIPPING, "export"),
    Requirement(("customs_declaration",), OrderStatus.SHIPPING, "export"),
    Requirement(("waybill", "bill_of_lading"), OrderStatus.SHIPPING),
    Requirement(("proof_of_delivery",), OrderStatus.DELIVERED),
    Requirement(("invoice",), OrderStatus.DELIVERED),
)


def checklist(types: set[str], status: str, present: Iterable[str]) -> list[ChecklistItem]:
    """The order's checklist: each required kind, whether it is filed, and whether it is overdue (the order
    moved past the stage it was needed by)."""
    have = set(present)
    reached = STAGES.index(OrderStatus(status)) if OrderStatus(status) in STAGES else -1
    items = []
    for need in CHECKLIST:
        if need.applies_to != "all" and need.applies_to not in types:
            continue
        filed = bool(have & set(need.kinds))
        past = reached > STAGES.index(need.by)
        items.append(
            ChecklistItem(kind=need.name, required_by=need.by.value, present=filed, overdue=past and not filed)
        )
    return items


# --- filing -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    kind: str
    ref: str
    name: str
    href: str | None
    revision: int = 1
    checksum: str | None = None
    media_type: str | None = None


def reference_of(event: Event[EventData]) -> Reference | None:
    """The document an event of another service is, if any."""
    data = event.data
    match data:
        case ProductionOrderCreated(kind="make"):
            return Reference("production_order", data.work_order_id, f"Work order {data.work_order_id}", None)
        case ProductionOrderCreated():
            return Reference("purchase_order", data.work_order_id, f"Purchase order {data.work_order_id}", None)
        case ShipmentPlanned():
            kind = "bill_of_lading" if data.mode == "sea" else "waybill"
            return Reference(kind, data.tracking_number, f"{data.carrier} {data.tracking_number}", None)
        case ShipmentDelivered():
            return Reference("proof_of_delivery", data.shipment_id, f"Delivery of {data.shipment_id}", None)
        case InvoiceIssued():
            return Reference("invoice", data.invoice_number, f"Invoice {data.invoice_number}", None)
        case CreditNoteIssued():
            return Reference("credit_note", data.credit_note_number, f"Credit note {data.credit_note_number}", None)
        case InspectionRecorded(stage="final"):  # production's final inspection is the inspection report
            verdict = "passed" if data.passed else "failed"
            name = f"Final inspection of {data.work_order_id}: {verdict}"
            return Reference("inspection_report", data.inspection_id, name, None)
        case DocumentIssued():  # logistics' shipping documents, as PDFs it serves
            href = f"/documents/{data.document_id}"
            return Reference(
                data.kind, data.shipment_id, data.filename, href, data.document_version, data.checksum, PDF
            )
    return None


async def file_reference(uow: UnitOfWork, order: Order, event: Event[EventData]) -> None:
    """File the document an event is (once, however often the event comes)."""
    found = reference_of(event)
    if found is None:
        return
    row = {
        "order_id": order.id,
        "kind": found.kind,
        "ref": found.ref[:200],
        "revision": found.revision,
        "name": found.name[:500],
        "source": event.source,
        "href": found.href,
        "checksum": found.checksum,
        "media_type": found.media_type,
        "filed_at": event.occurred_at,
        "filed_by": event.source,
        "event_id": str(event.envelope.id),
    }
    await uow.session.exec(insert(OrderDocument).values(row).on_conflict_do_nothing())


def file_confirmation(uow: UnitOfWork, order: Order) -> None:
    """Our order confirmation, rendered from the order as it stands; one revision per order version."""
    uow.session.add(
        OrderDocument(
            order_id=order.id,
            kind=ORDER_CONFIRMATION,
            ref=order.id,
            revision=order.version,
            name=f"Order confirmation {order.id} v{order.version}",
            source="order",
            href=f"/orders/{order.id}/confirmation.pdf",
            media_type="application/pdf",
            filed_at=uow.clock.now(),
            filed_by="order",
        )
    )


async def upload(
    uow: UnitOfWork, files: Files, order: Order, *, kind: str, name: str, data: bytes, media_type: str, by: str
) -> OrderDocument:
    """A person files a document: stored once by its checksum; the same kind and name again is a new revision."""
    stored = await files.put(f"orders/{order.id}", data)
    query = select(OrderDocument).where(
        OrderDocument.order_id == order.id, OrderDocument.kind == kind, OrderDocument.ref == name
    )
    earlier = await uow.all(query)
    same = next((d for d in earlier if d.checksum == stored.checksum), None)
    if same is not None:
        return same  # the same file again
    document = OrderDocument(
        order_id=order.id,
        kind=kind,
        ref=name,
        revision=max((d.revision for d in earlier), default=0) + 1,
        name=name,
        source=UPLOAD,
        storage_key=stored.key,
        checksum=stored.checksum,
        media_type=media_type,
        size=stored.size,
        filed_at=uow.clock.now(),
        filed_by=by,
    )
    uow.session.add(document)
    await uow.session.flush()
    await check(uow, order)
    return document


async def documents(uow: UnitOfWork, order_id: str) -> list[OrderDocument]:
    query = (
        select(OrderDocument)
        .where(OrderDocument.order_id == order_id)
        .order_by(col(OrderDocument.filed_at), col(OrderDocument.id))
    )
    return await uow.all(query)


async def check(uow: UnitOfWork, order: Order) -> list[ChecklistItem]:
    """Raise `order.document_missing` for each overdue item; resolve the ones now filed.

    Reads the terms by a query of its own: the message path loads orders without them."""
    stored = (await uow.session.exec(select(Order.terms).where(Order.id == order.id))).one()
    terms = OrderTerms.model_validate(stored)
    kinds = (await uow.session.exec(select(OrderDocument.kind).where(OrderDocument.order_id == order.id))).all()
    items = checklist(order_type(terms), order.status, kinds)
    for item in items:
        subject = {"subject_type": "document", "subject_id": f"{order.id}:{item.kind}"}
        if item.overdue:
            await board.raise_own(
                uow,
                order_id=order.id,
                kind_name="order.document_missing",
                title=f"Order {order.external_ref} of {order.customer} is {order.status} without its"
                f" {item.kind.replace('_', ' ')} (needed by {item.required_by})",
                facts={"document": item.kind, "required_by": item.required_by, "stage": order.status},
                **subject,
            )
        elif item.present:
            await board.resolve_own(
                uow, order_id=order.id, kind_name="order.document_missing", reason="filed", **subject
            )
    return items


def public(document: OrderDocument) -> DocumentPublic:
    held = document.storage_key is not None or document.kind == ORDER_CONFIRMATION or document.href is not None
    return DocumentPublic(
        **document.model_dump(exclude={"id", "order_id", "storage_key", "event_id"}),
        download=f"/orders/{document.order_id}/documents/{document.id}/file" if held else None,
    )


def the_file(order: Order, found: list[OrderDocument]) -> OrderFile:
    terms = OrderTerms.model_validate(order.terms)
    items = checklist(order_type(terms), order.status, (d.kind for d in found))
    return OrderFile(
        order_id=order.id,
        order_type=sorted(order_type(terms)),
        complete=all(i.present for i in items),
        documents=[public(d) for d in found],
        checklist=items,
    )


# --- the files themselves -----------------------------------------------------------------------------


def confirmation_pdf(order: Order) -> bytes:
    """The order confirmation as PDF: parties, terms and lines with their confirmed dates."""
    terms = OrderTerms.model_validate(order.terms)
    confirmed = {c["line_no"]: c["confirmed_date"] for c in order.terms.get("confirmed", [])}
    rows = [
        [
            str(line.line_no),
            line.sku or "",
            line.product,
            f"{line.quantity} {line.unit}",
            f"{line.unit_price:,.2f}",
            f"{line.unit_price * line.quantity:,.2f}",
            str(confirmed.get(line.line_no) or line.requested_date or terms.delivery_date),
        ]
        for line in terms.lines
    ]
    installments = "; ".join(
        f"{i.percent}% on {i.trigger.value.replace('_', ' ')}" + (f", net {i.net_days} days" if i.net_days else "")
        for i in terms.payment_terms.installments
    )
    return render(
        PdfDocument(
            title="Order confirmation 订单确认书",
            number=f"{order.id} v{order.version}",
            fields=[
                ("Customer order", terms.external_ref),
                ("Currency", terms.currency),
                ("Delivery date", str(order.confirmed_date or terms.delivery_date)),
                ("Incoterm", terms.incoterm or "-"),
                ("Payment terms", installments),
                ("Total", f"{sum((Decimal(r[5].replace(',', '')) for r in rows), Decimal(0)):,.2f} {terms.currency}"),
            ],
            parties=[("Customer", f"{terms.customer}\n{terms.delivery_address}\n{terms.contact}")],
            tables=[
                PdfTable(
                    ["Line", "SKU", "Product", "Quantity", "Unit price", "Amount", "Confirmed date"],
                    rows,
                    numeric=[3, 4, 5],
                )
            ],
            notes=[
                n for n in (terms.requirements.packaging, terms.requirements.labelling, terms.requirements.notes) if n
            ],
        )
    )


def archive(order: Order, found: list[OrderDocument], contents: dict[int, bytes]) -> bytes:
    """The whole file as one zip: every file this service holds, and a manifest of every document."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        manifest = []
        for document in found:
            entry = public(document).model_dump(mode="json")
            if document.id in contents:
                suffix = ".pdf" if (document.media_type or "").endswith("pdf") else ""
                entry["file"] = f"{document.kind}/{document.id}-{_safe(document.ref)}-r{document.revision}{suffix}"
                zf.writestr(entry["file"], contents[document.id])
            manifest.append(entry)
        zf.writestr("manifest.json", json.dumps({"order_id": order.id, "documents": manifest}, indent=2))
    return buf.getvalue()


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80]
