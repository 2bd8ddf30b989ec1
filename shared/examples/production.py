"""Examples of the production contracts added after the first release (see shared/examples/__init__.py)."""

from typing import Any

from shared.examples import WORK_ORDER_ID

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
PARTNER_EXAMPLES: dict[str, dict[str, Any]] = {}
