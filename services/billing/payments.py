"""Payments: matched to invoices (by invoice number, order reference, or payer and amount), applied, what is left
over kept as customer credit and applied to the customer's next invoice; and what a payment applied leads to
(an overdue cleared, the shipment released, the order settled)."""

from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from services.billing import domain, ledger, settings
from services.billing.ledger import billed, locked_account
from services.billing.models import Account, CreditEntry, CustomerCredit, Invoice, Payment, PaymentApplication
from shared.contracts import (
    FORMALITY,
    HOME_COUNTRY,
    UNASSIGNED,
    CreditApplied,
    FinancePayment,
    FormalityStep,
    PaymentReceived,
)
from shared.errors import Invalid
from shared.exceptions import SYSTEM, raise_exception, resolve_exception, resolve_exceptions
from shared.fields import MAX_MONEY
from shared.unit_of_work import UnitOfWork

PROBLEMS = ["billing.unmatched_payment", "billing.currency_mismatch"]  # what keeps a payment unapplied
MIN_REF = 4  # a customer's order number shorter than this is not looked for inside remittance text


async def on_finance_payment(message: FinancePayment, uow: UnitOfWork) -> None:
    """Keep every payment and match it; one that matches nothing waits for its invoice or a person."""
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
        payer=message.payer,
        reference=message.reference,
        order_ref=message.order_ref,
        value_date=message.value_date,
        fx_rate=message.fx_rate,
    )
    uow.session.add(payment)
    await match(payment, uow)


async def match(payment: Payment, uow: UnitOfWork) -> bool:
    """Apply a kept payment where it belongs: the invoice it names; else the order its reference names (oldest open
    invoices first); else the payer's one open invoice of exactly its amount. False: it matched nothing (yet)."""
    if payment.invoice_number:
        invoice = await uow.first(select(Invoice).where(Invoice.number == payment.invoice_number))
        if invoice is not None:
            account = await locked_account(invoice.order_id, uow)
            await uow.session.refresh(invoice)  # read again under the account's lock
            await apply_payment(payment, invoice, account, uow)
            return True
    if (order := await named_order(payment, uow)) is not None and await apply_to_order(payment, order, uow):
        return True
    if (invoice := await same_amount(payment, uow)) is not None:
        account = await locked_account(invoice.order_id, uow)
        await uow.session.refresh(invoice)
        if billed(invoice).open == payment.amount:  # still so under the lock
            await apply_payment(payment, invoice, account, uow)
            return True
    return False


async def named_order(payment: Payment, uow: UnitOfWork) -> Account | None:
    """The one order the payment's order reference or remittance text names (our id or the customer's number)."""
    if payment.order_ref:
        query = select(Account).where(
            or_(col(Account.order_id) == payment.order_ref, col(Account.external_ref) == payment.order_ref)
        )
    elif payment.reference:
        named = func.strpos(payment.reference, col(Account.order_id)) > 0
        po = (func.length(col(Account.external_ref)) >= MIN_REF) & (
            func.strpos(payment.reference, col(Account.external_ref)) > 0
        )
        query = select(Account).where(or_(named, po))
    else:
        return None
    found = await uow.all(query.limit(20))
    if len(found) > 1 and payment.payer:
        found = [a for a in found if a.customer.casefold() == payment.payer.casefold()]
    return await locked_account(found[0].order_id, uow) if len(found) == 1 else None


async def same_amount(payment: Payment, uow: UnitOfWork) -> Invoice | None:
    """The payer's one open invoice in the payment's currency asking for exactly its amount."""
    if not payment.payer:
        return None
    query = (
        select(Invoice)
        .join(Account, col(Account.order_id) == col(Invoice.order_id))
        .where(func.lower(col(Account.customer)) == payment.payer.lower(), Invoice.currency == payment.currency)
        .where(col(Invoice.status).in_(domain.UNPAID))
        .limit(200)
    )
    found = [i for i in await uow.all(query) if billed(i).open == payment.amount]
    return found[0] if len(found) == 1 else None


