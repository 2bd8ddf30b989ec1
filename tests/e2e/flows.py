"""Helpers for end-to-end tests: post orders, wait for them to close, read each service's tables."""

import asyncio
import time
from datetime import date, timedelta
from typing import Any
from uuid import uuid4

import asyncpg

from deploy.system import System
from shared.db import asyncpg_dsn

DEPOSIT_30_70 = {
    "installments": [
        {"trigger": "acceptance", "percent": "30", "net_days": 0},
        {"trigger": "delivery", "percent": "70", "net_days": 30},
    ]
}


def order_body(n: int, *, terms: dict[str, Any] | None = None, today: date | None = None) -> dict[str, Any]:
    """A one-line order due in 40 days; every other one with a 30 % deposit when `terms` is not given."""
    body: dict[str, Any] = {
        "customer": "ACME Industrial",
        "external_ref": f"PO-{uuid4().hex[:10]}-{n}",
        "currency": "USD",
        "delivery_date": ((today or date.today()) + timedelta(days=40)).isoformat(),
        "delivery_address": "88 Harbour Road, Shenzhen",
        "contact": "purchasing@acme.example",
        "lines": [{"line_no": 1, "product": "GX-100 coupling", "quantity": 10 + n, "unit_price": "12.35"}],
    }
    if terms is not None:
        body["payment_terms"] = terms
    elif n % 2:
        body["payment_terms"] = DEPOSIT_30_70
    return body


async def post_orders(system: System, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Post every order at once; returns the created orders."""
    async with system.client("order", timeout=30) as client:
        responses = await asyncio.gather(*(client.post("/orders", json=b) for b in bodies))
    for r in responses:
        assert r.status_code == 201, r.text
    return [r.json() for r in responses]


async def rows(system: System, service: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """Run a query on one service's own database."""
    conn = await asyncpg.connect(asyncpg_dsn(system.database_url(service)))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def wait_closed(system: System, order_ids: list[str], timeout: float = 120) -> None:
    """Wait until every order is closed; fails naming the ones that are not."""
    deadline = time.monotonic() + timeout
    open_ids = set(order_ids)
    while time.monotonic() < deadline:
        try:
            found = await rows(system, "order", "SELECT id, status FROM orders WHERE id = ANY($1::text[])", order_ids)
        except (OSError, asyncpg.PostgresError):
            found = []
        open_ids = {r["id"] for r in found if r["status"] != "closed"} | (set(order_ids) - {r["id"] for r in found})
        if not open_ids:
            return
        await asyncio.sleep(0.5)
    statuses = await rows(system, "order", "SELECT id, status FROM orders WHERE id = ANY($1::text[])", list(open_ids))
    raise AssertionError(f"{len(open_ids)} orders not closed: {[tuple(r) for r in statuses][:10]}")


def expected_invoices(body: dict[str, Any]) -> int:
    return len(body.get("payment_terms", {"installments": [1]})["installments"])


async def assert_exactly_once(system: System, orders: list[dict[str, Any]], bodies: list[dict[str, Any]]) -> None:
    """Each order: one work order, one shipment, its invoices each paid once, one close."""
    ids = [o["id"] for o in orders]
    per_order = "SELECT order_id, count(*) AS n FROM {} WHERE order_id = ANY($1::text[]) GROUP BY order_id"
    work_orders = {
        r["order_id"]: r["n"] for r in await rows(system, "production", per_order.format("work_orders"), ids)
    }
    shipments = {r["order_id"]: r["n"] for r in await rows(system, "logistics", per_order.format("shipments"), ids)}
    invoices = {r["order_id"]: r["n"] for r in await rows(system, "billing", per_order.format("invoices"), ids)}
    payments = {r["order_id"]: r["n"] for r in await rows(system, "billing", per_order.format("payments"), ids)}
    closes = await rows(
        system,
        "order",
        "SELECT order_id, count(*) AS n FROM timeline WHERE type = 'order.closed' AND order_id = ANY($1::text[])"
        " GROUP BY order_id",
        ids,
    )
    for order, body in zip(orders, bodies, strict=True):
        oid = order["id"]
        assert work_orders.get(oid) == 1, f"{oid}: {work_orders.get(oid)} work orders"
        assert shipments.get(oid) == 1, f"{oid}: {shipments.get(oid)} shipments"
        assert invoices.get(oid) == expected_invoices(body), f"{oid}: {invoices.get(oid)} invoices"
        assert payments.get(oid) == expected_invoices(body), f"{oid}: {payments.get(oid)} payments"
    assert {r["order_id"]: r["n"] for r in closes} == dict.fromkeys(ids, 1)
    paid = await rows(
        system,
        "billing",
        "SELECT order_id, sum(amount) AS invoiced, sum(paid_amount) AS paid FROM invoices"
        " WHERE order_id = ANY($1::text[]) GROUP BY order_id",
        ids,
    )
    totals = {o["id"]: o["total_amount"] for o in orders}
    for r in paid:
        assert str(r["invoiced"]) == totals[r["order_id"]] == str(r["paid"]), tuple(r)
