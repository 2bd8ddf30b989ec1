"""Production service wiring."""

from pathlib import Path

from services.production import handlers, masters
from services.production.api import router
from services.production.consumers import SUBSCRIPTIONS
from services.production.settings import ProductionSettings
from shared import topics
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="production",
    topic=topics.PRODUCTION_EVENTS,
    settings=ProductionSettings,
    migrations=Path(__file__).parent / "migrations",
    subscriptions=SUBSCRIPTIONS,
    routers=[router],
    rules=handlers.rules,
    on_start=[masters.seed],
)
