"""The registry of exception kinds: what can go wrong at each stage, how bad it is by default, whose job
it is to chase, and how long they have before it is escalated.

Each service raises only the kinds of its own stage (the prefix of the kind names the service); each
stage's kinds are in its own module here.
"""

from shared.kinds.base import HOUR, Cause, Kind, Role, Severity, Stage
from shared.kinds.billing import BILLING_KINDS
from shared.kinds.logistics import LOGISTICS_KINDS
from shared.kinds.order import ORDER_KINDS
from shared.kinds.production import PRODUCTION_KINDS

__all__ = ["HOUR", "KINDS", "Cause", "Kind", "Role", "Severity", "Stage", "kind"]

KINDS: dict[str, Kind] = {k.name: k for k in ORDER_KINDS + PRODUCTION_KINDS + LOGISTICS_KINDS + BILLING_KINDS}


def kind(name: str) -> Kind:
    """The registered kind (KeyError names an unregistered one: a bug, not data)."""
    return KINDS[name]
