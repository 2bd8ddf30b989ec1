"""Billing HTTP API: the invoices and payments of an order."""

from fastapi import APIRouter
from sqlmodel import col, select

from services.billing.models import Invoice, Payment
from shared.service import RuntimeDep

router = APIRouter(tags=["receivables"])


@router.get("/invoices", response_model=list[Invoice])
async def list_invoices(order_id: str, runtime: RuntimeDep) -> list[Invoice]:
    """The invoices of one customer order, in installment order."""
    query = select(Invoice).where(Invoice.order_id == order_id).order_by(col(Invoice.installment))
    async with runtime.sessions() as session:
        return list((await session.exec(query)).all())


@router.get("/payments", response_model=list[Payment])
async def list_payments(order_id: str, runtime: RuntimeDep) -> list[Payment]:
    """The payments matched to one customer order's invoices."""
    async with runtime.sessions() as session:
        return list((await session.exec(select(Payment).where(Payment.order_id == order_id))).all())
