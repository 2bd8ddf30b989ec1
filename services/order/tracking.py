"""The tracking table's read model: what every service's events say about an order's money and dates."""

from services.order.models import Order
from shared.contracts import (
    CreditNoteIssued,
    Event,
    EventData,
    InvoiceIssued,
    OrderTerms,
    PaymentReceived,
    ProductionOrderCreated,
    WorkOrderChanged,
)


def follow(order: Order, event: Event[EventData]) -> None:
    """Fold one lifecycle event into the order's row: planned completion, amounts invoiced, paid, credited."""
    data = event.data
    if isinstance(data, ProductionOrderCreated | WorkOrderChanged):
        if order.planned_completion is None or data.planned_completion > order.planned_completion:
            order.planned_completion = data.planned_completion
    elif isinstance(data, InvoiceIssued):
        order.invoiced_amount += data.amount
        if order.next_due_date is None or data.due_date < order.next_due_date:
            order.next_due_date = data.due_date
    elif isinstance(data, PaymentReceived):
        order.paid_amount += data.amount
    elif isinstance(data, CreditNoteIssued):
        order.credited_amount += data.amount
    if order.paid_amount >= order.invoiced_amount - order.credited_amount:
        order.next_due_date = None  # nothing left to collect


def search_text(terms: OrderTerms) -> str:
    """What full-text search on the tracking table looks in: customer, reference, products and SKUs."""
    words = [terms.customer, terms.external_ref, terms.contact]
    for line in terms.lines:
        words += [line.product, line.sku or ""]
    return " ".join(w for w in words if w).lower()
