"""Billing HTTP API: payment-term presets; the invoices (with PDFs), credit notes and payments of an order; matching
a payment by hand; releasing a held order; a customer's receivables and credit; aging, DSO and reminders."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Self

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import func
from sqlmodel import col, select

from services.billing import domain, ledger, payments, settings
from services.billing.models import (
    Account,
    AgingPublic,
    AgingRow,
    CreditNote,
    CreditNotePublic,
    CustomerCredit,
    Invoice,
    InvoiceDocument,
    InvoicePublic,
    OrderInvoicesPublic,
    Payment,
    PaymentPublic,
    ReceivablesPublic,
    Reminder,
    ReminderPublic,
    TermsPreset,
)
from shared import auth
from shared.auth import AccessRole
from shared.contracts import PAYMENT_TERMS_DESCRIPTIONS, PAYMENT_TERMS_PRESETS
from shared.errors import Invalid
from shared.fields import Ref
from shared.http import Actor
from shared.service import RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter(tags=["receivables"])


OrderId = Annotated[str, Query(max_length=64)]


@router.get("/invoices", response_model=list[InvoicePublic])
async def list_invoices(order_id: OrderId, runtime: RuntimeDep) -> list[Invoice]:
    """The invoices of one customer order, in installment order."""
    query = select(Invoice).where(Invoice.order_id == order_id).order_by(col(Invoice.installment))
    async with runtime.sessions() as session:
        return list((await session.exec(query)).all())


@router.get("/orders/{order_id}/invoices", response_model=OrderInvoicesPublic)
async def order_invoices(order_id: Annotated[str, Path(max_length=64)], runtime: RuntimeDep) -> OrderInvoicesPublic:
    """One order's invoices (with what credit notes took off each and what was paid) and its credit notes."""
    async with runtime.sessions() as session:
        account = await session.get(Account, order_id)
        if account is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"billing knows no order {order_id}")
        invoices = (await session.exec(select(Invoice).where(Invoice.order_id == order_id))).all()
        notes = (await session.exec(select(CreditNote).where(CreditNote.order_id == order_id))).all()
    invoices = sorted(invoices, key=lambda i: (i.installment, i.issued_at, i.number))
    return OrderInvoicesPublic(
        order_id=order_id,
        currency=account.currency,
        total_amount=account.total_amount,
        invoiced=sum((i.amount for i in invoices), Decimal(0)),
        credited=sum((n.amount for n in notes), Decimal(0)),
        paid=sum((i.paid_amount for i in invoices), Decimal(0)),
        cancelled=account.cancelled_at is not None,
        invoices=[InvoicePublic.model_validate(i) for i in invoices],
        credit_notes=[CreditNotePublic.model_validate(n) for n in sorted(notes, key=lambda n: (n.issued_at, n.id))],
    )


@router.get("/customers/{customer}/receivables", response_model=list[ReceivablesPublic])
async def customer_receivables(
    customer: Annotated[str, Path(max_length=200)], runtime: RuntimeDep
) -> list[ReceivablesPublic]:
    """A customer's open and overdue receivables now, one entry per currency it has orders in (none: unknown)."""
    currencies = select(Account.currency).where(Account.customer == customer).distinct()
    owing = (
        select(Invoice)
        .join(Account, col(Account.order_id) == col(Invoice.order_id))
        .where(Account.customer == customer, col(Invoice.status).in_(domain.UNPAID))
    )
    async with runtime.sessions() as session:
        known = (await session.exec(currencies)).all()
        invoices = (await session.exec(owing)).all()
    by_currency: dict[str, list[tuple[domain.Billed, date]]] = defaultdict(list)
    for invoice in invoices:
        by_currency[invoice.currency].append((ledger.billed(invoice), invoice.due_date))
    today = runtime.clock.now().date()
    answer = []
    for currency in sorted(known):
        open_amount, overdue = domain.receivables(by_currency[currency], today)
        answer.append(
            ReceivablesPublic(
                customer=customer,
                currency=currency,
                open_amount=open_amount,
                overdue_amount=overdue,
                open_invoices=len(by_currency[currency]),
            )
        )
    return answer


@router.get("/payments", response_model=list[PaymentPublic])
async def list_payments(order_id: OrderId, runtime: RuntimeDep) -> list[Payment]:
    """The payments matched to one customer order's invoices, in the order they were received."""
    query = select(Payment).where(Payment.order_id == order_id).order_by(col(Payment.received_at))
    async with runtime.sessions() as session:
        return list((await session.exec(query)).all())


