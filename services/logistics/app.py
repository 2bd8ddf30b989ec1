"""Logistics service wiring."""

from pathlib import Path

from services.logistics import handlers
from services.logistics.api import router
from services.logistics.consumers import SUBSCRIPTIONS
from services.logistics.settings import LogisticsSettings
from shared import topics
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="logistics",
    topic=topics.LOGISTICS_EVENTS,
    settings=LogisticsSettings,
    migrations=Path(__file__).parent / "migrations",
    subscriptions=SUBSCRIPTIONS,
    routers=[router],
    rules=handlers.rules,
)
