"""Logistics end to end on the real Kafka and PostgreSQL: signed carrier webhooks (good, tampered, stale,
unsigned, another carrier's shipment, a rotated secret, a repeat), an order shipped in two parts and closed only
when both are delivered and paid, a multi-leg export with its PDFs, a damaged delivery claimed and reshipped.

The orders here say `[sim:manual]`: the simulated WMS and carriers leave them to the test."""

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any
from uuid import uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from pypdf import PdfReader
from standardwebhooks import Webhook

from deploy.system import System
from services.logistics.settings import DEV_SECRETS
from shared import topics
from shared.broker import kafka_options
from tests.e2e.flows import order_body, post_orders, rows, wait_closed

pytestmark = pytest.mark.e2e
MANUAL = {"notes": "[sim:manual]"}


def manual_order(quantity: int, **more: Any) -> dict[str, Any]:
    body = order_body(0) | {"requirements": MANUAL, **more}
    body["lines"][0]["quantity"] = quantity
    return body


async def send(system: System, topic: str, key: str, message: dict[str, Any]) -> None:
    producer = AIOKafkaProducer(**kafka_options(system.kafka))
    await producer.start()
    try:
        await producer.send_and_wait(system.topic_prefix + topic, json.dumps(message).encode(), key=key.encode())
    finally:
        await producer.stop()