class Application(BaseModel):
    """Where a person applies a kept payment: one invoice, several (oldest first), or an order's open invoices.
    What is left over is kept as the customer's credit."""

    invoice_number: Ref | None = None
    invoice_numbers: Annotated[list[Ref], Field(max_length=20)] = Field(default_factory=list)
    order_id: Ref | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if sum(bool(x) for x in (self.invoice_number, self.invoice_numbers, self.order_id)) != 1:
            raise ValueError("name exactly one of invoice_number, invoice_numbers or order_id")
        return self

    @property
    def numbers(self) -> list[str]:
        return [self.invoice_number] if self.invoice_number else list(dict.fromkeys(self.invoice_numbers))


@router.get("/payments/unapplied", response_model=list[PaymentPublic])
async def list_unapplied(runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[Payment]:
    """Unapplied cash: payments matching no invoice, or in another currency, oldest first."""
    query = (
        select(Payment)
        .where(Payment.status == domain.PaymentStatus.UNAPPLIED)
        .order_by(col(Payment.recorded_at))
        .limit(limit)
    )
    async with runtime.sessions() as session:
        return list((await session.exec(query)).all())


@router.post(
    "/payments/{payment_id}/apply",
    response_model=PaymentPublic,
    dependencies=[Depends(auth.allow(AccessRole.FINANCE))],
)
async def apply_payment(
    payment_id: Annotated[str, Path(max_length=100)], application: Application, actor: Actor, runtime: RuntimeDep
) -> Payment:
    """Apply an unapplied payment where a person found it belongs; the order moves on from there (the shipment is
    released, the order settles)."""
    async with runtime.units() as uow:
        payment = await uow.get(Payment, payment_id, lock=True)
        if payment is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no payment {payment_id}")
        if payment.status == domain.PaymentStatus.APPLIED:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"payment {payment_id} is applied to {payment.invoice_number}"
            )
        if application.order_id:
            account = await uow.get(Account, application.order_id, lock=True)
            if account is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"billing knows no order {application.order_id}")
            if account.currency != payment.currency:
                raise HTTPException(
                    status.HTTP_409_CONFLICT, f"payment in {payment.currency}, order in {account.currency}"
                )
            await payments.apply_to_order(payment, account, uow, by=actor)
            return payment
        targets = await _targets(application.numbers, payment, uow)
        try:
            await payments.apply_payment_to(payment, targets, uow, by=actor, account=targets[0][1])
        except Invalid as error:
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    return payment


async def _targets(numbers: list[str], payment: Payment, uow: UnitOfWork) -> list[tuple[Invoice, Account]]:
    """The invoices named, each with its order's account locked (in one order of locking: by order id)."""
    found = {i.number: i for i in await uow.all(select(Invoice).where(col(Invoice.number).in_(numbers)))}
    if missing := [n for n in numbers if n not in found]:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no invoice {', '.join(missing)}")
    if other := [n for n in numbers if found[n].currency != payment.currency]:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"payment in {payment.currency}, invoice {', '.join(other)} in another currency"
        )
    accounts = {}
    for order_id in sorted({i.order_id for i in found.values()}):
        accounts[order_id] = await uow.require(Account, order_id, why="invoice without account", lock=True)
    for invoice in found.values():
        await uow.session.refresh(invoice)
    return [(found[n], accounts[found[n].order_id]) for n in numbers]


@router.post("/orders/{order_id}/release", dependencies=[Depends(auth.allow(AccessRole.FINANCE))])
async def release_shipment(
    order_id: Annotated[str, Path(max_length=64)], actor: Actor, runtime: RuntimeDep
) -> dict[str, str]:
    """A person lets a held order's shipments leave before it is paid (e.g. a guarantee was agreed)."""
    async with runtime.units() as uow:
        account = await uow.get(Account, order_id, lock=True)
        if account is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"billing knows no order {order_id}")
        if account.hold != ledger.HELD:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"order {order_id} is not held (hold: {account.hold or 'none'})"
            )
        ledger.release(account, uow, by=actor)
    return {"order_id": order_id, "hold": ledger.RELEASED, "by": actor}


# --- presets, documents --------------------------------------------------------------------------------


@router.get("/payment-terms", response_model=list[TermsPreset])
async def list_payment_terms() -> list[TermsPreset]:
    """The named payment-terms presets an order may use as they are."""
    return [
        TermsPreset(
            name=name,
            description=PAYMENT_TERMS_DESCRIPTIONS[name],
            holds_shipment=terms.holds_shipment,
            terms=terms.model_dump(mode="json"),
        )
        for name, terms in PAYMENT_TERMS_PRESETS.items()
    ]


async def _pdf(number: str, kind: str, runtime: RuntimeDep) -> Response:
    async with runtime.sessions() as session:
        doc = await session.get(InvoiceDocument, number)
    if doc is None or doc.kind != kind:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {kind.replace('_', ' ')} {number}")
    headers = {"ETag": f'"{doc.checksum}"', "Content-Disposition": f'inline; filename="{number}.pdf"'}
    return Response(doc.pdf, media_type="application/pdf", headers=headers)