async def apply_to_order(payment: Payment, account: Account, uow: UnitOfWork, by: str = SYSTEM) -> bool:
    """Apply a payment to an order's oldest open invoices; what is left is kept as the customer's credit. False when
    it cannot be (nothing open, and no customer to keep credit for); in another currency it is a mismatch."""
    if account.currency != payment.currency:
        payment.order_id = account.order_id
        await _mismatch(payment, "", account, by, uow)
        return True
    owing = [i for i in await ledger.order_invoices(account.order_id, uow) if i.status in domain.UNPAID]
    owing.sort(key=lambda i: (i.issued_at, i.number))
    if not owing and (not account.customer or account.cancelled_at is not None):
        return False  # nothing to pay and no customer credit to keep it as: a person decides
    return await apply_payment_to(payment, [(i, account) for i in owing], uow, by=by, account=account)


async def apply_payment(
    payment: Payment, invoice: Invoice, account: Account, uow: UnitOfWork, by: str = SYSTEM
) -> bool:
    """Apply a kept payment to an invoice (under the account's lock); False when the currencies differ."""
    return await apply_payment_to(payment, [(invoice, account)], uow, by=by, account=account)


async def apply_payment_to(
    payment: Payment, targets: list[tuple[Invoice, Account]], uow: UnitOfWork, *, by: str, account: Account
) -> bool:
    """Apply a payment over invoices in the order given (their accounts locked); what is left over is kept as the
    customer's credit (or, on a cancelled order, stays on the invoice and is owed back). False, and a
    currency_mismatch exception, when the payment is in another currency than the invoices or order."""
    payment.order_id = targets[0][0].order_id if targets else account.order_id
    if any(i.currency != payment.currency for i, _ in targets) or account.currency != payment.currency:
        await _mismatch(payment, targets[0][0].number if targets else "", account, by, uow)
        return False
    total = sum((i.paid_amount for i, _ in targets), payment.amount)
    if total > MAX_MONEY:  # no business pays that; the column could not hold it
        raise Invalid(f"payment {payment.id} would take an invoice's paid amount past {MAX_MONEY}")
    keeps_credit = bool(account.customer) and account.cancelled_at is None
    taken, left = domain.allocate(payment.amount, [(i.number, billed(i).open) for i, _ in targets])
    if left and not keeps_credit and targets:  # nowhere to keep it: it stays on the last invoice, owed back
        taken = _onto_last(taken, targets[-1][0].number, left)
        left = Decimal(0)
    by_number = {i.number: (i, a) for i, a in targets}
    events: list[tuple[Invoice, Account, domain.Match]] = []
    for k, (number, amount) in enumerate(taken):
        invoice, owner = by_number[number]
        before = billed(invoice).open
        last = k == len(taken) - 1
        matched = domain.match(before, amount + (left if last else Decimal(0)))
        _put(invoice, owner, amount, payment.id, "payment", by, uow)
        received = PaymentReceived(
            payment_id=payment.id,
            invoice_number=number,
            amount=amount,
            match=matched,
            credit_kept=left if last else Decimal(0),
        )
        uow.emit(
            received, order_id=owner.order_id, correlation_id=owner.correlation_id, occurred_at=payment.received_at
        )
        events.append((invoice, owner, matched))
    payment.invoice_number = taken[0][0] if taken else payment.invoice_number
    payment.match = events[0][2] if len(events) == 1 else (domain.Match.OVER if left else domain.Match.EXACT)
    payment.problem, payment.status = None, domain.PaymentStatus.APPLIED
    payment.applied_at, payment.applied_by, payment.credit_kept = uow.clock.now(), by, left
    where = f"invoice {payment.invoice_number}" if taken else f"the credit of {account.customer}"
    await resolve_exceptions(
        uow, kinds=PROBLEMS, subject_type="payment", subject_id=payment.id, reason=f"applied to {where}", by=by
    )
    for invoice, owner, matched in events:
        await _consequences(invoice, owner, matched, uow)
    if left:
        await keep_credit(account, left, payment, events[-1][0] if events else None, uow)
    settle_fx(payment, account, uow)
    for owner in _touched(targets, account):
        await ledger.release_if_paid(owner, uow)
        await ledger.settle(owner, uow)
        ledger.receivables_changed(owner, uow)
    return True


