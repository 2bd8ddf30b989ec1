"""Billing HTTP API: the invoices, credit notes and payments of an order; a customer's receivables."""

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel
from sqlmodel import col, select

from services.billing import domain, handlers
from services.billing.models import (
    Account,
    CreditNote,
    CreditNotePublic,
    Invoice,
    InvoicePublic,
    OrderInvoicesPublic,
    Payment,
    PaymentPublic,
    ReceivablesPublic,
)
from shared.errors import Invalid
from shared.fields import Ref
from shared.http import Actor
from shared.service import RuntimeDep

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
        by_currency[invoice.currency].append((handlers.billed(invoice), invoice.due_date))
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
    """Which invoice a person applies a kept payment to."""

    invoice_number: Ref


@router.get("/payments/unapplied", response_model=list[PaymentPublic])
async def list_unapplied(runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[Payment]:
    """Unapplied cash: payments naming no invoice we issued, or in another currency, oldest first."""
    query = (
        select(Payment)
        .where(Payment.status == domain.PaymentStatus.UNAPPLIED)
        .order_by(col(Payment.recorded_at))
        .limit(limit)
    )
    async with runtime.sessions() as session:
        return list((await session.exec(query)).all())


@router.post("/payments/{payment_id}/apply", response_model=PaymentPublic)
async def apply_payment(
    payment_id: Annotated[str, Path(max_length=100)], application: Application, actor: Actor, runtime: RuntimeDep
) -> Payment:
    """Apply an unapplied payment to an invoice a person found for it; the order moves on from there."""
    async with runtime.units() as uow:
        payment = await uow.get(Payment, payment_id, lock=True)
        if payment is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no payment {payment_id}")
        if payment.status == domain.PaymentStatus.APPLIED:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"payment {payment_id} is applied to {payment.invoice_number}"
            )
        invoice = await uow.first(select(Invoice).where(Invoice.number == application.invoice_number))
        if invoice is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no invoice {application.invoice_number}")
        account = await uow.require(Account, invoice.order_id, why="invoice without account", lock=True)
        await uow.session.refresh(invoice)
        if invoice.currency != payment.currency:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"payment in {payment.currency}, invoice {invoice.number} in {invoice.currency}",
            )
        try:
            await handlers.apply_payment(payment, invoice, account, uow, by=actor)
        except Invalid as error:
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    return payment
