"""Billing handlers: one small function per message."""

from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from services.billing import domain
from services.billing.models import Account, Invoice, Payment, Receivables
from services.billing.settings import BillingSettings
from shared.contracts import (
    UNASSIGNED,
    Event,
    FinancePayment,
    Installment,
    InstallmentTrigger,
    InvoiceIssued,
    OrderAccepted,
    OrderSettled,
    PaymentReceived,
    PaymentTerms,
    ReceivablesChanged,
    ShipmentDelivered,
)
from shared.errors import Invalid
from shared.exceptions import SYSTEM, raise_exception, resolve_exception, resolve_exceptions
from shared.fields import MAX_MONEY
from shared.unit_of_work import UnitOfWork
from shared.watcher import Rule


async def _issue(account: Account, trigger: InstallmentTrigger, uow: UnitOfWork) -> None:
    """Invoice the installments `trigger` makes due, on the order's current total; none once it is cancelled."""
    if account.cancelled_at is not None:
        return  # a cancelled order is invoiced no further
    terms = PaymentTerms.model_validate(account.terms)
    issued = {i.installment for i in await order_invoices(account.order_id, uow)}
    due = [(n, i, a) for n, i, a in domain.due_on(terms, account.total_amount, trigger) if n not in issued]
    for n, installment, amount in due:
        await open_invoice(account, n, installment, amount, uow, number=domain.invoice_number(account.order_id, n))
    if due:
        receivables_changed(account, uow)


async def open_invoice(
    account: Account,
    n: int,
    installment: Installment,
    amount: Decimal,
    uow: UnitOfWork,
    *,
    number: str,
    change_id: str = "",
) -> Invoice:
    """Issue one invoice of installment `n` (due by its net days from today), and apply any payment that named
    it before it existed."""
    invoice = Invoice(
        id=number,
        number=number,
        order_id=account.order_id,
        installment=n,
        change_id=change_id,
        trigger=installment.trigger,
        amount=amount,
        credited_amount=Decimal(0),
        paid_amount=Decimal(0),
        currency=account.currency,
        issued_at=uow.clock.now(),
        due_date=domain.due_date(uow.clock.now().date(), installment),
        status=domain.invoice_status(amount, Decimal(0)),
    )
    uow.session.add(invoice)
    event = InvoiceIssued(
        invoice_id=invoice.id,
        invoice_number=number,
        amount=amount,
        currency=account.currency,
        due_date=invoice.due_date,
        trigger=installment.trigger,
    )
    uow.emit(event, order_id=account.order_id, correlation_id=account.correlation_id)
    early = select(Payment).where(Payment.invoice_number == number, Payment.problem == domain.PaymentProblem.UNMATCHED)
    for payment in await uow.all(early, lock=True):  # the money came first (re-checked under the lock)
        await apply_payment(payment, invoice, account, uow)
    return invoice


def billed(invoice: Invoice) -> domain.Billed:
    """An invoice as the billing rules see it."""
    return domain.Billed(
        invoice.installment, invoice.number, invoice.amount, invoice.credited_amount, invoice.paid_amount
    )


async def order_invoices(order_id: str, uow: UnitOfWork) -> list[Invoice]:
    """The order's invoices, by installment, each installment's own invoice before its supplementary ones."""
    query = select(Invoice).where(Invoice.order_id == order_id)
    return await uow.all(query.order_by(col(Invoice.installment), col(Invoice.issued_at), col(Invoice.number)))


async def locked_account(order_id: str, uow: UnitOfWork) -> Account:
    return await uow.require(Account, order_id, why="billing has not seen this order accepted yet", lock=True)


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
    )
    uow.session.add(account)
    await _issue(account, InstallmentTrigger.ACCEPTANCE, uow)
    uow.release(event.order_id)


async def on_shipment_delivered(event: Event[ShipmentDelivered], uow: UnitOfWork) -> None:
    """Invoice what falls due on delivery."""
    await _issue(await locked_account(event.order_id, uow), InstallmentTrigger.DELIVERY, uow)


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
        account = await locked_account(invoice.order_id, uow)
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
    matched = domain.match(billed(invoice).net - invoice.paid_amount, payment.amount)
    payment.invoice_number, payment.match, payment.problem = invoice.number, matched, None
    payment.status, payment.applied_at, payment.applied_by = domain.PaymentStatus.APPLIED, uow.clock.now(), by
    invoice.paid_amount += payment.amount
    invoice.status = domain.invoice_status(invoice.amount, invoice.paid_amount, invoice.credited_amount)
    received = PaymentReceived(
        payment_id=payment.id, invoice_number=invoice.number, amount=payment.amount, match=matched
    )
    emit(received, occurred_at=payment.received_at)
    await _no_longer(payment, PROBLEMS, f"applied to invoice {invoice.number}", by, uow)
    await _consequences(invoice, account, matched, uow)
    receivables_changed(account, uow)
    return True