def _touched(targets: list[tuple[Invoice, Account]], account: Account) -> list[Account]:
    """The accounts a payment moved, each once."""
    touched = {a.order_id: a for _, a in targets}
    touched.setdefault(account.order_id, account)
    return list(touched.values())


def _onto_last(taken: list[tuple[str, Decimal]], number: str, more: Decimal) -> list[tuple[str, Decimal]]:
    if taken and taken[-1][0] == number:
        return [*taken[:-1], (number, taken[-1][1] + more)]
    return [*taken, (number, more)]


def _put(
    invoice: Invoice, account: Account, amount: Decimal, source_id: str, source: str, by: str, uow: UnitOfWork
) -> None:
    """Put money on an invoice, recorded as an application."""
    invoice.paid_amount += amount
    invoice.status = domain.invoice_status(invoice.amount, invoice.paid_amount, invoice.credited_amount)
    uow.session.add(
        PaymentApplication(
            payment_id=source_id,
            invoice_number=invoice.number,
            order_id=account.order_id,
            amount=amount,
            source=source,
            applied_at=uow.clock.now(),
            applied_by=by,
        )
    )


async def _mismatch(payment: Payment, number: str, account: Account, by: str, uow: UnitOfWork) -> None:
    named = f"invoice {number}" if number else f"order {account.order_id}"
    await resolve_exceptions(
        uow,
        kinds=["billing.unmatched_payment"],
        subject_type="payment",
        subject_id=payment.id,
        reason=f"it names {named} now",
        by=by,
    )
    payment.problem = domain.PaymentProblem.CURRENCY_MISMATCH
    facts: dict[str, Any] = {"invoice": number} if number else {"order": account.order_id}
    await raise_exception(
        uow,
        kind_name="billing.currency_mismatch",
        order_id=account.order_id,
        subject_type="payment",
        subject_id=payment.id,
        title=f"Payment {payment.id} of {payment.amount} {payment.currency} for {named} in {account.currency}",
        facts=facts | {"amount": payment.amount, "currency": payment.currency},
    )


async def _consequences(invoice: Invoice, account: Account, matched: domain.Match, uow: UnitOfWork) -> None:
    """What money applied to an invoice leads to: on a cancelled order all of it is owed back; an overpayment is
    raised (what was kept as credit is said in it); an overdue is cleared."""
    subject: dict[str, Any] = {"subject_type": "invoice", "subject_id": invoice.id}
    if account.cancelled_at is not None:
        await ledger.refund_owed(invoice, invoice.paid_amount, f"order {account.order_id} is cancelled", uow)
    elif matched == domain.Match.OVER and (over := billed(invoice).owed_back):
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


# --- customer credit ------------------------------------------------------------------------------------


async def _credit_row(customer: str, currency: str, uow: UnitOfWork) -> CustomerCredit:
    start = {"customer": customer, "currency": currency, "balance": Decimal(0), "updated_at": uow.clock.now()}
    await uow.session.exec(insert(CustomerCredit).values(**start).on_conflict_do_nothing())
    row = await uow.get(CustomerCredit, (customer, currency), lock=True)
    assert row is not None
    return row


async def keep_credit(
    account: Account, amount: Decimal, payment: Payment, invoice: Invoice | None, uow: UnitOfWork
) -> None:
    """Keep money beyond what was owed as the customer's credit, for their next invoice; an overpayment is said on
    its invoice (billing.overpayment) until the credit is used."""
    row = await _credit_row(account.customer, payment.currency, uow)
    row.balance += amount
    row.updated_at = uow.clock.now()
    number = invoice.number if invoice is not None else ""
    uow.session.add(
        CreditEntry(
            customer=account.customer,
            currency=payment.currency,
            amount=amount,
            payment_id=payment.id,
            invoice_number=number,
            at=uow.clock.now(),
        )
    )
    if invoice is not None:
        await raise_exception(
            uow,
            kind_name="billing.overpayment",
            order_id=invoice.order_id,
            subject_type="invoice",
            subject_id=invoice.id,
            title=f"Invoice {invoice.number} overpaid by {amount} {invoice.currency}: kept as customer credit",
            facts={"invoice": invoice.number, "overpaid": amount, "currency": invoice.currency, "kept_as_credit": True},
        )


