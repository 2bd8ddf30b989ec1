"""Billing handlers: one small function per message."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from services.billing import domain
from services.billing.models import Account, Invoice, Payment
from services.billing.settings import BillingSettings
from shared.contracts import (
    UNASSIGNED,
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
from shared.errors import Invalid
from shared.exceptions import SYSTEM, raise_exception, resolve_exception, resolve_exceptions
from shared.fields import MAX_MONEY
from shared.unit_of_work import UnitOfWork
from shared.watcher import Rule


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
        early = select(Payment).where(
            Payment.invoice_number == number, Payment.problem == domain.PaymentProblem.UNMATCHED
        )
        for payment in await uow.all(early, lock=True):  # the money came first (re-checked under the lock)
            await apply_payment(payment, invoice, account, uow)


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
    """Keep every payment; apply it to the invoice it names, or keep it unapplied until someone can."""
    if await uow.get(Payment, message.message_id) is not None:
        return  # the same payment again changes nothing
    payment = Payment(
        id=message.message_id,
        invoice_number=message.invoice_number,
        order_id=UNASSIGNED,
        amount=message.amount,
        currency=message.currency,
        status=domain.PaymentStatus.UNAPPLIED,
        problem=domain.PaymentProblem.UNMATCHED,
        received_at=message.occurred_at,
        recorded_at=uow.clock.now(),
    )
    uow.session.add(payment)
    invoice = await uow.first(select(Invoice).where(Invoice.number == message.invoice_number))
    if invoice is not None:  # else it waits: applied when that invoice is issued, or by a person
        account = await _account(invoice.order_id, uow)
        await uow.session.refresh(invoice)  # read again under the account's lock
        await apply_payment(payment, invoice, account, uow)


async def apply_payment(
    payment: Payment, invoice: Invoice, account: Account, uow: UnitOfWork, by: str = SYSTEM
) -> bool:
    """Apply a kept payment to an invoice (under the account's lock); False when the currencies differ."""
    emit = uow.emitter(order_id=invoice.order_id, correlation_id=account.correlation_id)
    payment.order_id = invoice.order_id
    subject: dict[str, Any] = {"subject_type": "payment", "subject_id": payment.id}
    if payment.currency != invoice.currency:
        await _no_longer(payment, ["billing.unmatched_payment"], f"it names invoice {invoice.number} now", by, uow)
        payment.problem = domain.PaymentProblem.CURRENCY_MISMATCH
        await raise_exception(
            uow,
            kind_name="billing.currency_mismatch",
            order_id=invoice.order_id,
            title=f"Payment {payment.id} of {payment.amount} {payment.currency} for invoice {invoice.number}"
            f" in {invoice.currency}",
            facts={"invoice": invoice.number, "amount": payment.amount, "currency": payment.currency},
            **subject,
        )
        return False
    if invoice.paid_amount + payment.amount > MAX_MONEY:  # no business pays that; the column could not hold it
        raise Invalid(f"payment {payment.id} would take invoice {invoice.number}'s paid amount past {MAX_MONEY}")
    matched = domain.match(invoice.amount - invoice.paid_amount, payment.amount)
    payment.invoice_number, payment.match, payment.problem = invoice.number, matched, None
    payment.status, payment.applied_at, payment.applied_by = domain.PaymentStatus.APPLIED, uow.clock.now(), by
    invoice.paid_amount += payment.amount
    invoice.status = domain.invoice_status(invoice.amount, invoice.paid_amount)
    received = PaymentReceived(
        payment_id=payment.id, invoice_number=invoice.number, amount=payment.amount, match=matched
    )
    emit(received, occurred_at=payment.received_at)
    await _no_longer(payment, PROBLEMS, f"applied to invoice {invoice.number}", by, uow)
    await _consequences(invoice, account, matched, uow)
    return True


PROBLEMS = ["billing.unmatched_payment", "billing.currency_mismatch"]  # what keeps a payment unapplied


async def _no_longer(payment: Payment, kinds: list[str], reason: str, by: str, uow: UnitOfWork) -> None:
    """A payment's problems are over: their exceptions (if any) are resolved."""
    await resolve_exceptions(uow, kinds=kinds, subject_type="payment", subject_id=payment.id, reason=reason, by=by)


async def _consequences(invoice: Invoice, account: Account, matched: domain.Match, uow: UnitOfWork) -> None:
    """What a payment applied to an invoice leads to: an overpayment, an overdue cleared, the order settled."""
    subject: dict[str, Any] = {"subject_type": "invoice", "subject_id": invoice.id}
    if matched == domain.Match.OVER:
        over = invoice.paid_amount - invoice.amount
        await raise_exception(
            uow,
            kind_name="billing.overpayment",
            order_id=invoice.order_id,
            title=f"Invoice {invoice.number} overpaid by {over} {invoice.currency}",
            facts={"invoice": invoice.number, "overpaid": over, "currency": invoice.currency},
            **subject,
        )
    if invoice.status == domain.InvoiceStatus.PAID:
        await resolve_exception(uow, kind_name="billing.payment_overdue", reason="paid in full", **subject)
    invoices = await _invoices(invoice.order_id, uow)
    terms = PaymentTerms.model_validate(account.terms)
    if account.settled_at is None and domain.settled(terms, ((i.amount, i.paid_amount) for i in invoices)):
        account.settled_at = uow.clock.now()
        total = sum((i.amount for i in invoices), Decimal(0))
        paid = sum((i.paid_amount for i in invoices), Decimal(0))
        uow.emit(
            OrderSettled(invoiced_total=total, paid_total=paid),
            order_id=invoice.order_id,
            correlation_id=account.correlation_id,
        )


def overdue_invoices() -> Rule:
    """Watch rule: an invoice past its due date and not paid in full."""

    async def overdue_invoices(uow: UnitOfWork) -> None:
        today = uow.clock.now().date()
        query = select(Invoice).where(Invoice.status != domain.InvoiceStatus.PAID, col(Invoice.due_date) < today)
        for invoice in await uow.all(query, lock=True):  # a payment committing meanwhile is waited for
            owed = invoice.amount - invoice.paid_amount
            await raise_exception(
                uow,
                kind_name="billing.payment_overdue",
                order_id=invoice.order_id,
                subject_type="invoice",
                subject_id=invoice.id,
                title=f"Invoice {invoice.number}: {owed} {invoice.currency} overdue since {invoice.due_date}",
                facts={"invoice": invoice.number, "owed": owed, "due_date": invoice.due_date.isoformat()},
            )

    return overdue_invoices


def unmatched_payments(limit: timedelta) -> Rule:
    """Watch rule: a payment that has named no invoice we issued for longer than `limit` (unapplied cash)."""

    async def unmatched_payments(uow: UnitOfWork) -> None:
        query = select(Payment).where(
            Payment.problem == domain.PaymentProblem.UNMATCHED, col(Payment.recorded_at) < uow.clock.now() - limit
        )
        for payment in await uow.all(query, lock=True):
            if invoice := await uow.first(select(Invoice).where(Invoice.number == payment.invoice_number)):
                # the invoice was committed together with the payment, each unseen by the other
                account = await _account(invoice.order_id, uow)
                await uow.session.refresh(invoice)
                await apply_payment(payment, invoice, account, uow)
                continue
            await raise_exception(
                uow,
                kind_name="billing.unmatched_payment",
                order_id=UNASSIGNED,
                subject_type="payment",
                subject_id=payment.id,
                title=f"Payment {payment.id} of {payment.amount} {payment.currency} names invoice"
                f" {payment.invoice_number}, which billing never issued",
                facts={"named_invoice": payment.invoice_number, "amount": payment.amount, "currency": payment.currency},
            )

    return unmatched_payments


def rules(settings: BillingSettings) -> list[Rule]:
    """The billing service's time-based exception rules."""
    return [overdue_invoices(), unmatched_payments(timedelta(hours=settings.unmatched_payment_hours))]
