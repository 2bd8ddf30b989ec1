"""Billing HTTP API: the invoices and payments of an order."""

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from services.billing.models import Invoice, InvoicePublic, Payment, PaymentPublic
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
