"""Examples of the billing contracts added after the first release (see shared/examples/__init__.py)."""

from typing import Any

from shared.examples import INVOICE_NUMBER

EXAMPLES: dict[str, dict[str, Any]] = {
    "billing.shipment_held": {
        "amount_due": "7098.00",
        "currency": "USD",
        "invoice_numbers": [INVOICE_NUMBER],
        "reason": "70 % balance due before shipment is unpaid",
    },
    "billing.shipment_released": {"released_at": "2027-02-25T16:00:00+08:00", "by": "system"},
}
PARTNER_EXAMPLES: dict[str, dict[str, Any]] = {}
