"""Examples of the billing contracts added after the first release (see shared/examples/__init__.py)."""

from typing import Any

from shared.examples import INVOICE_NUMBER, ORDER_ID

EXAMPLES: dict[str, dict[str, Any]] = {
    "billing.shipment_held": {
        "amount_due": "7098.00",
        "currency": "USD",
        "invoice_numbers": [INVOICE_NUMBER],
        "reason": "70 % balance due before shipment is unpaid",
    },
    "billing.shipment_released": {"released_at": "2027-02-25T16:00:00+08:00", "by": "system"},
    "billing.credit_applied": {
        "customer": "ACME Industrial",
        "invoice_number": f"INV-{ORDER_ID}-2",
        "amount": "120.00",
        "currency": "USD",
        "balance": "0.00",
    },
    "billing.reminder_sent": {
        "reminder_id": "RM-2027-03-04-ACME-USD",
        "customer": "ACME Industrial",
        "currency": "USD",
        "level": 2,
        "total": "7098.00",
        "invoices": [
            {
                "invoice_number": INVOICE_NUMBER,
                "order_id": ORDER_ID,
                "open_amount": "7098.00",
                "due_date": "2027-03-03",
                "level": 2,
            }
        ],
    },
}
PARTNER_EXAMPLES: dict[str, dict[str, Any]] = {}
