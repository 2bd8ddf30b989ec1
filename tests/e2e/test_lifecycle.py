"""The thin lifecycle end to end: four service processes on real Kafka and PostgreSQL."""

from datetime import datetime

import pytest

from deploy.system import System
from tests.e2e.flows import assert_exactly_once, order_body, post_orders, wait_closed

pytestmark = pytest.mark.e2e


async def test_twenty_concurrent_orders_all_close_exactly_once(shared_system: System) -> None:
    bodies = [order_body(n) for n in range(20)]
    orders = await post_orders(shared_system, bodies)

    await wait_closed(shared_system, [o["id"] for o in orders])

    await assert_exactly_once(shared_system, orders, bodies)


async def test_order_shows_status_and_timeline(shared_system: System) -> None:
    body = order_body(0)
    [order] = await post_orders(shared_system, [body])
    await wait_closed(shared_system, [order["id"]])

    async with shared_system.client("order") as client:
        shown = (await client.get(f"/orders/{order['id']}")).json()
        missing = await client.get("/orders/NOPE")
        again = await client.post("/orders", json=body)
        conflict = await client.post("/orders", json={**body, "contact": "someone else"})
        invalid = await client.post("/orders", json={**body, "lines": [], "currency": "usd"})
        listed = (await client.get("/orders", params={"status": "closed"})).json()

    types = [e["type"] for e in shown["timeline"]]
    times = [datetime.fromisoformat(e["occurred_at"]) for e in shown["timeline"]]
    assert times == sorted(times), "the timeline is in the order things happened"
    assert shown["status"] == "closed"
    assert types[:3] == ["order.review_requested", "production.feasibility_assessed", "order.accepted"]
    assert types[-1] == "order.closed"
    for expected in ("production.order_ready", "logistics.shipment_delivered", "billing.order_settled"):
        assert expected in types
    assert missing.status_code == 404 and "NOPE" in missing.json()["detail"]
    assert again.status_code == 200 and again.json()["id"] == order["id"]
    assert conflict.status_code == 409 and "other terms" in conflict.json()["detail"]
    assert invalid.status_code == 422
    assert {e["loc"][-1] for e in invalid.json()["detail"]} == {"lines", "currency"}
    assert order["id"] in [o["id"] for o in listed]
