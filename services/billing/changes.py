"""Changes and cancellation: what was invoiced brought to an accepted change's new total, and a cancelled order
credited and invoiced no further."""

from decimal import Decimal

from sqlalchemy import func
from sqlmodel import select

from services.billing import documents, domain, settings
from services.billing.invoicing import open_invoice
from services.billing.ledger import (
    billed,
    locked_account,
    order_invoices,
    receivables_changed,
    refund_owed,
    release_if_paid,
    settle,
)
from services.billing.models import Account, CreditNote, Invoice
from shared.contracts import (
    REMEDIED,
    CreditNoteIssued,
    Event,
    OrderCancelled,
    OrderChangeAccepted,
    OrderRemedyRequested,
    PaymentTerms,
    Remedy,
)
from shared.errors import Invalid
from shared.exceptions import resolve_exception
from shared.fields import scrub
from shared.unit_of_work import UnitOfWork


async def on_order_change_accepted(event: Event[OrderChangeAccepted], uow: UnitOfWork) -> None:
    """Bring each installment invoiced so far to its amount on the new total: a supplementary invoice for what
    it went up by, credit notes for what it went down by (money paid beyond that is owed back). Installments not
    invoiced yet are invoiced on the new total when they fall due. A change applied before, or older than one
    applied, changes nothing; so does a change reaching a cancelled order."""
    change, account = event.data, await locked_account(event.order_id, uow)
    if change.order_version <= account.order_version or account.cancelled_at is not None:
        return
    account.order_version, account.total_amount = change.order_version, change.total_amount
    account.lines = [
        line.model_dump(mode="json", include={"line_no", "product", "quantity", "unit_price"}) for line in change.lines
    ]
    terms, invoices = PaymentTerms.model_validate(account.terms), await order_invoices(account.order_id, uow)
    reason = scrub(f"order changed to version {change.order_version} ({change.change_id})", 500)
    moved = False
    smallest = domain.unit(account.currency)
    for n, (installment, target) in enumerate(domain.installment_amounts(terms, change.total_amount, smallest)):
        if not (on_installment := [i for i in invoices if i.installment == n]):
            continue  # not due yet: invoiced on the new total when it is
        if installment.trigger in domain.PER_SHIPMENT and not _all_parts(account, on_installment):
            # invoiced shipment by shipment and not all shipped: later parts follow the new prices; only what
            # was invoiced beyond the new target is credited
            plan = domain.adjust(
                min(target, sum((billed(i).net for i in on_installment), Decimal(0))),
                [billed(i) for i in on_installment],
            )
        else:
            plan = domain.adjust(target, [billed(i) for i in on_installment])
        if plan.supplement > 0:
            await open_invoice(account, n, installment, plan.supplement, uow, change_id=change.change_id)
        for number, amount in plan.credits:
            credited = next(i for i in on_installment if i.number == number)
            await _credit(credited, amount, change.change_id, reason, account, uow)
            if owed := billed(credited).owed_back:
                await refund_owed(credited, owed, f"order changed down to {change.total_amount}", uow)
        moved = moved or plan.supplement > 0 or bool(plan.credits)
    if moved:
        receivables_changed(account, uow)
    await release_if_paid(account, uow)
    await settle(account, uow)


def _all_parts(account: Account, invoices: list[Invoice]) -> bool:
    """Every line of the order is invoiced by these per-shipment invoices (or the goods are all delivered)."""
    parts = domain.invoiced_quantities(i.lines for i in invoices if not i.change_id)
    lines = [domain.Priced(int(x["line_no"]), "", int(x["quantity"]), Decimal(0)) for x in account.lines]
    return account.delivered_at is not None or domain.fully_invoiced(lines, parts)


async def on_order_cancelled(event: Event[OrderCancelled], uow: UnitOfWork) -> None:
    """Ask for nothing more: the unpaid remainder of every invoice is credited and no further installment is
    invoiced; money already paid is owed back (billing.refund_owed). Cancelling again changes nothing."""
    cancelled, account = event.data, await locked_account(event.order_id, uow)
    if account.cancelled_at is not None:
        return
    account.cancelled_at = cancelled.cancelled_at
    invoices = {i.number: i for i in await order_invoices(account.order_id, uow)}
    plan = domain.cancel([billed(i) for i in invoices.values()])
    reason = scrub(f"order cancelled: {cancelled.reason}", 500)
    for number, amount in plan.credits:
        await _credit(invoices[number], amount, cancelled.change_id, reason, account, uow)
    for number, amount in plan.refunds:
        await refund_owed(invoices[number], amount, f"order {account.order_id} is cancelled", uow)
    if plan.credits:
        receivables_changed(account, uow)
    await settle(account, uow)


