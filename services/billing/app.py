"""Billing service wiring."""

from pathlib import Path

from services.billing import handlers
from services.billing.api import router
from services.billing.consumers import SUBSCRIPTIONS
from services.billing.settings import BillingSettings
from shared import topics
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="billing",
    topic=topics.BILLING_EVENTS,
    settings=BillingSettings,
    migrations=Path(__file__).parent / "migrations",
    subscriptions=SUBSCRIPTIONS,
    routers=[router],
    rules=handlers.rules,
)
