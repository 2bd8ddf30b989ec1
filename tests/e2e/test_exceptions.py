"""Exceptions end to end, the four services as processes on the real Kafka and PostgreSQL: a work order the
MES stops reporting on, a carrier's "damaged" scan and a payment naming no invoice all reach the board with
their stage, kind and cause, and all resolve: by the next report, by a person, and by a person applying the
payment, after which the order closes."""

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from deploy.system import System
from shared import topics
from shared.broker import kafka_options
from tests.e2e.flows import order_body, post_orders, wait_closed

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.system_env(
        SIM_MES_COMPLETES="false",  # the MES goes quiet after "started": the test reports completion itself
        SIM_FINANCE_PAYS="false",  # finance pays nothing: the test sends one payment naming a wrong invoice
        WATCH_SECONDS="0.5",
        NO_MES_REPORT_HOURS="0.001",  # 3.6 s
        UNMATCHED_PAYMENT_HOURS="0.001",
    ),
]
PERSON = {"X-Actor": "li.wei"}


async def poll(client: httpx.AsyncClient, path: str, found: Any, timeout: float = 60, **params: Any) -> Any:
    """GET `path` until `found(body)` is truthy; returns that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = await client.get(path, params=params)
        if response.status_code == 200 and (value := found(response.json())):
            return value
        await asyncio.sleep(0.3)
    raise AssertionError(f"{path} {params}: not there after {timeout} s: {response.text[:2000]}")


def one(kind: str, open_: bool = True) -> Any:
    return lambda entries: next((e for e in entries if e["kind"] == kind and e["open"] == open_), None)


async def send(system: System, topic: str, message: dict[str, Any], key: str) -> None:
    producer = AIOKafkaProducer(**kafka_options(system.kafka))
    await producer.start()
    try:
        await producer.send_and_wait(system.topic_prefix + topic, json.dumps(message).encode(), key=key.encode())
    finally:
        await producer.stop()


def now() -> str:
    return datetime.now(UTC).isoformat()


async def test_exceptions_reach_the_board_and_resolve(system: System) -> None:
    terms = {"installments": [{"trigger": "delivery", "percent": "100", "net_days": 30}]}
    [order] = await post_orders(system, [order_body(1, terms=terms)])
    oid = order["id"]
    board = system.client("order", timeout=30)
    production = system.client("production", timeout=30)
    logistics = system.client("logistics", timeout=30)
    billing = system.client("billing", timeout=30)
    try:
        # 1. the MES reported "started" and went quiet: production raises it, the next report clears it
        quiet = await poll(board, "/exceptions", one("production.no_mes_report"), order_id=oid)
        assert (quiet["stage"], quiet["cause"], quiet["subject_type"]) == ("production", "internal", "work_order")
        [work_order] = (await production.get("/work-orders", params={"order_id": oid})).json()
        assert quiet["subject_id"] == work_order["id"]
        done = {"type": "completed", "work_order_id": work_order["id"], "good_quantity": work_order["quantity"]}
        await send(system, topics.MES_EVENTS, {"message_id": f"t-{oid}-done", "occurred_at": now(), **done}, oid)
        await poll(board, "/exceptions", one("production.no_mes_report", open_=False), open="false", order_id=oid)

        # 2. the carrier scans the shipment damaged: logistics raises it with the carrier's words; a person resolves it
        shipment = await poll(logistics, "/shipments", lambda found: found and found[0], order_id=oid)
        scan = {
            "message_id": f"t-{oid}-damaged",
            "occurred_at": now(),
            "carrier": shipment["carrier"],
            "tracking_number": shipment["tracking_number"],
            "status": "exception",
            "exception_code": "damage",
            "remark": "carton crushed at Guangzhou hub",
        }
        await send(system, topics.CARRIER_TRACKING, scan, shipment["tracking_number"])
        damaged = await poll(board, "/exceptions", one("logistics.carrier_damage"), order_id=oid)
        assert (damaged["stage"], damaged["cause"], damaged["severity"]) == ("logistics", "carrier", "high")
        assert damaged["facts"]["carrier_words"] == "carton crushed at Guangzhou hub"
        resolved = await board.post(
            f"/exceptions/{damaged['id']}/resolve", json={"reason": "reshipped two cartons"}, headers=PERSON
        )
        assert resolved.status_code == 200 and resolved.json()["resolved_by"] == "li.wei"

        # 3. finance pays naming an invoice that does not exist: unapplied cash, until a person applies it
        [invoice] = await poll(billing, "/invoices", lambda found: found, order_id=oid)
        payment = {
            "message_id": f"t-{oid}-pay",
            "occurred_at": now(),
            "invoice_number": "INV-TYPO-42",
            "amount": invoice["amount"],
            "currency": invoice["currency"],
        }
        await send(system, topics.FINANCE_PAYMENTS, payment, "INV-TYPO-42")
        unmatched = await poll(board, "/exceptions", one("billing.unmatched_payment"), stage="billing")
        assert (unmatched["cause"], unmatched["subject_id"]) == ("customer", payment["message_id"])
        applied = await billing.post(
            f"/payments/{payment['message_id']}/apply", json={"invoice_number": invoice["number"]}, headers=PERSON
        )
        assert applied.status_code == 200, applied.text
        await wait_closed(system, [oid])
        settled = await poll(
            board, "/exceptions", one("billing.unmatched_payment", open_=False), open="false", stage="billing"
        )
        assert settled["resolved_by"] == "li.wei"
        shown = (await board.get(f"/orders/{oid}")).json()
        assert shown["open_exceptions"] == 0 and shown["status"] == "closed"
    finally:
        for client in (board, production, logistics, billing):
            await client.aclose()
