"""Each service's /metrics on the running system: consumer lag per partition of every topic it reads,
outbox backlog, set-aside and parked messages; lag drains to zero once the orders are through."""

import asyncio
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from deploy.system import SERVICES, System
from services.billing.app import SPEC as BILLING
from services.logistics.app import SPEC as LOGISTICS
from services.order.app import SPEC as ORDER
from services.production.app import SPEC as PRODUCTION
from tests.e2e.flows import order_body, post_orders, wait_closed

pytestmark = pytest.mark.e2e
SPECS = (ORDER, PRODUCTION, LOGISTICS, BILLING)


async def scrape(system: System, service: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    async with system.client(service, timeout=30) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        family.name: [(sample.labels, sample.value) for sample in family.samples]
        for family in text_string_to_metric_families(response.text)
    }


async def test_every_service_reports_its_lag_and_backlog(shared_system: System) -> None:
    orders = await post_orders(shared_system, [order_body(n) for n in range(3)])
    await wait_closed(shared_system, [o["id"] for o in orders])
    expected_topics = {spec.name: {sub.topic for sub in spec.subscriptions} for spec in SPECS}  # what each reads
    deadline = time.monotonic() + 30
    for service in SERVICES:
        while True:
            found = await scrape(shared_system, service)
            lag = found["gendan_consumer_lag"]
            assert {labels["topic"] for labels, _ in lag} == expected_topics[service], service
            if all(value == 0 for _, value in lag) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        assert all(value == 0 for _, value in lag), (service, [x for x in lag if x[1]])
        for name in ("gendan_outbox_unsent", "gendan_outbox_set_aside", "gendan_parked_messages"):
            [(labels, _)] = found[name]
            assert labels == {"service": service}
        assert found["gendan_outbox_set_aside"][0][1] == 0


async def test_alive_and_ready(shared_system: System) -> None:
    for service in SERVICES:
        async with shared_system.client(service, timeout=30) as client:
            alive, ready = await client.get("/health"), await client.get("/ready")
        assert alive.status_code == 200 and alive.json()["status"] == "ok"
        assert ready.status_code == 200 and ready.json()["migration"].isdigit(), ready.text


async def test_every_service_counts_what_it_handles(shared_system: System) -> None:
    orders = await post_orders(shared_system, [order_body(n) for n in range(2)])
    await wait_closed(shared_system, [o["id"] for o in orders])
    for service in SERVICES:
        async with shared_system.client(service, timeout=30) as client:
            text = (await client.get("/metrics")).text
        samples = [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]
        applied = [v for n, labels, v in samples if n == "gendan_messages_total" and labels["outcome"] == "applied"]
        assert sum(applied) > 0, service
        assert any(n == "gendan_batch_size_count" and v > 0 for n, _, v in samples), service
        assert any(n == "gendan_db_pool_size" and labels == {"service": service} and v > 0 for n, labels, v in samples)
        timed = [
            (labels["method"], labels["route"], labels["status"], v)
            for n, labels, v in samples
            if n == "gendan_http_request_seconds_count"
        ]
        if service == "order":  # every order above was posted over HTTP and answered 201
            assert any(m == "POST" and r == "/orders" and s == "201" and v >= 2 for m, r, s, v in timed), timed
        assert all(r != "/orders/{order_id}" or m == "GET" for m, r, _, _ in timed)  # route templates, not ids
