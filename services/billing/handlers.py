"""Billing handlers: one small function per message; the rules they apply are in domain, ledger, invoicing and
payments."""

from datetime import timedelta

from services.billing import dunning, ledger, settings
from services.billing.invoicing import issue, issue_parts
from services.billing.ledger import billed, locked_account, order_invoices, receivables_changed, settle
from services.billing.models import Account
from services.billing.payments import apply_payment, on_finance_payment
from services.billing.settings import BillingSettings
from shared.contracts import (
    Event,
    InstallmentTrigger,
    OrderAccepted,
    ShipmentDelivered,
    ShipmentDispatched,
    ShipmentLine,
    ShipmentPlanned,
)
from shared.unit_of_work import UnitOfWork
from shared.watcher import Rule

__all__ = ["apply_payment", "billed", "on_finance_payment", "order_invoices", "settle"]


async def on_order_accepted(event: Event[OrderAccepted], uow: UnitOfWork) -> None:
    """Open the receivable and invoice what falls due on acceptance (a deposit)."""
    order = event.data
    account = Account(
        order_id=event.order_id,
        customer=order.customer,
        currency=order.currency,
        total_amount=order.total_amount,
        terms=order.payment_terms.model_dump(mode="json"),
        correlation_id=event.correlation_id,
        order_version=order.order_version,
        external_ref=order.external_ref,
        destination_country=order.destination_country,
        lines=[
            line.model_dump(mode="json", include={"line_no", "product", "quantity", "unit_price"})
            for line in order.lines
        ],
    )
    uow.session.add(account)
    if await issue(account, InstallmentTrigger.ACCEPTANCE, uow):
        receivables_changed(account, uow)
    uow.release(event.order_id)


async def on_shipment_planned(event: Event[ShipmentPlanned], uow: UnitOfWork) -> None:
    """The goods are packed: invoice what falls due before shipment, and hold the shipment until it is paid (or
    release it at once when it is)."""
    account = await locked_account(event.order_id, uow)
    if account.cancelled_at is not None:
        return
    if await issue(account, InstallmentTrigger.BEFORE_SHIPMENT, uow):
        receivables_changed(account, uow)
    await ledger.hold_or_release(account, uow)


async def on_shipment_dispatched(event: Event[ShipmentDispatched], uow: UnitOfWork) -> None:
    """The goods left: invoice this shipment's part of what falls due on shipment."""
    shipment, account = event.data, await locked_account(event.order_id, uow)
    carried = _carried(shipment.lines)
    moved = await issue(account, InstallmentTrigger.BEFORE_SHIPMENT, uow)  # in case it was never planned here
    moved = (
        await issue_parts(account, InstallmentTrigger.SHIPMENT, shipment.shipment_id, carried, uow, last=False) or moved
    )
    if moved:
        receivables_changed(account, uow)


async def on_shipment_delivered(event: Event[ShipmentDelivered], uow: UnitOfWork) -> None:
    """Invoice this delivery's part of what falls due on delivery; once every part is delivered, whatever is left
    of the order's installments is invoiced and the order may settle."""
    delivered, account = event.data, await locked_account(event.order_id, uow)
    if delivered.order_delivered and account.delivered_at is None:
        account.delivered_at = delivered.delivered_at
    sid, carried, last = delivered.shipment_id, _carried(delivered.lines), delivered.order_delivered
    moved = await issue(account, InstallmentTrigger.BEFORE_SHIPMENT, uow)
    moved = await issue_parts(account, InstallmentTrigger.DELIVERY, sid, carried, uow, last=last) or moved
    if last:  # a shipment whose dispatch billing never saw: its part is invoiced now
        moved = await issue_parts(account, InstallmentTrigger.SHIPMENT, f"{sid}/rest", carried, uow, last=True) or moved
    if moved:
        receivables_changed(account, uow)
    await settle(account, uow)


def _carried(lines: list[ShipmentLine]) -> dict[int, int]:
    carried: dict[int, int] = {}
    for line in lines:
        carried[line.line_no] = carried.get(line.line_no, 0) + line.quantity
    return carried


def rules(config: BillingSettings) -> list[Rule]:
    """The billing service's time-based rules: dunning (reminders, overdue, past due) and unmatched payments."""
    settings.configure(config)
    return [dunning.dunning(config), dunning.unmatched_payments(timedelta(hours=config.unmatched_payment_hours))]
