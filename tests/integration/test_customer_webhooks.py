"""Customer milestone notices on a real database and a real HTTP receiver: staging, signatures, retries, API."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select
from standardwebhooks import Webhook

from services.order import handlers, milestones, tracking_api, webhooks
from services.order.milestones import CustomerWebhookCreate, Milestone
from services.order.models import Order, WebhookDelivery, WebhookSubscription
from services.order.webhooks import DeliveryStatus, deliver_due
from shared import http
from shared.clock import FixedClock
from shared.contracts import (
    Event,
    EventData,
    InstallmentTrigger,
    InvoiceIssued,
    OrderCancelled,
    OrderTerms,
    ProductionStarted,
    ShipmentPlanned,
)
from shared.unit_of_work import UnitOfWorkFactory
from tests.e2e.flows import order_body
from tests.integration.orders import accepted
from tests.integration.test_webhooks import Receiver

pytestmark = pytest.mark.integration
SERVICE = "order"


@pytest.fixture
async def receiving() -> AsyncIterator[Receiver]:
    found = Receiver()
    server = await asyncio.start_server(found.serve, "127.0.0.1", 0)
    found.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/customer/hook"
    async with server:
        yield found


async def subscribe(
    units: UnitOfWorkFactory, customer: str, url: str = "https://acme.example/hook", **choice: Any
) -> WebhookSubscription:
    async with units() as uow:
        request = CustomerWebhookCreate(name=f"{customer} portal", customer=customer, url=url, **choice)
        return await milestones.subscribe(uow, request, by="mei")


async def deliveries(units: UnitOfWorkFactory) -> list[WebhookDelivery]:
    async with units() as uow:
        return list((await uow.session.exec(select(WebhookDelivery).order_by(col(WebhookDelivery.id)))).all())


async def happen(units: UnitOfWorkFactory, clock: FixedClock, order: Order, data: EventData, source: str) -> None:
    async with units() as uow:
        await handlers.on_lifecycle_event(Event.new(data, source=source, order_id=order.id, clock=clock), uow)


def planned(n: int = 1) -> ShipmentPlanned:
    return ShipmentPlanned(
        shipment_id=f"SH{n}",
        tracking_number=f"SF{n}00",
        carrier="sf-express",
        mode="truck",
        packages=2,
        weight_kg=Decimal(9),
    )


async def test_milestones_are_staged_for_the_customers_subscriptions_that_chose_them(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    order = await accepted(units, OrderTerms.model_validate(order_body(1, today=clock.now().date())))
    everything = await subscribe(units, "ACME Industrial")
    shipping = await subscribe(units, "ACME Industrial", milestones=[Milestone.SHIPPED])
    await subscribe(units, "Globex")  # another customer's
    gone = await subscribe(units, "ACME Industrial")
    async with units() as uow:
        await webhooks.unsubscribe(uow, gone.id, by="mei")
    team = await subscribe_team(units)

    await happen(units, clock, order, ProductionStarted(work_order_id="WO1"), "production")
    await happen(units, clock, order, ProductionStarted(work_order_id="WO2"), "production")  # told once
    await happen(units, clock, order, planned(), "logistics")
    due = clock.now().date() + timedelta(days=30)
    invoice = InvoiceIssued(
        invoice_id="IN1",
        invoice_number="INV-1",
        amount=Decimal(99),
        currency="USD",
        due_date=due,
        trigger=InstallmentTrigger.DELIVERY,
    )
    await happen(units, clock, order, invoice, "billing")

    # (the jump past production without a work order also files an exception about the missing production order:
    # the team's subscription hears of that, never of a customer's milestone)
    every = [(d.subscription_id, d.event_type, d.subject_type, d.subject_id) for d in await deliveries(units)]
    staged = [s for s in every if s[2] == "order"]
    assert staged == [
        (everything.id, "milestone.production_started", "order", order.id),
        (everything.id, "milestone.shipped", "order", order.id),
        (shipping.id, "milestone.shipped", "order", order.id),
        (everything.id, "milestone.invoice_due", "order", order.id),
    ]
    assert team.id not in {s for s, *_ in staged}
    milestones = [d for d in await deliveries(units) if d.subject_type == "order"]
    shipped = json.loads(milestones[1].payload)
    assert shipped["type"] == "milestone.shipped"
    data = shipped["data"]
    assert (data["tracking_number"], data["carrier"], data["external_ref"]) == (
        "SF100",
        "sf-express",
        order.external_ref,
    )
    assert data["status"] == "shipping" and data["customer"] == "ACME Industrial" and "terms" not in data
    invoiced = json.loads(milestones[3].payload)["data"]
    assert (invoiced["invoice_number"], invoiced["amount"], invoiced["due_date"]) == ("INV-1", "99.00", due.isoformat())


async def subscribe_team(units: UnitOfWorkFactory) -> WebhookSubscription:
    async with units() as uow:
        return await webhooks.subscribe(uow, webhooks.WebhookCreate(name="team", url="https://chat.example/"), by="mei")


async def test_the_order_services_own_events_are_milestones_too(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    order = await accepted(units, OrderTerms.model_validate(order_body(1, today=clock.now().date())))
    hook = await subscribe(units, "ACME Industrial", milestones=[Milestone.CANCELLED, Milestone.CONFIRMED])
    async with units() as uow:  # as changes.py does when a cancellation is accepted
        found = await uow.get(Order, order.id)
        assert found is not None
        found.status = "cancelled"
        cancelled = OrderCancelled(change_id="CH1", reason="customer withdrew the order", cancelled_at=clock.now())
        await milestones.stage_milestone(uow, found, uow.emit(cancelled, order_id=order.id))
    [delivery] = await deliveries(units)
    body = json.loads(delivery.payload)
    assert delivery.subscription_id == hook.id and body["type"] == "milestone.cancelled"
    assert body["data"]["reason"] == "customer withdrew the order" and body["data"]["status"] == "cancelled"


async def test_a_notice_is_signed_and_retried_until_it_lands(
    units: UnitOfWorkFactory, clock: FixedClock, receiving: Receiver
) -> None:
    clock.at = datetime.now(UTC)  # the receiver checks the signature's timestamp against its own clock
    order = await accepted(units, OrderTerms.model_validate(order_body(1, today=clock.now().date())))
    hook = await subscribe(units, "ACME Industrial", url=receiving.url, milestones=[Milestone.SHIPPED])
    await happen(units, clock, order, planned(), "logistics")
    receiving.status = 500
    async with httpx.AsyncClient(timeout=webhooks.REQUEST_SECONDS, trust_env=False) as client:
        assert await deliver_due(units, client, clock) == 1
        [delivery] = await deliveries(units)
        assert (delivery.status, delivery.attempts, delivery.last_status) == (DeliveryStatus.PENDING, 1, 500)
        assert await deliver_due(units, client, clock) == 0  # not before its backoff
        receiving.status = 200
        clock.advance(timedelta(minutes=1))
        assert await deliver_due(units, client, clock) == 1
    [delivery] = await deliveries(units)
    assert (delivery.status, delivery.attempts, delivery.last_status) == (DeliveryStatus.DELIVERED, 2, 200)
    first, second = receiving.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.message_id
    payload = Webhook(hook.secret).verify(second.body, second.headers)
    assert payload["type"] == "milestone.shipped" and payload["data"]["tracking_number"] == "SF100"
    assert second.path == "/customer/hook"


async def test_http_api(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    app = FastAPI()
    app.include_router(tracking_api.router)
    app.include_router(webhooks.router)
    http.install(app, max_body_bytes=1 << 20)
    app.state.runtime = SimpleNamespace(units=units, sessions=units.sessions, clock=clock)
    actor = {"X-Actor": "mei"}
    body = {
        "name": "ACME portal",
        "customer": "ACME Industrial",
        "url": "https://acme.example/hook",
        "milestones": ["shipped", "delivered"],
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://order") as api:
        assert (await api.post("/customer-webhooks", json=body)).status_code == 422  # who is acting
        bad: dict[str, Any]
        for bad in (
            {"milestones": ["teleported"]},
            {"milestones": []},
            {"url": "ftp://acme.example/"},
            {"customer": ""},
        ):
            assert (await api.post("/customer-webhooks", json=body | bad, headers=actor)).status_code == 422, bad
        created = await api.post("/customer-webhooks", json=body, headers=actor)
        assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
        hook = created.json()
        other = await api.post(
            "/customer-webhooks", json=body | {"customer": "Globex", "milestones": None}, headers=actor
        )
        assert other.status_code == 422
        globex = (
            await api.post(
                "/customer-webhooks",
                json={k: v for k, v in body.items() if k != "milestones"} | {"customer": "Globex"},
                headers=actor,
            )
        ).json()
        assert globex["milestones"] == [m.value for m in Milestone]
        team = await api.post("/webhooks", json={"name": "team", "url": "https://chat.example/"}, headers=actor)

        listed = (await api.get("/customer-webhooks", params={"customer": "ACME Industrial"})).json()
        assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
        assert listed[0]["milestones"] == ["shipped", "delivered"]
        assert {h["id"] for h in (await api.get("/customer-webhooks")).json()} == {hook["id"], globex["id"]}
        assert [h["id"] for h in (await api.get("/webhooks")).json()] == [team.json()["id"]]  # teams' only

        order = await accepted(units, OrderTerms.model_validate(order_body(1, today=clock.now().date())))
        await happen(units, clock, order, planned(), "logistics")
        [logged] = (await api.get(f"/customer-webhooks/{hook['id']}/deliveries")).json()
        assert logged["event_type"] == "milestone.shipped" and logged["subject_id"] == order.id
        assert logged["exception_id"] is None and logged["status"] == "pending"

        gone = await api.delete(f"/customer-webhooks/{hook['id']}", headers=actor)
        assert gone.status_code == 200 and gone.json()["active"] is False
        [stopped] = (await api.get(f"/customer-webhooks/{hook['id']}/deliveries", params={"status": "failed"})).json()
        retried = await api.post(f"/customer-webhooks/{hook['id']}/deliveries/{stopped['id']}/retry", headers=actor)
        assert retried.status_code == 409
        assert (await api.get("/customer-webhooks", params={"active": "true"})).json()[0]["id"] == globex["id"]
        assert (await api.delete(f"/customer-webhooks/{team.json()['id']}", headers=actor)).status_code == 404
        assert (await api.get("/customer-webhooks/WHNONE/deliveries")).status_code == 404
