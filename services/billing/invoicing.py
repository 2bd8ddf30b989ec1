"""Issuing invoices: an installment when its trigger happens, or a shipment's part of it; numbered, taxed, with
lines and a PDF; paid at once from payments that came first and from the customer's credit."""

from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import select

from services.billing import documents, domain, ledger, payments, settings
from services.billing.ledger import billed
from services.billing.models import Account, Invoice
from shared.contracts import Installment, InstallmentTrigger, InvoiceIssued
from shared.unit_of_work import UnitOfWork


async def issue(account: Account, trigger: InstallmentTrigger, uow: UnitOfWork) -> bool:
    """Invoice the installments `trigger` makes due in full, on the order's current total; none once it is
    cancelled. True when something was invoiced."""
    if account.cancelled_at is not None:
        return False
    issued = {i.installment for i in await ledger.order_invoices(account.order_id, uow)}
    smallest = domain.unit(account.currency)
    due = [
        (n, i, a)
        for n, (i, a) in enumerate(domain.installment_amounts(ledger.terms_of(account), account.total_amount, smallest))
        if i.trigger == trigger and n not in issued
    ]
    everything = {line.line_no: line.quantity for line in ledger.priced(account)}
    for n, installment, amount in due:
        await open_invoice(account, n, installment, amount, uow, quantities=everything)
    return bool(due)


async def issue_parts(
    account: Account,
    trigger: InstallmentTrigger,
    shipment_id: str,
    carried: Mapping[int, int],
    uow: UnitOfWork,
    *,
    last: bool,
) -> bool:
    """Invoice a shipment's part of each installment `trigger` makes due: its percent of what the shipment carries
    (never a line past its ordered quantity); the `last` part (or one carrying the rest, or a shipment that says
    nothing of its lines) takes the installment's remainder. A shipment is invoiced once. True when something was."""
    if account.cancelled_at is not None:
        return False
    lines, smallest = ledger.priced(account), domain.unit(account.currency)
    invoices = await ledger.order_invoices(account.order_id, uow)
    done = ledger.complete(account, invoices)
    terms = ledger.terms_of(account)
    issued = False
    for n, (installment, target) in enumerate(domain.installment_amounts(terms, account.total_amount, smallest)):
        mine = [i for i in invoices if i.installment == n]
        if installment.trigger != trigger or n in done or any(i.shipment_id == shipment_id for i in mine):
            continue
        invoiced = domain.invoiced_quantities(i.lines for i in mine if not i.change_id)
        part = domain.unbilled(lines, carried, invoiced) if carried else {}
        if not carried:  # the shipment says nothing of its lines: it carries the rest
            part = {line.line_no: line.quantity - invoiced.get(line.line_no, 0) for line in lines}
            part = {k: q for k, q in part.items() if q > 0}
        after = {k: invoiced.get(k, 0) + part.get(k, 0) for k in {*invoiced, *part}}
        is_last = last or not carried or domain.fully_invoiced(lines, after)
        so_far = sum((billed(i).net for i in mine), Decimal(0))
        amount = domain.part_amount(
            target, so_far, domain.value(lines, part), installment.percent, smallest, last=is_last
        )
        if amount <= 0 and (mine or not is_last):
            continue
        await open_invoice(account, n, installment, amount, uow, shipment_id=shipment_id, quantities=part)
        issued = True
    return issued


async def open_invoice(
    account: Account,
    n: int,
    installment: Installment,
    amount: Decimal,
    uow: UnitOfWork,
    *,
    change_id: str = "",
    shipment_id: str = "",
    quantities: Mapping[int, int] | None = None,
) -> Invoice:
    """Issue one invoice of installment `n` (due by its net days from today) with its PDF, and pay it from any
    payment that named it before it existed and from the customer's credit."""
    config = settings.current()
    count = (
        select(func.count()).select_from(Invoice).where(Invoice.order_id == account.order_id, Invoice.installment == n)
    )
    part = domain.part_label(n, (await uow.session.exec(count)).one() + 1)
    number = await documents.next_number(
        uow, documents.INVOICE, config.invoice_number_scheme, order_id=account.order_id, part=part
    )
    rate, smallest = config.tax_rate(account.destination_country).quantize(domain.CENT), domain.unit(account.currency)
    invoice = Invoice(
        id=number,
        number=number,
        order_id=account.order_id,
        installment=n,
        change_id=change_id,
        shipment_id=shipment_id,
        trigger=installment.trigger,
        amount=amount,
        credited_amount=Decimal(0),
        paid_amount=Decimal(0),
        currency=account.currency,
        issued_at=uow.clock.now(),
        due_date=domain.due_date(uow.clock.now().date(), installment),
        status=domain.invoice_status(amount, Decimal(0)),
        lines=domain.invoice_lines(ledger.priced(account), quantities or {}, amount, rate, smallest),
        tax_rate=rate,
        tax_amount=domain.tax_included(amount, rate, smallest),
    )
    uow.session.add(invoice)
    checksum = documents.keep(
        uow, documents.INVOICE, number, account.order_id, documents.invoice_pdf(account, invoice, config)
    )
    event = InvoiceIssued(
        invoice_id=invoice.id,
        invoice_number=number,
        amount=amount,
        currency=account.currency,
        due_date=invoice.due_date,
        trigger=installment.trigger,
        customer=account.customer,
        shipment_id=shipment_id,
        tax_rate=rate,
        tax_amount=invoice.tax_amount,
        pdf_checksum=checksum,
    )
    uow.emit(event, order_id=account.order_id, correlation_id=account.correlation_id)
    await payments.apply_waiting(invoice, account, uow)
    return invoice
