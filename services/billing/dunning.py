"""Time-based billing rules on the injected clock: reminders on the configured schedule (one per customer and run,
covering all their due invoices), escalation levels, the overdue exception, receivables republished when an
invoice passes its due date; and payments that stay unmatched."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from uuid import uuid4

from sqlmodel import col, select

from services.billing import domain, ledger, payments
from services.billing.ledger import billed
from services.billing.models import Account, Invoice, Payment, Reminder
from services.billing.settings import BillingSettings
from shared.contracts import UNASSIGNED, FactValue, ReminderLine, ReminderSent
from shared.exceptions import raise_exception
from shared.unit_of_work import UnitOfWork
from shared.watcher import Rule


def dunning(config: BillingSettings) -> Rule:
    """Watch rule: every unpaid invoice at its escalation level; a reminder per customer when one of theirs reached
    a new level; the overdue exception from the configured level; receivables when one passes its due date."""
    schedule = config.reminder_days

    async def dunning(uow: UnitOfWork) -> None:
        today = uow.clock.now().date()
        first = today - timedelta(days=schedule[0])  # due on or before this: at least level 1
        query = (
            select(Invoice, Account)
            .join(Account, col(Account.order_id) == col(Invoice.order_id))
            .where(
                col(Invoice.status).in_(domain.UNPAID), col(Invoice.due_date) <= max(first, today - timedelta(days=1))
            )
            .order_by(col(Invoice.due_date), col(Invoice.number))
            .with_for_update(of=Invoice)  # a payment committing meanwhile is waited for
            .execution_options(populate_existing=True)
        )
        due: dict[tuple[str, str], list[tuple[Invoice, Account, int]]] = defaultdict(list)
        for invoice, account in (await uow.session.exec(query)).all():
            level = domain.reminder_level(invoice.due_date, today, schedule)
            if level >= config.overdue_exception_level:
                await _overdue(invoice, uow)
            if invoice.due_date < today and not invoice.past_due:
                invoice.past_due = True  # overdue amounts changed: the credit review hears it
                ledger.receivables_changed(account, uow)
            if level >= 1 and account.customer:
                due[(account.customer, invoice.currency)].append((invoice, account, level))
        for (customer, currency), owing in due.items():
            if any(level > invoice.reminder_level for invoice, _, level in owing):
                _remind(customer, currency, owing, today, uow)

    return dunning


async def _overdue(invoice: Invoice, uow: UnitOfWork) -> None:
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


def _remind(
    customer: str, currency: str, owing: list[tuple[Invoice, Account, int]], today: date, uow: UnitOfWork
) -> None:
    """One reminder covering all the customer's due invoices in this currency; each is now reminded at its level."""
    lines = [
        ReminderLine(
            invoice_number=i.number, order_id=i.order_id, open_amount=billed(i).open, due_date=i.due_date, level=level
        )
        for i, _, level in owing[:500]
    ]
    total = sum((line.open_amount for line in lines), Decimal(0))
    level = max(line.level for line in lines)
    reminder = Reminder(
        id=f"RM-{today:%Y%m%d}-{uuid4().hex[:12]}",
        customer=customer,
        currency=currency,
        level=level,
        total=total,
        invoices=[line.model_dump(mode="json") for line in lines],
        sent_at=uow.clock.now(),
    )
    uow.session.add(reminder)
    for invoice, _, invoice_level in owing:
        invoice.reminder_level = invoice_level
    oldest = owing[0][1]  # keyed by the order of the invoice due first
    sent = ReminderSent(
        reminder_id=reminder.id, customer=customer, currency=currency, level=level, total=total, invoices=lines
    )
    uow.emit(sent, order_id=oldest.order_id, correlation_id=oldest.correlation_id)


def unmatched_payments(limit: timedelta) -> Rule:
    """Watch rule: a payment that has matched nothing for longer than `limit` (unapplied cash) is tried once more,
    and raised for a person to match."""

    async def unmatched_payments(uow: UnitOfWork) -> None:
        query = select(Payment).where(
            Payment.problem == domain.PaymentProblem.UNMATCHED, col(Payment.recorded_at) < uow.clock.now() - limit
        )
        for payment in await uow.all(query, lock=True):
            if await payments.match(payment, uow):  # e.g. committed together with its invoice, each unseen by the other
                continue
            await raise_exception(
                uow,
                kind_name="billing.unmatched_payment",
                order_id=UNASSIGNED,
                subject_type="payment",
                subject_id=payment.id,
                title=_unmatched_title(payment),
                facts=_unmatched_facts(payment),
            )

    return unmatched_payments


def _unmatched_title(payment: Payment) -> str:
    said = f"{payment.amount} {payment.currency}"
    if payment.invoice_number:
        return f"Payment {payment.id} of {said} names invoice {payment.invoice_number}, which billing never issued"
    return f"Payment {payment.id} of {said} from {payment.payer or 'an unknown payer'} matches no open invoice"


def _unmatched_facts(payment: Payment) -> dict[str, FactValue]:
    facts: dict[str, FactValue] = {"amount": payment.amount, "currency": payment.currency}
    if payment.invoice_number:
        facts = {"named_invoice": payment.invoice_number, **facts}
    for name in ("payer", "reference", "order_ref"):
        if value := getattr(payment, name):
            facts[name] = value
    return facts
