"""The finance partner: the customer's payments as the finance system sees them."""

from decimal import Decimal

from deploy.simulators.base import Partner, Routes, clock, message_id
from shared import topics
from shared.contracts import CreditApplied, Envelope, FinancePayment, InvoiceIssued


class Finance(Partner):
    """Pays every invoice in full (unless `sim_finance_pays` is off): what the invoice asks for, less any customer
    credit billing applied to it, naming the invoice, the customer as payer and the value date."""

    credited: dict[str, Decimal]

    async def finance(self, event: Envelope) -> None:
        if not self.settings.sim_finance_pays:
            return
        invoice = event.payload(InvoiceIssued)
        await self.pause()  # billing's credit_applied for this invoice (same order, same partition) comes meanwhile
        amount = invoice.amount - self._credits().pop(invoice.invoice_number, Decimal(0))
        if amount <= 0:
            return
        message = FinancePayment(
            message_id=message_id(invoice.invoice_number, "paid"),
            occurred_at=clock.now(),
            invoice_number=invoice.invoice_number,
            amount=amount,
            currency=invoice.currency,
            payer=invoice.customer,
            value_date=clock.now().date(),
        )
        await self.send(topics.FINANCE_PAYMENTS, invoice.invoice_number, message)

    async def credit(self, event: Envelope) -> None:
        """Billing paid part of an invoice from the customer's credit: finance pays only the rest."""
        applied = event.payload(CreditApplied)
        credits = self._credits()
        credits[applied.invoice_number] = credits.get(applied.invoice_number, Decimal(0)) + applied.amount

    def _credits(self) -> dict[str, Decimal]:
        if not hasattr(self, "credited"):
            self.credited = {}
        return self.credited

    def routes(self) -> Routes:
        routes = super().routes()
        answers = routes.setdefault(topics.BILLING_EVENTS, {})
        answers[InvoiceIssued] = self.finance
        answers[CreditApplied] = self.credit
        return routes
