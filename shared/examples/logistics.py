"""Examples of the logistics contracts added after the first release (see shared/examples/__init__.py)."""

from typing import Any

from shared import topics
from shared.examples import OCCURRED_AT, ORDER_ID, SHIPMENT_ID, TRACKING_NUMBER

EXAMPLES: dict[str, dict[str, Any]] = {
    "logistics.shipment_dispatched": {
        "shipment_id": SHIPMENT_ID,
        "dispatched_at": "2027-02-26T10:00:00+08:00",
        "lines": [{"line_no": 1, "quantity": 118}],
    },
    "logistics.document_issued": {
        "document_id": "DOC4A2C6E8B1D3F5A7",
        "shipment_id": SHIPMENT_ID,
        "kind": "packing_list",
        "document_version": 2,
        "checksum": "9f2d1c0b8a7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c",
        "filename": f"packing_list-{SHIPMENT_ID}-v2.pdf",
    },
    "logistics.claim_changed": {
        "claim_id": "CL5B3D7F9A2C4E6B81",
        "shipment_id": SHIPMENT_ID,
        "carrier": "sf-express",
        "status": "submitted",
        "reason": "damage",
        "amount": "1235.00",
        "currency": "USD",
        "note": "2 cartons crushed; photos and the consignee's remark attached",
    },
}
PARTNER_EXAMPLES: dict[str, dict[str, Any]] = {
    topics.WMS_EVENTS: {
        "message_id": "wms-55120",
        "occurred_at": OCCURRED_AT,
        "type": "packed",
        "order_id": ORDER_ID,
        "quantity": 118,
        "packages": 4,
        "weight_kg": "236.000",
        "lines": [{"line_no": 1, "quantity": 118}],
        "net_weight_kg": "220.500",
        "volume_m3": "0.768",
        "dimensions": [{"length_cm": 80, "width_cm": 60, "height_cm": 40, "count": 4}],
    },
    topics.CARRIER_TRACKING: {
        "message_id": f"sf-express-{TRACKING_NUMBER}-7",
        "occurred_at": "2027-02-27T15:40:00+08:00",
        "carrier": "sf-express",
        "tracking_number": TRACKING_NUMBER,
        "status": "delivered",
        "location": "Shenzhen",
        "received_quantity": 118,
        "carrier_code": "80",
        "estimated_delivery": "2027-02-27",
        "signed_by": "Li Wei (receiving dock)",
        "photo_ref": "sf/pod/SF1234567890.jpg",
        "lines": [{"line_no": 1, "quantity": 118}],
    },
}
