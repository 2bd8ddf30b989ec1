"""Order service wiring."""

from pathlib import Path

from services.order import followup_api, handlers, masters, review_api, tasks, tracking_api, webhooks
from services.order.api import exceptions, router
from services.order.consumers import SUBSCRIPTIONS
from services.order.settings import OrderSettings
from shared import topics
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="order",
    topic=topics.ORDER_EVENTS,
    settings=OrderSettings,
    migrations=Path(__file__).parent / "migrations",
    subscriptions=SUBSCRIPTIONS,
    routers=[
        router,
        review_api.router,
        review_api.master_data,
        tracking_api.router,
        followup_api.router,
        exceptions,
        webhooks.router,
    ],
    on_rejected=handlers.on_rejected,
    rules=handlers.rules,
    background=[webhooks.deliver_webhooks],
    on_start=[masters.seed, tasks.seed],
)
