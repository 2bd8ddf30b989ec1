"""Order service wiring."""

from pathlib import Path

from services.order import followup_api, handlers, masters, review_api, tasks, tracking_api, webhooks
from services.order.api import exceptions, router
from services.order.console import session as console_session
from services.order.console import track as console_track
from services.order.console import views as console
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
        console_session.sign_in,
        console.router,
        console_track.public,
    ],
    on_rejected=handlers.on_rejected,
    rules=handlers.rules,
    background=[webhooks.deliver_webhooks],
    on_start=[masters.seed, tasks.seed],
    open_paths=("/track/", "/console/static/", console_session.LOGIN),
    sign_in=("/console", console_session.LOGIN),
)