PROBLEMS = ["billing.unmatched_payment", "billing.currency_mismatch"]  # what keeps a payment unapplied


async def _no_longer(payment: Payment, kinds: list[str], reason: str, by: str, uow: UnitOfWork) -> None:
    """A payment's problems are over: their exceptions (if any) are resolved."""
    await resolve_exceptions(uow, kinds=kinds, subject_type="payment", subject_id=payment.id, reason=reason, by=by)


async def _consequences(invoice: Invoice, account: Account, matched: domain.Match, uow: UnitOfWork) -> None:
    """What a payment applied to an invoice leads to: an overpayment (on a cancelled order, all of it is owed
    back), an overdue cleared, the order settled."""
    subject: dict[str, Any] = {"subject_type": "invoice", "subject_id": invoice.id}
    if account.cancelled_at is not None:
        await refund_owed(invoice, invoice.paid_amount, f"order {account.order_id} is cancelled", uow)
    elif matched == domain.Match.OVER:
        over = billed(invoice).owed_back
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
    await settle(account, uow)


async def settle(account: Account, uow: UnitOfWork) -> None:
    """Mark the order settled once nothing is owed either way (domain.settled), and announce it (billing.order_settled)
    with what its invoices ask for after credit notes and what was paid. A cancelled order is never announced
    settled (it is over already), and stops being settled if money comes in for it, which is owed back."""
    invoices, cancelled = [billed(i) for i in await order_invoices(account.order_id, uow)], account.cancelled_at
    done = domain.settled(PaymentTerms.model_validate(account.terms), invoices, cancelled=cancelled is not None)
    if cancelled is not None:
        account.settled_at = (account.settled_at or uow.clock.now()) if done else None
        return
    if account.settled_at is not None or not done:
        return
    account.settled_at = uow.clock.now()
    net = sum((i.net for i in invoices), Decimal(0))
    paid = sum((i.paid for i in invoices), Decimal(0))
    settled = OrderSettled(invoiced_total=net, paid_total=paid)
    uow.emit(settled, order_id=account.order_id, correlation_id=account.correlation_id)


async def refund_owed(invoice: Invoice, amount: Decimal, why: str, uow: UnitOfWork) -> None:
    """Money the customer paid on an invoice that is owed back: raised for finance to refund or keep as credit."""
    await raise_exception(
        uow,
        kind_name="billing.refund_owed",
        order_id=invoice.order_id,
        subject_type="invoice",
        subject_id=invoice.id,
        title=f"{amount} {invoice.currency} paid on invoice {invoice.number} is owed back: {why}",
        facts={"invoice": invoice.number, "amount": amount, "currency": invoice.currency},
    )


def receivables_changed(account: Account, uow: UnitOfWork) -> None:
    """Publish the customer's open receivables after this order moved them, for the order service's credit review.

    Counted once per customer and currency at the end of the transaction (a batch may move them many times),
    under the lock of the customer's receivables row, so the count includes whatever another order of the
    customer committed before; the event is keyed by the order that moved them last."""
    if account.customer:  # else accepted before billing kept customers: not counted
        uow.once(("receivables", account.customer, account.currency), partial(_count, account, uow))


async def _count(account: Account, uow: UnitOfWork) -> None:
    assert account.customer is not None
    now, key = uow.clock.now(), {"customer": account.customer, "currency": account.currency}
    zero = {"open_amount": Decimal(0), "overdue_amount": Decimal(0), "as_of": now}
    await uow.session.exec(insert(Receivables).values(**key, **zero).on_conflict_do_nothing())
    row = await uow.get(Receivables, (account.customer, account.currency), lock=True)
    assert row is not None  # inserted above, or by another transaction before
    owing = (
        select(Invoice)
        .join(Account, col(Account.order_id) == col(Invoice.order_id))
        .where(Account.customer == account.customer, Invoice.currency == account.currency)
        .where(col(Invoice.status).in_(domain.UNPAID))
    )
    invoices = ((billed(i), i.due_date) for i in await uow.all(owing))
    row.open_amount, row.overdue_amount = domain.receivables(invoices, now.date())
    row.as_of = now
    changed = ReceivablesChanged(**key, open_amount=row.open_amount, overdue_amount=row.overdue_amount)
    uow.emit(changed, order_id=account.order_id, correlation_id=account.correlation_id)


def overdue_invoices() -> Rule:
    """Watch rule: an invoice past its due date and not paid in full."""

    async def overdue_invoices(uow: UnitOfWork) -> None:
        today = uow.clock.now().date()
        query = select(Invoice).where(col(Invoice.status).in_(domain.UNPAID), col(Invoice.due_date) < today)
        for invoice in await uow.all(query, lock=True):  # a payment committing meanwhile is waited for
            owed = billed(invoice).open
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
                account = await locked_account(invoice.order_id, uow)
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
