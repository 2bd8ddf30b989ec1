"""Billing handlers on a real database: installments, matching, settlement, out-of-order delivery."""

from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import col, select

from services.billing import handlers
from services.billing.models import Invoice
from shared.clock import FixedClock
from shared.contracts import Event, FinancePayment, OrderAccepted, OrderTerms, ShipmentDelivered
from shared.db import OutboxMessage
from shared.errors import NotYet
from shared.unit_of_work import UnitOfWorkFactory
from tests.e2e.flows import DEPOSIT_30_70, order_body

pytestmark = pytest.mark.integration
SERVICE = "billing"


def accepted(clock: FixedClock, terms: dict | None = None) -> Event[Any]:
    body = order_body(1, terms=terms or DEPOSIT_30_70)
    order = OrderTerms.model_validate(body)
    payload = OrderAccepted(**order.model_dump(), total_amount=order.compute_total())
    return Event.new(payload, source="order", order_id="SO1", clock=clock)


def delivered(clock: FixedClock) -> Event[Any]:
    payload = ShipmentDelivered(shipment_id="SH1", delivered_at=clock.now(), received_quantity=11)
    return Event.new(payload, source="logistics", order_id="SO1", clock=clock)


def payment(clock: FixedClock, invoice: str, amount: str, pid: str) -> FinancePayment:
    return FinancePayment(
        message_id=pid, occurred_at=clock.now(), invoice_number=invoice, amount=Decimal(amount), currency="USD"
    )


async def events(units: UnitOfWorkFactory) -> list[str]:
    async with units() as uow:
        return list((await uow.session.exec(select(OutboxMessage.event_type).order_by(col(OutboxMessage.id)))).all())


async def invoices(units: UnitOfWorkFactory) -> list[Invoice]:
    async with units() as uow:
        return list((await uow.session.exec(select(Invoice).order_by(col(Invoice.installment)))).all())


async def test_deposit_then_balance_then_settled(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    async with units() as uow:
        await handlers.on_order_accepted(accepted(clock), uow)
    [deposit] = await invoices(units)
    assert deposit.amount == Decimal("40.75")  # 30 % of 11 x 12.35 = 135.85, rounded down

    async with units() as uow:
        await handlers.on_finance_payment(payment(clock, deposit.number, "40.75", "p1"), uow)
    async with units() as uow:
        await handlers.on_shipment_delivered(delivered(clock), uow)
    _, balance = await invoices(units)
    assert balance.amount == Decimal("95.10") and balance.due_date.isoformat() == "2027-02-03"

    async with units() as uow:
        await handlers.on_finance_payment(payment(clock, balance.number, "50.00", "p2"), uow)
    async with units() as uow:
        await handlers.on_finance_payment(payment(clock, balance.number, "45.10", "p3"), uow)

    assert await events(units) == [
        "billing.invoice_issued",
        "billing.receivables_changed",
        "billing.payment_received",
        "billing.receivables_changed",
        "billing.invoice_issued",
        "billing.receivables_changed",
        "billing.payment_received",
        "billing.receivables_changed",
        "billing.payment_received",
        "billing.order_settled",
        "billing.receivables_changed",
    ]


async def test_delivery_before_acceptance_waits_for_the_order(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    with pytest.raises(NotYet) as waiting:
        async with units() as uow:
            await handlers.on_shipment_delivered(delivered(clock), uow)
    assert waiting.value.key == "SO1"