@router.get("/invoices/{number}/pdf", response_class=Response)
async def invoice_pdf(number: Annotated[str, Path(max_length=64)], runtime: RuntimeDep) -> Response:
    """An invoice as issued, as PDF."""
    return await _pdf(number, "invoice", runtime)


@router.get("/credit-notes/{number}/pdf", response_class=Response)
async def credit_note_pdf(number: Annotated[str, Path(max_length=64)], runtime: RuntimeDep) -> Response:
    """A credit note as issued, as PDF."""
    return await _pdf(number, "credit_note", runtime)


# --- receivables: credit, aging, DSO, reminders --------------------------------------------------------


@router.get("/customers/{customer}/credit")
async def customer_credit(customer: Annotated[str, Path(max_length=200)], runtime: RuntimeDep) -> dict[str, Decimal]:
    """A customer's unused credit per currency (kept from overpayments)."""
    async with runtime.sessions() as session:
        rows = (await session.exec(select(CustomerCredit).where(CustomerCredit.customer == customer))).all()
    return {r.currency: r.balance for r in sorted(rows, key=lambda r: r.currency)}


def _row(customer: str, currency: str, buckets: dict[str, Decimal], credit: Decimal) -> AgingRow:
    return AgingRow(
        customer=customer,
        currency=currency,
        current=buckets["current"],
        days_1_30=buckets["1-30"],
        days_31_60=buckets["31-60"],
        days_61_90=buckets["61-90"],
        days_90_plus=buckets["90+"],
        open_amount=sum(buckets.values(), Decimal(0)),
        credit_balance=credit,
    )


@router.get("/receivables/aging", response_model=AgingPublic)
async def receivables_aging(
    runtime: RuntimeDep,
    customer: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> AgingPublic:
    """Open receivables by days past due (current, 1-30, 31-60, 61-90, 90+) per customer (the first `limit`, by
    name) and in total per currency, with days sales outstanding over the configured window."""
    today, window = runtime.clock.now().date(), settings.current().dso_window_days
    owing = (
        select(Invoice, Account.customer)
        .join(Account, col(Account.order_id) == col(Invoice.order_id))
        .where(col(Invoice.status).in_(domain.UNPAID))
    )
    since = runtime.clock.now() - timedelta(days=window)
    sales = select(Invoice.currency, func.sum(Invoice.amount)).where(col(Invoice.issued_at) >= since)
    credited = select(CreditNote.currency, func.sum(CreditNote.amount)).where(col(CreditNote.issued_at) >= since)
    credits_query = select(CustomerCredit)
    if customer is not None:
        owing = owing.where(Account.customer == customer)
        credits_query = credits_query.where(CustomerCredit.customer == customer)
    async with runtime.sessions() as session:
        open_rows = (await session.exec(owing)).all()
        sold = dict((await session.exec(sales.group_by(col(Invoice.currency)))).all())
        taken_back = dict((await session.exec(credited.group_by(col(CreditNote.currency)))).all())
        credit = {(c.customer, c.currency): c.balance for c in (await session.exec(credits_query)).all()}
    per: dict[tuple[str, str], list[tuple[domain.Billed, date]]] = defaultdict(list)
    for invoice, name in open_rows:
        per[(name, invoice.currency)].append((ledger.billed(invoice), invoice.due_date))
    for key, balance in credit.items():
        if balance:
            per.setdefault(key, [])
    rows = [
        _row(c, cur, domain.aging(per[(c, cur)], today), credit.get((c, cur), Decimal(0))) for c, cur in sorted(per)
    ]
    totals = []
    for currency in sorted({cur for _, cur in per}):
        mine = [inv for (_, cur), invs in per.items() if cur == currency for inv in invs]
        balance = sum((b for (_, cur), b in credit.items() if cur == currency), Decimal(0))
        totals.append(_row("*", currency, domain.aging(mine, today), balance))
    dso = {
        t.currency: domain.days_sales_outstanding(
            t.open_amount, (sold.get(t.currency) or Decimal(0)) - (taken_back.get(t.currency) or Decimal(0)), window
        )
        for t in totals
    }
    return AgingPublic(as_of=today, customers=rows[:limit], totals=totals, dso_window_days=window, dso=dso)


@router.get("/reminders", response_model=list[ReminderPublic])
async def list_reminders(
    runtime: RuntimeDep,
    customer: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Reminder]:
    """Reminders sent, newest first."""
    query = select(Reminder).order_by(col(Reminder.sent_at).desc(), col(Reminder.id)).limit(limit)
    if customer is not None:
        query = query.where(Reminder.customer == customer)
    async with runtime.sessions() as session:
        return list((await session.exec(query)).all())