async def pack(system: System, order_id: str, quantity: int, kg: str) -> None:
    packed = {
        "message_id": uuid4().hex,
        "occurred_at": datetime.now(UTC).isoformat(),
        "type": "packed",
        "order_id": order_id,
        "quantity": quantity,
        "packages": max(quantity // 100, 1),
        "weight_kg": kg,
        "lines": [{"line_no": 1, "quantity": quantity}],
        "dimensions": [{"length_cm": 30, "width_cm": 20, "height_cm": 20, "count": max(quantity // 100, 1)}],
    }
    await send(system, topics.WMS_EVENTS, order_id, packed)


async def eventually(probe: Any, what: str, timeout: float = 60) -> Any:
    """Poll `probe()` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := await probe():
            return found
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def signed(
    carrier: str, body: dict[str, Any], *, secret: int = 0, at: datetime | None = None, msg_id: str = ""
) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    msg_id, at = msg_id or f"msg_{uuid4().hex}", at or datetime.now(UTC)
    signature = Webhook(DEV_SECRETS[carrier][secret]).sign(msg_id, at, raw.decode())
    return raw, {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def scan(tracking: str, code: str, **more: Any) -> dict[str, Any]:
    return {"tracking_number": tracking, "code": code, "occurred_at": datetime.now(UTC).isoformat(), **more}


class Logistics:
    """The logistics HTTP API as a merchandiser or carrier uses it."""

    def __init__(self, system: System, client: httpx.AsyncClient) -> None:
        self.system, self.client = system, client

    async def post(self, carrier: str, raw: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.client.post(f"/carriers/{carrier}/webhook", content=raw, headers=headers)

    async def webhook(self, carrier: str, body: dict[str, Any], **signing: Any) -> httpx.Response:
        return await self.post(carrier, *signed(carrier, body, **signing))

    async def shipments(self, order_id: str, count: int) -> list[dict[str, Any]]:
        async def probe() -> list[dict[str, Any]] | None:
            found = (await self.client.get("/shipments", params={"order_id": order_id})).json()
            return found if len(found) >= count else None

        found: list[dict[str, Any]] = await eventually(probe, f"{count} shipment(s) of {order_id}")
        return found

    async def delivered(self, order_id: str, count: int) -> list[dict[str, Any]]:
        """The order's shipment_delivered events, once there are `count` of them."""
        query = "SELECT payload FROM outbox WHERE key = $1 AND event_type = 'logistics.shipment_delivered' ORDER BY id"

        async def probe() -> list[dict[str, Any]] | None:
            found = [json.loads(r["payload"])["data"] for r in await rows(self.system, "logistics", query, order_id)]
            return found if len(found) >= count else None

        found: list[dict[str, Any]] = await eventually(probe, f"{count} deliveries of {order_id}")
        return found


async def order_status(system: System, order_id: str) -> str:
    [row] = await rows(system, "order", "SELECT status FROM orders WHERE id = $1", order_id)
    return str(row["status"])


async def test_signed_webhooks_and_an_order_delivered_in_two_parts(shared_system: System) -> None:
    [order] = await post_orders(shared_system, [manual_order(1000)])
    oid = order["id"]
    await pack(shared_system, oid, 600, "25")
    async with shared_system.client("logistics", timeout=30) as client:
        api = Logistics(shared_system, client)
        [first] = await api.shipments(oid, 1)
        assert (first["carrier"], first["quantity"], first["lines"]) == (
            "sf-express",
            600,
            [{"line_no": 1, "quantity": 600}],
        )
        tracking = first["tracking_number"]

        raw, headers = signed("sf-express", scan(tracking, "50", location="Shenzhen"))
        assert (await api.post("sf-express", raw, headers)).json()["status"] == "applied"
        assert (await api.post("sf-express", raw, headers)).status_code == 202  # the carrier's retry: applied once
        tampered = raw.replace(b"Shenzhen", b"Shanghai")
        assert (await api.post("sf-express", tampered, headers)).status_code == 401
        stale = await api.webhook("sf-express", scan(tracking, "30"), at=datetime.now(UTC) - timedelta(minutes=10))
        assert stale.status_code == 401 and "stale" in stale.json()["detail"]
        unsigned = await client.post("/carriers/sf-express/webhook", json=scan(tracking, "30"))
        assert unsigned.status_code == 401
        other = await api.webhook("dhl-express", scan(tracking, "OK"))  # a valid DHL request for SF's shipment
        assert other.status_code == 403
        rotated = await api.webhook("sf-express", scan(tracking, "30", location="Guangzhou hub"), secret=1)
        assert rotated.status_code == 202
        pod = scan(tracking, "80", received_quantity=600, signed_by="Li Wei", photo_ref="sf/pod/1.jpg")
        assert (await api.webhook("sf-express", pod)).status_code == 202

        [part] = await api.delivered(oid, 1)
        assert (part["received_quantity"], part["order_delivered"], part["signed_by"]) == (600, False, "Li Wei")
        scans = (await client.get(f"/shipments/{first['id']}/scans")).json()
        assert [s["carrier_code"] for s in scans] == ["50", "30", "80"]  # the repeat, the refused: not there
        assert await order_status(shared_system, oid) != "closed"

        await pack(shared_system, oid, 400, "20")
        _, second = await api.shipments(oid, 2)
        assert second["quantity"] == 400
        for code in ("50", "44"):
            assert (await api.webhook("sf-express", scan(second["tracking_number"], code))).status_code == 202
        assert await order_status(shared_system, oid) != "closed"
        last = scan(second["tracking_number"], "80", received_quantity=400, signed_by="Li Wei")
        assert (await api.webhook("sf-express", last)).status_code == 202
        _, whole = await api.delivered(oid, 2)
        assert whole["order_delivered"] is True
    await wait_closed(shared_system, [oid], timeout=60)


async def test_a_sea_export_in_legs_with_its_documents_a_damaged_delivery_claimed_and_reshipped(
    shared_system: System,
) -> None:
    [order] = await post_orders(shared_system, [manual_order(1000, destination_country="DE", incoterm="FOB")])
    oid = order["id"]
    await pack(shared_system, oid, 1000, "400")
    async with shared_system.client("logistics", timeout=30) as client:
        api = Logistics(shared_system, client)
        [shipment] = await api.shipments(oid, 1)
        legs = shipment["legs"]
        assert (shipment["mode"], [(g["mode"], g["carrier"]) for g in legs]) == (
            "sea",
            [("truck", "deppon"), ("sea", "cosco"), ("express", "dhl-express")],
        )
        assert shipment["mode_reason"].startswith("sea: cheapest arriving by")

        documents = (await client.get("/documents", params={"order_id": oid})).json()
        assert sorted((d["kind"], d["version"]) for d in documents) == [
            ("commercial_invoice", 1),
            ("customs_declaration", 1),
            ("packing_list", 1),
        ]
        [declaration] = [d for d in documents if d["kind"] == "customs_declaration"]
        pdf = await client.get(f"/documents/{declaration['id']}")
        assert pdf.headers["content-type"] == "application/pdf"
        text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf.content)).pages)
        for expected in ("Customs Declaration", oid, "FOB", "DE", *(g["tracking_number"] for g in legs)):
            assert expected in text, expected
        assert (await client.get("/documents/DOCNOPE")).status_code == 404

        truck, sea, last = (g["tracking_number"] for g in legs)
        for carrier, tracking, status in (("deppon", truck, "picked_up"), ("deppon", truck, "delivered")):
            message = {
                "message_id": uuid4().hex,
                "occurred_at": datetime.now(UTC).isoformat(),
                "carrier": carrier,
                "tracking_number": tracking,
                "status": status,
            }
            await send(shared_system, topics.CARRIER_TRACKING, tracking, message)
        for code in ("GTIN", "DEPA", "INSP", "DROP"):
            assert (await api.webhook("cosco", scan(sea, code))).status_code == 202
        damage = scan(last, "DD", remark="2 cartons crushed")
        assert (await api.webhook("dhl-express", damage)).status_code == 202
        pod = scan(last, "OK", received_quantity=950, signed_by="H. Becker", photo_ref="dhl/pod/77.jpg")
        assert (await api.webhook("dhl-express", pod)).status_code == 202
        [delivered] = await api.delivered(oid, 1)
        assert (delivered["received_quantity"], delivered["order_delivered"]) == (950, False)

        kinds = "SELECT kind FROM exceptions WHERE order_id = $1 AND open"
        raised = {r["kind"] for r in await rows(shared_system, "logistics", kinds, oid)}
        assert {"logistics.carrier_damage", "logistics.short_delivery"} <= raised

        claim = {"shipment_id": shipment["id"], "reason": "damage", "amount": "617.50", "evidence": ["dhl/pod/77.jpg"]}
        opened = await client.post("/claims", json=claim, headers={"X-Actor": "mei"})
        assert opened.status_code == 201 and opened.json()["status"] == "opened"
        cid = opened.json()["id"]
        more = {"status": "submitted", "evidence": ["photos/crushed-1.jpg"]}
        submitted = await client.patch(f"/claims/{cid}", json=more, headers={"X-Actor": "mei"})
        assert submitted.json()["evidence"] == ["dhl/pod/77.jpg", "photos/crushed-1.jpg"]
        skipped = await client.patch(f"/claims/{cid}", json={"status": "paid"}, headers={"X-Actor": "mei"})
        assert skipped.status_code == 409
        for step in ("accepted", "paid"):
            moved = await client.patch(f"/claims/{cid}", json={"status": step}, headers={"X-Actor": "mei"})
            assert moved.status_code == 200 and moved.json()["status"] == step
        assert [h["status"] for h in moved.json()["history"]] == ["opened", "submitted", "accepted", "paid"]

        reship = {"weight_kg": "20", "packages": 1}
        again = await client.post(f"/shipments/{shipment['id']}/reshipments", json=reship, headers={"X-Actor": "mei"})
        assert again.status_code == 201, again.text
        replacement = again.json()
        assert (replacement["reshipment_of"], replacement["lines"], replacement["order_id"]) == (
            shipment["id"],
            [{"line_no": 1, "quantity": 50}],
            oid,
        )
        carrier = replacement["carrier"]
        code = {"sf-express": "80", "dhl-express": "OK"}.get(carrier, "delivered")
        done = scan(replacement["tracking_number"], code, received_quantity=50, signed_by="H. Becker")
        assert (await api.webhook(carrier, done)).status_code == 202
        _, whole = await api.delivered(oid, 2)
        assert whole["order_delivered"] is True
    await wait_closed(shared_system, [oid], timeout=60)
