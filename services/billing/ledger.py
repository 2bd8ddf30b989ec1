"""What every billing handler shares: an order's account and invoices, settlement, the shipment hold and the
customer's receivables."""

from decimal import Decimal
from functools import partial

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from services.billing import domain
from services.billing.models import Account, CustomerCredit, Invoice, Receivables
from shared.contracts import OrderSettled, PaymentTerms, ReceivablesChanged, ShipmentHeld, ShipmentReleased
from shared.exceptions import SYSTEM, raise_exception
from shared.unit_of_work import UnitOfWork

HELD, RELEASED = "held", "released"


def billed(invoice: Invoice) -> domain.Billed:
    """An invoice as the billing rules see it."""
    return domain.Billed(
        invoice.installment, invoice.number, invoice.amount, invoice.credited_amount, invoice.paid_amount
    )


def terms_of(account: Account) -> PaymentTerms:
    return PaymentTerms.model_validate(account.terms)


def priced(account: Account) -> list[domain.Priced]:
    """The order's current lines with their prices."""
    return [
        domain.Priced(int(line["line_no"]), str(line["product"]), int(line["quantity"]), Decimal(line["unit_price"]))
        for line in account.lines
    ]


async def order_invoices(order_id: str, uow: UnitOfWork) -> list[Invoice]:
    """The order's invoices, by installment, each installment's own invoice before its further ones."""
    query = select(Invoice).where(Invoice.order_id == order_id)
    return await uow.all(query.order_by(col(Invoice.installment), col(Invoice.issued_at), col(Invoice.number)))


async def locked_account(order_id: str, uow: UnitOfWork) -> Account:
    return await uow.require(Account, order_id, why="billing has not seen this order accepted yet", lock=True)


def complete(account: Account, invoices: list[Invoice]) -> set[int]:
    """The installments invoiced in full: their invoices ask for the installment's amount on the current total."""
    smallest = domain.unit(account.currency)
    done = set()
    for n, (_, target) in enumerate(domain.installment_amounts(terms_of(account), account.total_amount, smallest)):
        mine = [billed(i) for i in invoices if i.installment == n]
        if mine and sum((i.net for i in mine), Decimal(0)) >= target:
            done.add(n)
    return done


async def settle(account: Account, uow: UnitOfWork) -> None:
    """Mark the order settled once it is delivered and nothing is owed either way (domain.settled), and announce
    it (billing.order_settled) with what its invoices ask for after credit notes and what was paid. A cancelled
    order is never announced settled (it is over already), and stops being settled if money comes in for it,
    which is owed back."""
    rows, cancelled = await order_invoices(account.order_id, uow), account.cancelled_at
    invoices = [billed(i) for i in rows]
    done = domain.settled(
        terms_of(account),
        invoices,
        cancelled=cancelled is not None,
        complete=complete(account, rows),
        delivered=account.delivered_at is not None,
    )
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


# --- the shipment hold ------------------------------------------------------------------------------------


async def hold_or_release(account: Account, uow: UnitOfWork) -> None:
    """A shipment of the order is planned: hold it while an installment due before shipping is unpaid
    (billing.shipment_held), else release it at once. Decided once per order; payments release it later."""
    terms = terms_of(account)
    if account.hold or not terms.holds_shipment or account.cancelled_at is not None:
        return
    invoices = [billed(i) for i in await order_invoices(account.order_id, uow)]
    if domain.may_ship(terms, invoices):
        release(account, uow)
        return
    amount, numbers, _ = domain.due_before_shipment(terms, invoices)
    named = ", ".join(numbers[:12]) or "not invoiced yet"
    account.hold = HELD
    held = ShipmentHeld(
        amount_due=amount,
        currency=account.currency,
        invoice_numbers=numbers[:12],
        reason=f"{amount} {account.currency} due before shipment is unpaid ({named})",
    )
    uow.emit(held, order_id=account.order_id, correlation_id=account.correlation_id)


async def release_if_paid(account: Account, uow: UnitOfWork) -> None:
    """A held order whose installments due before shipping are all paid now: its shipments may leave."""
    if account.hold != HELD:
        return
    if domain.may_ship(terms_of(account), [billed(i) for i in await order_invoices(account.order_id, uow)]):
        release(account, uow)


def release(account: Account, uow: UnitOfWork, by: str = SYSTEM) -> None:
    """Let the order's shipments leave (billing.shipment_released), by payment or by a person's decision."""
    account.hold, account.released_at = RELEASED, uow.clock.now()
    released = ShipmentReleased(released_at=account.released_at, by=by)
    uow.emit(released, order_id=account.order_id, correlation_id=account.correlation_id)


# --- refunds and receivables ------------------------------------------------------------------------------


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
    credit = await uow.get(CustomerCredit, (account.customer, account.currency))
    balance = credit.balance if credit is not None else Decimal(0)
    changed = ReceivablesChanged(
        **key, open_amount=row.open_amount, overdue_amount=row.overdue_amount, credit_balance=balance
    )
    uow.emit(changed, order_id=account.order_id, correlation_id=account.correlation_id)
