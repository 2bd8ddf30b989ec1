"""Outbound webhooks on a real database and a real HTTP receiver on loopback: filters, signatures, retries."""

import asyncio
import base64
import json
import socket
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select
from standardwebhooks import Webhook, WebhookVerificationError

from services.order import board, webhooks
from services.order.models import BoardEntry, BoardEntryPublic, WebhookDelivery, WebhookSubscription
from services.order.webhooks import Change, DeliveryStatus, WebhookCreate, deliver_due
from shared import http
from shared.clock import FixedClock
from shared.contracts import ExceptionAction
from shared.kinds import Severity
from shared.unit_of_work import UnitOfWorkFactory

pytestmark = pytest.mark.integration
SERVICE = "order"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A tiny HTTP/1.1 server on 127.0.0.1 that records each request and answers `status`."""

    status: int = 200
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in head[1:] if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append(Received(head[0].split(" ")[1], headers, body))
        await asyncio.sleep(self.delay)
        answer = b"" if self.status < 300 else b"receiver is down"
        writer.write(
            b"HTTP/1.1 %d X\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s" % (self.status, len(answer), answer)
        )
        await writer.drain()
        writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    server = await asyncio.start_server(found.serve, "127.0.0.1", 0)
    found.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks/gendan"
    async with server:
        yield found


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=webhooks.REQUEST_SECONDS, trust_env=False) as found:
        yield found


def exception(
    clock: FixedClock, n: int = 1, *, kind: str = "logistics.carrier_delay", severity: str = "medium"
) -> BoardEntry:
    """A board entry as the board would hold it."""
    now = clock.now()
    return BoardEntry(
        id=f"EX{n}",
        order_id="SO1",
        customer="ACME Industrial",
        service="logistics",
        stage="logistics",
        kind=kind,
        severity=severity,
        owner_role="logistics_coordinator",
        subject_type="shipment",
        subject_id="SH1",
        title="The carrier reports a delay.",
        facts={"carrier_words": "weather at hub"},
        action="Get a new ETA from the carrier and tell the customer.",
        cause="carrier",
        open=True,
        level=0,
        raised_at=now,
        due_by=now + timedelta(hours=4),
        updated_at=now,
    )


async def subscribe(
    units: UnitOfWorkFactory, url: str = "https://chat.example/hook", **choice: Any
) -> WebhookSubscription:
    async with units() as uow:
        return await webhooks.subscribe(
            uow, WebhookCreate(name=choice.pop("name", "team"), url=url, **choice), by="mei"
        )


async def enqueue(units: UnitOfWorkFactory, entry: BoardEntry, change: str = "raised") -> None:
    async with units() as uow:
        await webhooks.enqueue(uow, entry, change)


async def deliveries(units: UnitOfWorkFactory) -> list[WebhookDelivery]:
    async with units() as uow:
        return list((await uow.session.exec(select(WebhookDelivery).order_by(col(WebhookDelivery.id)))).all())


async def test_a_change_is_staged_for_the_subscriptions_that_chose_it(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    everything = await subscribe(units, name="everything")
    delays = await subscribe(units, name="delays", kinds=["logistics.carrier_delay"])
    serious = await subscribe(units, name="serious", min_severity=Severity.HIGH)
    comments = await subscribe(units, name="comments", changes=[Change.COMMENT])
    gone = await subscribe(units, name="gone")
    async with units() as uow:
        await webhooks.unsubscribe(uow, gone.id, by="mei")

    delay, damage = exception(clock, 1), exception(clock, 2, kind="logistics.carrier_damage", severity="high")
    await enqueue(units, delay, "raised")
    await enqueue(units, damage, "raised")
    await enqueue(units, delay, "comment")
    await enqueue(units, delay, "updated")  # nobody asked for updates
    await enqueue(units, delay, "raised")  # the same change at the same instant: one message

    staged = {(d.subscription_id, d.exception_id, d.event_type) for d in await deliveries(units)}
    assert staged == {
        (everything.id, "EX1", "exception.raised"),
        (delays.id, "EX1", "exception.raised"),
        (everything.id, "EX2", "exception.raised"),
        (serious.id, "EX2", "exception.raised"),
        (comments.id, "EX1", "exception.comment"),
    }
    first = (await deliveries(units))[0]
    body = json.loads(first.payload)
    assert body["type"] == "exception.raised" and body["timestamp"] == "2027-01-04T08:00:00Z"
    assert body["data"] == BoardEntryPublic.model_validate(delay, from_attributes=True).model_dump(mode="json")
    assert first.status == DeliveryStatus.PENDING and first.next_attempt_at == clock.now()


async def test_the_board_stages_a_resolution(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    subscription = await subscribe(units)
    async with units() as uow:
        uow.session.add(exception(clock))
    async with units() as uow:
        await board.act(uow, "EX1", ExceptionAction.RESOLVE, by="mei", note="new ETA agreed")
    [staged] = await deliveries(units)
    assert staged.subscription_id == subscription.id and staged.event_type == "exception.resolved"
    assert json.loads(staged.payload)["data"]["resolved_by"] == "mei"


async def test_a_delivery_is_signed_and_posted_once(
    units: UnitOfWorkFactory, clock: FixedClock, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    clock.at = datetime.now(UTC)  # receivers check the signature's timestamp against their own clock
    subscription = await subscribe(units, receiver.url)
    await enqueue(units, exception(clock))

    assert await deliver_due(units, client, clock) == 1
    assert await deliver_due(units, client, clock) == 0

    [request] = receiver.requests
    [delivery] = await deliveries(units)
    payload = Webhook(subscription.secret).verify(request.body, request.headers)
    assert payload["type"] == "exception.raised" and payload["data"]["id"] == "EX1"
    assert request.path == "/hooks/gendan" and request.headers["webhook-id"] == delivery.message_id
    with pytest.raises(WebhookVerificationError):
        Webhook(subscription.secret).verify(request.body + b" ", request.headers)
    assert (delivery.status, delivery.attempts, delivery.last_status) == (DeliveryStatus.DELIVERED, 1, 200)
    assert delivery.delivered_at == clock.now() and delivery.next_attempt_at is None
    assert subscription.secret.startswith("whsec_")
    assert len(base64.b64decode(subscription.secret.removeprefix("whsec_"))) >= 24


async def test_a_failing_receiver_is_retried_with_growing_delays_then_failed_then_retried_by_hand(
    units: UnitOfWorkFactory, clock: FixedClock, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    receiver.status = 500
    subscription = await subscribe(units, receiver.url)
    await enqueue(units, exception(clock))
    waits = []
    for attempt in range(1, webhooks.MAX_ATTEMPTS + 1):
        assert await deliver_due(units, client, clock) == 1
        [delivery] = await deliveries(units)
        assert (delivery.attempts, delivery.last_status) == (attempt, 500)
        assert delivery.last_error == "HTTP 500: receiver is down"
        if attempt < webhooks.MAX_ATTEMPTS:
            assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at is not None
            waits.append(delivery.next_attempt_at - clock.now())
            assert await deliver_due(units, client, clock) == 0  # not before its time
            clock.advance(waits[-1])

    assert delivery.status == DeliveryStatus.FAILED and delivery.next_attempt_at is None
    assert waits[0] == timedelta(minutes=1) and waits[-1] == timedelta(hours=1)
    assert all(earlier < later for earlier, later in zip(waits, waits[1:], strict=False))
    clock.advance(timedelta(days=1))
    assert await deliver_due(units, client, clock) == 0
    assert len(receiver.requests) == webhooks.MAX_ATTEMPTS
    assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery.message_id}

    async with units() as uow:
        again = await webhooks.retry(uow, subscription.id, delivery.id or 0)
    assert (again.status, again.attempts) == (DeliveryStatus.PENDING, 0)
    receiver.status = 200
    assert await deliver_due(units, client, clock) == 1
    [delivery] = await deliveries(units)
    assert (delivery.status, delivery.last_status, delivery.last_error) == (DeliveryStatus.DELIVERED, 200, None)
    with pytest.raises(webhooks.Refused, match="only a failed one"):
        async with units() as uow:
            await webhooks.retry(uow, subscription.id, delivery.id or 0)


async def test_no_answer_is_logged_and_retried(
    units: UnitOfWorkFactory, clock: FixedClock, client: httpx.AsyncClient
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await subscribe(units, f"http://127.0.0.1:{port}/")
    await enqueue(units, exception(clock))
    assert await deliver_due(units, client, clock) == 1
    [delivery] = await deliveries(units)
    assert delivery.status == DeliveryStatus.PENDING and delivery.last_status is None
    assert delivery.last_error is not None and delivery.last_error.startswith("ConnectError")
    assert delivery.next_attempt_at == clock.now() + timedelta(minutes=1)


async def test_concurrent_dispatchers_send_each_delivery_once(
    units: UnitOfWorkFactory, clock: FixedClock, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    receiver.delay = 0.02
    await subscribe(units, receiver.url)
    for n in range(30):
        await enqueue(units, exception(clock, n))
    sent = 0
    while True:  # three dispatchers run each round at once, each taking up to 7
        counts = await asyncio.gather(*(deliver_due(units, client, clock, limit=7) for _ in range(3)))
        if not any(counts):
            break
        sent += sum(counts)
    assert sent == 30 and len(receiver.requests) == 30
    assert set(Counter(r.headers["webhook-id"] for r in receiver.requests).values()) == {1}
    assert {d.status for d in await deliveries(units)} == {DeliveryStatus.DELIVERED}


async def test_http_api(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    app = FastAPI()
    app.include_router(webhooks.router)
    http.install(app, max_body_bytes=1 << 20)
    app.state.runtime = SimpleNamespace(units=units, sessions=units.sessions, clock=clock)
    actor = {"X-Actor": "mei"}
    body = {"name": "logistics chat", "url": "https://chat.example/hook", "kinds": ["logistics.carrier_delay"]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://order") as api:
        assert (await api.post("/webhooks", json=body)).status_code == 422  # who is acting
        for bad in ({"url": "ftp://chat.example/"}, {"kinds": ["no.such_kind"]}, {"changes": []}, {"name": "a\x00"}):
            refused = await api.post("/webhooks", json=body | bad, headers=actor)
            assert refused.status_code == 422, bad
        created = await api.post("/webhooks", json=body, headers=actor)
        assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
        hook = created.json()
        assert hook["changes"] == ["raised", "escalated", "resolved"] and hook["min_severity"] == "low"

        listed = (await api.get("/webhooks")).json()
        assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
        await enqueue(units, exception(clock))
        assert (await api.get(f"/webhooks/{hook['id']}/deliveries")).json()[0]["status"] == "pending"

        gone = await api.delete(f"/webhooks/{hook['id']}", headers=actor)
        assert gone.status_code == 200 and gone.json()["active"] is False and gone.json()["deactivated_by"] == "mei"
        [stopped] = (await api.get(f"/webhooks/{hook['id']}/deliveries", params={"status": "failed"})).json()
        assert stopped["last_error"] == "webhook deactivated"
        retried = await api.post(f"/webhooks/{hook['id']}/deliveries/{stopped['id']}/retry", headers=actor)
        assert retried.status_code == 409 and "deactivated" in retried.json()["detail"]
        assert (await api.get("/webhooks", params={"active": "true"})).json() == []

        assert (await api.get("/webhooks/WHNONE/deliveries")).status_code == 404
        assert (await api.delete("/webhooks/WHNONE", headers=actor)).status_code == 404
        assert (await api.post(f"/webhooks/{hook['id']}/deliveries/999/retry", headers=actor)).status_code == 404
        assert (await api.post(f"/webhooks/{hook['id']}/deliveries/0/retry", headers=actor)).status_code == 422
        assert (await api.get(f"/webhooks/{hook['id']}/deliveries", params={"limit": 10_000})).status_code == 422


async def test_the_background_task_delivers(units: UnitOfWorkFactory, clock: FixedClock, receiver: Receiver) -> None:
    clock.at = datetime.now(UTC)
    subscription = await subscribe(units, receiver.url)
    await enqueue(units, exception(clock))
    task = asyncio.create_task(webhooks.deliver_webhooks(SimpleNamespace(units=units, clock=clock)))  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(10):
            while not receiver.requests:
                await asyncio.sleep(0.02)
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
    Webhook(subscription.secret).verify(receiver.requests[0].body, receiver.requests[0].headers)
