"""Billing HTTP API: the invoices and payments of an order."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel
from sqlmodel import col, select

from services.billing import domain, handlers
from services.billing.models import Account, Invoice, InvoicePublic, Payment, PaymentPublic
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
