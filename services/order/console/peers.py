"""Reading the other services through their HTTP APIs (never their tables): what the order page and the customer
page show of work orders, shipments, invoices and payments. A service that is not configured, not reachable or
lacks a route gives an answer saying so, and the page shows the rest."""

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from services.order.settings import OrderSettings
from shared.service import Runtime

log = logging.getLogger("gendan.order.console")
TIMEOUT = 5.0


@dataclass(frozen=True)
class Answer:
    """What a service said: its JSON, or why there is none."""

    data: Any = None
    problem: str | None = None  # unconfigured | unreachable | missing | error


def client(runtime: Runtime, **options: Any) -> httpx.AsyncClient:
    """A client for the other services' APIs, signed in as this service (its SERVICE_TOKEN, where auth is on)."""
    settings = runtime.settings
    token = settings.service_token.get_secret_value() if isinstance(settings, OrderSettings) else ""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(timeout=TIMEOUT, headers=headers, **options)


def base_urls(runtime: Runtime) -> dict[str, str]:
    settings = runtime.settings
    return settings.service_urls if isinstance(settings, OrderSettings) else {}


async def get(client: httpx.AsyncClient, urls: dict[str, str], service: str, path: str, **params: Any) -> Answer:
    """GET one path of one service as JSON."""
    base = urls.get(service)
    if not base:
        return Answer(problem="unconfigured")
    try:
        response = await client.get(base.rstrip("/") + path, params=params)
    except httpx.HTTPError as error:
        log.warning("console could not read %s%s: %s", service, path, error)
        return Answer(problem="unreachable")
    if response.status_code == 404:
        return Answer(problem="missing")
    if not response.is_success:
        return Answer(problem="error")
    return Answer(data=response.json())


async def order_story(runtime: Runtime, order_id: str) -> dict[str, Answer]:
    """Everything the other services hold about one order, read at once."""
    urls = base_urls(runtime)
    async with client(runtime) as http:
        work, shipments, invoices, payments = await asyncio.gather(
            get(http, urls, "production", "/work-orders", order_id=order_id),
            get(http, urls, "logistics", "/shipments", order_id=order_id),
            get(http, urls, "billing", f"/orders/{order_id}/invoices"),
            get(http, urls, "billing", "/payments", order_id=order_id),
        )
        scans = await shipment_scans(http, urls, shipments)
    return {"work_orders": work, "shipments": shipments, "invoices": invoices, "payments": payments, **scans}


async def shipment_scans(http: httpx.AsyncClient, urls: dict[str, str], shipments: Answer) -> dict[str, Answer]:
    """The carrier scans of each shipment (`scans:<id>`), where logistics serves them."""
    ids = [s["id"] for s in shipments.data or [] if isinstance(s, dict) and isinstance(s.get("id"), str)][:20]
    found = await asyncio.gather(*(get(http, urls, "logistics", f"/shipments/{i}/scans") for i in ids))
    return {f"scans:{i}": answer for i, answer in zip(ids, found, strict=True)}


async def customer_shipments(runtime: Runtime, order_id: str) -> tuple[Answer, dict[str, Answer]]:
    """An order's shipments and their scans, for the customer's page."""
    urls = base_urls(runtime)
    async with client(runtime) as http:
        shipments = await get(http, urls, "logistics", "/shipments", order_id=order_id)
        scans = await shipment_scans(http, urls, shipments)
    return shipments, scans


async def aging(runtime: Runtime, customer: str | None) -> Answer:
    """Billing's receivables aging (for one customer or all), where billing serves it."""
    params = {"customer": customer} if customer else {}
    async with client(runtime) as http:
        return await get(http, base_urls(runtime), "billing", "/receivables/aging", **params)