async def apply_credit(invoice: Invoice, account: Account, uow: UnitOfWork) -> None:
    """Pay a new invoice from the customer's credit, as far as it goes (recorded on the credit and the invoice)."""
    if not account.customer or account.cancelled_at is not None or billed(invoice).open <= 0:
        return
    if await uow.get(CustomerCredit, (account.customer, invoice.currency)) is None:
        return  # never had credit: no lock taken
    row = await _credit_row(account.customer, invoice.currency, uow)
    take = min(row.balance, billed(invoice).open)
    if take <= 0:
        return
    row.balance -= take
    row.updated_at = uow.clock.now()
    _put(invoice, account, take, "", "credit", SYSTEM, uow)
    uow.session.add(
        CreditEntry(
            customer=account.customer,
            currency=invoice.currency,
            amount=-take,
            invoice_number=invoice.number,
            at=uow.clock.now(),
        )
    )
    applied = CreditApplied(
        customer=account.customer,
        invoice_number=invoice.number,
        amount=take,
        currency=invoice.currency,
        balance=row.balance,
    )
    uow.emit(applied, order_id=account.order_id, correlation_id=account.correlation_id)
    if row.balance == 0:
        await _credit_used(account.customer, invoice, uow)
    await _consequences(invoice, account, domain.Match.EXACT, uow)


async def _credit_used(customer: str, invoice: Invoice, uow: UnitOfWork) -> None:
    """The customer's credit is used up: the overpayments it came from are settled."""
    sources = select(CreditEntry.invoice_number).where(
        CreditEntry.customer == customer, CreditEntry.currency == invoice.currency, col(CreditEntry.amount) > 0
    )
    for number in set((await uow.session.exec(sources.limit(500))).all()):
        if number:
            await resolve_exception(
                uow,
                kind_name="billing.overpayment",
                subject_type="invoice",
                subject_id=number,
                reason=f"credit applied to invoice {invoice.number}",
            )


async def apply_waiting(invoice: Invoice, account: Account, uow: UnitOfWork) -> None:
    """A new invoice: payments that named it before it existed are applied, then the customer's credit."""
    early = select(Payment).where(
        Payment.invoice_number == invoice.number, Payment.problem == domain.PaymentProblem.UNMATCHED
    )
    for payment in await uow.all(early, lock=True):  # the money came first (re-checked under the lock)
        await apply_payment(payment, invoice, account, uow)
    await apply_credit(invoice, account, uow)


def settle_fx(payment: Payment, account: Account, uow: UnitOfWork) -> None:
    """An export's receipt in a foreign currency is settled into the home currency at the bank's rate (else the
    configured one): recorded on the payment and announced as the export's FX settlement step."""
    config = settings.current()
    if payment.currency == config.home_currency or account.destination_country == HOME_COUNTRY:
        return
    rate = payment.fx_rate or config.fx_rates.get(payment.currency)
    if rate is None:
        return  # no rate known: finance settles it by hand
    payment.fx_rate, payment.home_amount = rate, (payment.amount * rate).quantize(Decimal("0.01"))
    settled = FORMALITY["billing"](
        step=FormalityStep.FX_SETTLEMENT,
        status="settled",
        subject_id=payment.id,
        reference=payment.reference[:200],
        currency=payment.currency,
        amount=payment.amount,
        rate=rate,
        home_currency=config.home_currency,
        home_amount=payment.home_amount,
    )
    uow.emit(settled, order_id=account.order_id, correlation_id=account.correlation_id)
