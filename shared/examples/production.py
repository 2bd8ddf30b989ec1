"""Examples of the production contracts added after the first release (see shared/examples/__init__.py)."""

from typing import Any

from shared import topics
from shared.examples import OCCURRED_AT, WORK_ORDER_ID

PURCHASE_ORDER_ID = "PO8B2E4D6F1A3C5E07"
INSPECTION_ID = "QC5E7A9C1B3D5F7A09"

EXAMPLES: dict[str, dict[str, Any]] = {
    "production.milestones_changed": {
        "work_order_id": WORK_ORDER_ID,
        "line_no": 1,
        "milestones": [
            {"name": "materials_ready", "planned": "2027-02-12", "actual": "2027-02-11"},
            {"name": "production_started", "planned": "2027-02-15", "projected": "2027-02-16"},
            {"name": "final_qc_passed", "planned": "2027-02-24"},
            {"name": "completed", "planned": "2027-02-25"},
        ],
    },
}
EXAMPLES |= {
    "production.purchase_order_created": {
        "purchase_order_id": PURCHASE_ORDER_ID,
        "line_no": 2,
        "product": "MT-7 motor mount",
        "sku": "MT-7",
        "quantity": 240,
        "supplier": "Dongguan Precision Castings",
        "needed_by": "2027-02-20",
    },
    "production.work_order_released": {"work_order_id": WORK_ORDER_ID},
    "production.gate_decided": {
        "work_order_id": WORK_ORDER_ID,
        "gate": "sample",
        "approved": False,
        "comments": "Paint colour too dark; see photo.",
        "evidence": ["mail-2027-02-03-acme", "photo-0042"],
        "by": "purchasing@acme.example",
    },
    "production.inspection_recorded": {
        "work_order_id": WORK_ORDER_ID,
        "inspection_id": INSPECTION_ID,
        "stage": "final",
        "passed": False,
        "inspected_quantity": 80,
        "defect_quantity": 6,
        "note": "Burrs on the flange.",
    },
    "production.quality_decided": {
        "work_order_id": WORK_ORDER_ID,
        "inspection_id": INSPECTION_ID,
        "decision": "rework",
        "by": "qc.zhang",
    },
    "production.progress_reported": {
        "work_order_id": WORK_ORDER_ID,
        "line_no": 1,
        "operation": "machining",
        "good_quantity": 60,
        "scrap_quantity": 1,
        "line_good_quantity": 40,
        "line_scrap_quantity": 1,
    },
}
PARTNER_EXAMPLES: dict[str, dict[str, Any]] = {
    topics.SUPPLIER_EVENTS: {
        "message_id": "sup-dpc-20270212-7",
        "occurred_at": OCCURRED_AT,
        "type": "confirmed",
        "purchase_order_id": PURCHASE_ORDER_ID,
        "confirmed_date": "2027-02-18",
    },
}
