"""Invoice and credit note numbers by the configured scheme, and their PDFs (shared/pdf.py), kept as issued."""

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from services.billing import domain
from services.billing.ledger import terms_of
from services.billing.models import Account, CreditNote, Invoice, InvoiceDocument, InvoiceSequence
from services.billing.settings import BillingSettings
from shared import pdf
from shared.unit_of_work import UnitOfWork

INVOICE, CREDIT_NOTE = "invoice", "credit_note"


async def next_number(uow: UnitOfWork, kind: str, scheme: str, *, order_id: str, part: str) -> str:
    """The next number of this kind; a scheme with {seq} draws the next of the year's gap-free sequence (its row
    stays locked until the document's transaction ends, and a rollback gives the number back)."""
    year, seq = uow.clock.now().year, 0
    if "{seq" in scheme:
        bump = (
            insert(InvoiceSequence)
            .values(kind=kind, year=year, last=1)
            .on_conflict_do_update(
                index_elements=[col(InvoiceSequence.kind), col(InvoiceSequence.year)],
                set_={"last": col(InvoiceSequence.last) + 1},
            )
            .returning(col(InvoiceSequence.last))
        )
        seq = (await uow.session.exec(bump)).scalar_one()
    return domain.document_number(scheme, order_id=order_id, part=part, year=year, seq=seq)


def _terms_text(account: Account) -> str:
    parts = []
    for i in terms_of(account).installments:
        hold = ", before the goods leave" if i.holds_shipment else ""
        parts.append(f"{i.percent} % on {i.trigger.value.replace('_', ' ')}, net {i.net_days} days{hold}")
    return "; ".join(parts)


def invoice_pdf(account: Account, invoice: Invoice, settings: BillingSettings) -> bytes:
    """The invoice as a PDF: its lines with the VAT they include, totals, terms and due date."""
    rows = [
        [str(r["line_no"]), r["product"], str(r["quantity"]), r["unit_price"], r["amount"], r["tax"]]
        for r in invoice.lines
    ]
    if not rows:  # a supplementary invoice: what a change added to the installment
        rows = [["", f"Installment {invoice.installment + 1} ({invoice.change_id or invoice.trigger})", "", "",
                 str(invoice.amount), str(invoice.tax_amount)]]  # fmt: skip
    net = invoice.amount - invoice.tax_amount
    doc = pdf.PdfDocument(
        title="Invoice",
        number=invoice.number,
        fields=[
            ("Order", account.order_id),
            ("Customer's order", account.external_ref or "-"),
            ("Issued", invoice.issued_at.date().isoformat()),
            ("Due", invoice.due_date.isoformat()),
            ("Currency", invoice.currency),
            ("Installment", f"{invoice.installment + 1}: {invoice.trigger.replace('_', ' ')}"),
            ("Shipment", invoice.shipment_id or "-"),
            ("Payment terms", _terms_text(account)),
        ],
        parties=[
            ("Seller", settings.seller),
            ("Bill to", f"{account.customer}\n{account.destination_country}"),
        ],
        tables=[
            pdf.PdfTable(
                ["Line", "Product", "Quantity", "Unit price", f"Amount ({invoice.currency})", "VAT included"],
                rows,
                numeric=(2, 3, 4, 5),
            ),
            pdf.PdfTable(
                ["", invoice.currency],
                [
                    ["Net", str(net)],
                    [f"VAT {invoice.tax_rate} %", str(invoice.tax_amount)],
                    ["Total due", str(invoice.amount)],
                ],
                numeric=(1,),
            ),
        ],
        notes=[f"Prices include VAT at {invoice.tax_rate} %. Please quote {invoice.number} with your payment."],
        meta={"subject": f"Invoice {invoice.number} for order {account.order_id}"},
    )
    return pdf.render(doc)


def credit_note_pdf(account: Account, note: CreditNote, invoice: Invoice) -> bytes:
    """The credit note as a PDF: what it takes off which invoice, and why."""
    tax = domain.tax_included(note.amount, invoice.tax_rate, domain.unit(note.currency))
    doc = pdf.PdfDocument(
        title="Credit note",
        number=note.number,
        fields=[
            ("Order", account.order_id),
            ("Invoice", note.invoice_number),
            ("Issued", note.issued_at.date().isoformat()),
            ("Currency", note.currency),
            ("Reason", note.reason),
        ],
        parties=[("Customer", account.customer or "-")],
        tables=[
            pdf.PdfTable(
                ["", note.currency],
                [["Credited", str(note.amount)], [f"VAT {invoice.tax_rate} % included", str(tax)]],
                numeric=(1,),
            )
        ],
        meta={"subject": f"Credit note {note.number} on invoice {note.invoice_number}"},
    )
    return pdf.render(doc)


def keep(uow: UnitOfWork, kind: str, number: str, order_id: str, data: bytes) -> str:
    """Store a document's PDF as issued; its checksum."""
    checksum = pdf.checksum(data)
    uow.session.add(
        InvoiceDocument(
            number=number, kind=kind, order_id=order_id, pdf=data, checksum=checksum, created_at=uow.clock.now()
        )
    )
    return checksum
