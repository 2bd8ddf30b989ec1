"""The finance partner: the customer's payments as the finance system sees them."""

from deploy.simulators.base import Partner, Routes, clock, message_id
from shared import topics
from shared.contracts import Envelope, FinancePayment, InvoiceIssued


class Finance(Partner):
    """Pays every invoice in full (unless `sim_finance_pays` is off)."""

    async def finance(self, event: Envelope) -> None:
        if not self.settings.sim_finance_pays:
            return
        invoice = event.payload(InvoiceIssued)
        await self.pause()
        message = FinancePayment(
            message_id=message_id(invoice.invoice_number, "paid"),
            occurred_at=clock.now(),
            invoice_number=invoice.invoice_number,
            amount=invoice.amount,
            currency=invoice.currency,
        )
        await self.send(topics.FINANCE_PAYMENTS, invoice.invoice_number, message)

    def routes(self) -> Routes:
        routes = super().routes()
        routes.setdefault(topics.BILLING_EVENTS, {})[InvoiceIssued] = self.finance
        return routes
