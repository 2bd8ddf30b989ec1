"""Examples of the logistics contracts added after the first release (see shared/examples/__init__.py)."""

from typing import Any

from shared.examples import SHIPMENT_ID

EXAMPLES: dict[str, dict[str, Any]] = {
    "logistics.shipment_dispatched": {
        "shipment_id": SHIPMENT_ID,
        "dispatched_at": "2027-02-26T10:00:00+08:00",
        "lines": [{"line_no": 1, "quantity": 118}],
    },
}
PARTNER_EXAMPLES: dict[str, dict[str, Any]] = {}
