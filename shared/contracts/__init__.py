"""Event contracts: one envelope for every lifecycle event, frozen payloads, partner messages.

One module per domain (order, production, logistics, billing, exceptions) over `base`; everything is
re-exported here, so `from shared.contracts import X` names any contract. Contracts change only by
adding fields. Field descriptions flow into the AsyncAPI documents.
"""

from shared.contracts.base import *  # noqa: F403
from shared.contracts.base import EventData
from shared.contracts.billing import *  # noqa: F403
from shared.contracts.billing import BILLING_EVENTS
from shared.contracts.exceptions import *  # noqa: F403
from shared.contracts.exceptions import EXCEPTION_EVENTS
from shared.contracts.formalities import *  # noqa: F403
from shared.contracts.formalities import FORMALITY_EVENTS
from shared.contracts.logistics import *  # noqa: F403
from shared.contracts.logistics import LOGISTICS_EVENTS
from shared.contracts.order import *  # noqa: F403
from shared.contracts.order import ORDER_EVENTS
from shared.contracts.production import *  # noqa: F403
from shared.contracts.production import PRODUCTION_EVENTS

LIFECYCLE_EVENTS: tuple[type[EventData], ...] = (
    ORDER_EVENTS + PRODUCTION_EVENTS + LOGISTICS_EVENTS + BILLING_EVENTS + FORMALITY_EVENTS + EXCEPTION_EVENTS
)
EVENT_TYPES: dict[str, type[EventData]] = {model.event_type: model for model in LIFECYCLE_EVENTS}