async def _credit(
    invoice: Invoice, amount: Decimal, change_id: str, reason: str, account: Account, uow: UnitOfWork
) -> CreditNote:
    """Issue a credit note taking `amount` off an invoice; one no longer owing anything is no longer overdue."""
    count = select(func.count()).select_from(CreditNote).where(CreditNote.order_id == account.order_id)
    part = str((await uow.session.exec(count)).one() + 1)
    scheme = settings.current().credit_note_number_scheme
    number = await documents.next_number(uow, documents.CREDIT_NOTE, scheme, order_id=account.order_id, part=part)
    note = CreditNote(
        id=number,
        number=number,
        order_id=account.order_id,
        invoice_number=invoice.number,
        change_id=change_id,
        amount=amount,
        currency=invoice.currency,
        reason=reason,
        issued_at=uow.clock.now(),
    )
    uow.session.add(note)
    invoice.credited_amount += amount
    invoice.status = domain.invoice_status(invoice.amount, invoice.paid_amount, invoice.credited_amount)
    pdf = documents.credit_note_pdf(account, note, invoice)
    checksum = documents.keep(uow, documents.CREDIT_NOTE, number, account.order_id, pdf)
    issued = CreditNoteIssued(
        credit_note_id=note.id,
        credit_note_number=number,
        invoice_number=invoice.number,
        amount=amount,
        currency=invoice.currency,
        reason=reason,
        pdf_checksum=checksum,
    )
    uow.emit(issued, order_id=account.order_id, correlation_id=account.correlation_id)
    if invoice.status not in domain.UNPAID:
        await resolve_exception(
            uow, kind_name="billing.payment_overdue", subject_type="invoice", subject_id=invoice.id, reason="credited"
        )
    return note


async def on_remedy_requested(event: Event[OrderRemedyRequested], uow: UnitOfWork) -> None:
    """A complaint put right with money: a credit note for the agreed amount against the invoice the complaint
    names (else the order's latest), what was already paid beyond it owed back; `billing.remedy_done` names it."""
    asked = event.data
    if asked.service != "billing" or asked.remedy not in (Remedy.CREDIT_NOTE, Remedy.COMPENSATION):
        return
    if asked.amount is None or asked.amount <= 0:
        raise Invalid(f"a {asked.remedy.value} for complaint {asked.complaint_id} needs an amount")
    account = await locked_account(event.order_id, uow)
    invoices = await order_invoices(account.order_id, uow)
    if any(note.change_id == asked.complaint_id for note in await _credit_notes(account.order_id, uow)):
        return  # asked again: credited once
    invoice = next((i for i in invoices if i.number == asked.invoice_number), invoices[-1] if invoices else None)
    if invoice is None:
        raise Invalid(f"order {account.order_id} has no invoice to credit for complaint {asked.complaint_id}")
    amount = min(asked.amount, invoice.amount - invoice.credited_amount)
    if amount <= 0:
        raise Invalid(f"invoice {invoice.number} is credited in full already")
    reason = scrub(f"{asked.remedy.value} for complaint {asked.complaint_id} ({asked.category}): {asked.note}", 500)
    note = await _credit(invoice, amount, asked.complaint_id, reason, account, uow)
    if owed := billed(invoice).owed_back:
        await refund_owed(invoice, owed, f"complaint {asked.complaint_id} credited a paid invoice", uow)
    receivables_changed(account, uow)
    done = REMEDIED["billing"](complaint_id=asked.complaint_id, remedy=asked.remedy, reference=note.number)
    uow.emit(done, order_id=account.order_id, cause=event.envelope)


async def _credit_notes(order_id: str, uow: UnitOfWork) -> list[CreditNote]:
    return await uow.all(select(CreditNote).where(CreditNote.order_id == order_id))
