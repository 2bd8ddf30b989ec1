"""Logistics service wiring."""

from pathlib import Path

from services.logistics import api, claims, customs, documents, handlers, webhooks
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
    routers=[api.router, documents.router, claims.router, customs.router, webhooks.router],
    rules=handlers.rules,
    open_paths=("/carriers/",),  # carriers' webhooks authenticate by their signatures (webhooks.py)
)
