"""Billing handlers: one small function per message."""

from decimal import Decimal

from sqlmodel import col, select

from services.billing import domain
from services.billing.models import Account, Invoice, Payment
from shared.contracts import (
    Event,
    FinancePayment,
    InstallmentTrigger,
    InvoiceIssued,
    OrderAccepted,
    OrderSettled,
    PaymentReceived,
    PaymentTerms,
    ShipmentDelivered,
)
from shared.errors import Invalid, NotYet
from shared.unit_of_work import UnitOfWork


async def _issue(account: Account, trigger: InstallmentTrigger, uow: UnitOfWork) -> None:
    terms = PaymentTerms.model_validate(account.terms)
    issued = {i.installment for i in await _invoices(account.order_id, uow)}
    for n, installment, amount in domain.due_on(terms, account.total_amount, trigger):
        if n in issued:
            continue
        number = domain.invoice_number(account.order_id, n)
        invoice = Invoice(
            id=number,
            number=number,
            order_id=account.order_id,
            installment=n,
            trigger=trigger,
            amount=amount,
            paid_amount=Decimal(0),
            currency=account.currency,
            issued_at=uow.clock.now(),
            due_date=domain.due_date(uow.clock.now().date(), installment),
            status=domain.InvoiceStatus.OPEN,
        )
        uow.session.add(invoice)
        event = InvoiceIssued(
            invoice_id=invoice.id,
            invoice_number=number,
            amount=amount,
            currency=account.currency,
            due_date=invoice.due_date,
            trigger=trigger,
        )
        uow.emit(event, order_id=account.order_id, correlation_id=account.correlation_id)
        uow.release(number)  # a payment that came first waits for this number


async def _invoices(order_id: str, uow: UnitOfWork) -> list[Invoice]:
    return await uow.all(select(Invoice).where(Invoice.order_id == order_id).order_by(col(Invoice.installment)))


async def _account(order_id: str, uow: UnitOfWork) -> Account:
    return await uow.require(Account, order_id, why="billing has not seen this order accepted yet", lock=True)


async def on_order_accepted(event: Event[OrderAccepted], uow: UnitOfWork) -> None:
    """Open the receivable and invoice what falls due on acceptance (a deposit)."""
    order = event.data
    account = Account(
        order_id=event.order_id,
        currency=order.currency,
        total_amount=order.total_amount,
        terms=order.payment_terms.model_dump(mode="json"),
        correlation_id=event.correlation_id,
    )
    uow.session.add(account)
    await _issue(account, InstallmentTrigger.ACCEPTANCE, uow)
    uow.release(event.order_id)


async def on_shipment_delivered(event: Event[ShipmentDelivered], uow: UnitOfWork) -> None:
    """Invoice what falls due on delivery."""
    await _issue(await _account(event.order_id, uow), InstallmentTrigger.DELIVERY, uow)


async def on_finance_payment(message: FinancePayment, uow: UnitOfWork) -> None:
    """Match a payment to its invoice; the last one paying the order in full settles it."""
    invoice = await _invoice_paid_by(message, uow)
    account = await _account(invoice.order_id, uow)
    await uow.session.refresh(invoice)  # read again under the account's lock
    emit = uow.emitter(order_id=invoice.order_id, correlation_id=account.correlation_id)
    emit(_apply(message, invoice, uow), occurred_at=message.occurred_at)
    invoices = await _invoices(invoice.order_id, uow)
    terms = PaymentTerms.model_validate(account.terms)
    if account.settled_at is None and domain.settled(terms, ((i.amount, i.paid_amount) for i in invoices)):
        account.settled_at = uow.clock.now()
        total = sum((i.amount for i in invoices), Decimal(0))
        emit(OrderSettled(invoiced_total=total, paid_total=sum((i.paid_amount for i in invoices), Decimal(0))))


async def _invoice_paid_by(message: FinancePayment, uow: UnitOfWork) -> Invoice:
    invoice = await uow.first(select(Invoice).where(Invoice.number == message.invoice_number))
    if invoice is None:  # finance may see the money before billing issues the invoice: wait for it
        raise NotYet(message.invoice_number, f"payment {message.message_id} for invoice not issued yet")
    if message.currency != invoice.currency:
        raise Invalid(f"payment in {message.currency} for invoice in {invoice.currency}")
    return invoice


def _apply(message: FinancePayment, invoice: Invoice, uow: UnitOfWork) -> PaymentReceived:
    """Record the payment against the invoice; returns the event saying how it matched."""
    matched = domain.match(invoice.amount - invoice.paid_amount, message.amount)
    payment = Payment(
        id=message.message_id,
        invoice_number=invoice.number,
        order_id=invoice.order_id,
        amount=message.amount,
        currency=message.currency,
        match=matched,
        received_at=message.occurred_at,
    )
    uow.session.add(payment)
    invoice.paid_amount += message.amount
    invoice.status = domain.invoice_status(invoice.amount, invoice.paid_amount)
    return PaymentReceived(payment_id=payment.id, invoice_number=invoice.number, amount=payment.amount, match=matched)
