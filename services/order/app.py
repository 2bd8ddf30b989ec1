"""Order service wiring."""

from pathlib import Path

from fastapi import FastAPI

from services.order.api import router
from services.order.consumers import SUBSCRIPTIONS
from services.order.settings import OrderSettings
from shared import topics
from shared.service import ServiceSpec, create_app

SPEC = ServiceSpec(
    name="order",
    topic=topics.ORDER_EVENTS,
    migrations=Path(__file__).parent / "migrations",
    subscriptions=SUBSCRIPTIONS,
    routers=[router],
)


def app(settings: OrderSettings | None = None) -> FastAPI:
    """The order service as an ASGI app."""
    return create_app(SPEC, settings or OrderSettings())
