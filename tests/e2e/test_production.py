"""Production end to end on the real Kafka and PostgreSQL, driven by MES and supplier messages: a rejected
sample holding production back, a failed final inspection, a slow line raising delay risk long before its
planned date (with duplicate and out-of-order reports), and a bought line delivered by its supplier."""

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from deploy.system import System
from shared import topics
from tests.e2e.flows import order_body, post_orders, rows
from tests.e2e.test_exceptions import poll, send

pytestmark = pytest.mark.e2e
ON_DELIVERY = {"installments": [{"trigger": "delivery", "percent": "100", "net_days": 30}]}


def at(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def product(system: System, **production: Any) -> dict[str, Any]:
    """A product of this run in both masters: the order service's (to review it) and production's (to plan it)."""
    sku = f"T-{uuid4().hex[:8]}"
    line = {"line_no": 1, "product": f"test part {sku}", "sku": sku, "quantity": 40, "unit_price": "10.00"}
    sold = {"sku": sku, "name": line["product"], "list_price": "10.00", "currency": "USD", "lead_time_days": 1}
    made = {"sku": sku, "name": line["product"], **production}
    async with system.client("order") as order, system.client("production") as production:
        assert (await order.put(f"/products/{sku}", json=sold)).status_code == 200
        answer = await production.put(f"/products/{sku}", json=made)
        assert answer.status_code == 200, answer.text
    return line


async def one_order(system: System, line: dict[str, Any], **body: Any) -> str:
    [order] = await post_orders(system, [order_body(1, terms=ON_DELIVERY) | {"lines": [line]} | body])
    return str(order["id"])


async def exceptions(system: System, order_id: str) -> dict[str, bool]:
    found = await rows(system, "production", "SELECT kind, open FROM exceptions WHERE order_id = $1", order_id)
    return {r["kind"]: r["open"] for r in found}


async def test_a_rejected_sample_holds_production_until_the_customer_approves(shared_system: System) -> None:
    line = await product(shared_system, sample_required=True, sample_days=4)
    order_id = await one_order(shared_system, line)
    async with shared_system.client("production", timeout=30) as production:
        [wo] = await poll(production, "/work-orders", lambda wos: wos or None, order_id=order_id)
        assert (wo["released"], wo["status"]) == (False, "planned")
        rejected = await production.post(
            f"/work-orders/{wo['id']}/approvals/sample",
            json={"approved": False, "comments": "colour off", "evidence": ["photo-1"], "by": "acme"},
        )
        assert rejected.status_code == 201, rejected.text
        assert (await exceptions(shared_system, order_id))["production.sample_rejected"] is True
        detail = (await production.get(f"/work-orders/{wo['id']}")).json()
        assert detail["status"] == "planned" and detail["approvals"][0]["comments"] == "colour off"
        sample = next(m for m in detail["milestones"] if m["name"] == "sample_approved")
        assert sample["projected"] == str(date.today() + timedelta(days=4))  # a new sample: four days again
        wrong = await production.post(
            f"/work-orders/{wo['id']}/approvals/pre_production", json={"approved": True, "by": "x"}
        )
        assert wrong.status_code == 409 and "no pre_production approval" in wrong.json()["detail"]
        approved = await production.post(
            f"/work-orders/{wo['id']}/approvals/sample", json={"approved": True, "by": "acme"}
        )
        assert approved.status_code == 201, approved.text
    await produced(shared_system, order_id)  # released: the MES made it
    assert (await exceptions(shared_system, order_id))["production.sample_rejected"] is False


async def test_a_failed_final_inspection_is_reworked_before_the_goods_go(shared_system: System) -> None:
    line = await product(shared_system, operations=["cutting", "finishing"])
    order_id = await one_order(shared_system, line, requirements={"inspection": "customer"})
    async with shared_system.client("production", timeout=30) as production:
        [wo] = await poll(
            production,
            "/work-orders",
            lambda wos: wos if wos and wos[0]["status"] == "awaiting_qc" else None,
            order_id=order_id,
        )
        assert wo["good_quantity"] == 40  # made; waiting for the customer's inspection
        final = {"stage": "final", "inspected_quantity": 40, "by": "acme"}
        failed = await production.post(
            f"/work-orders/{wo['id']}/inspections", json=final | {"passed": False, "defect_quantity": 3}
        )
        assert failed.status_code == 201, failed.text
        inspection = failed.json()["id"]
        assert (await exceptions(shared_system, order_id))["production.quality_failed"] is True
        missing = await production.post("/inspections/QC-NOPE/decision", json={"decision": "rework", "by": "qc"})
        assert missing.status_code == 404
        rework = await production.post(f"/inspections/{inspection}/decision", json={"decision": "rework", "by": "qc"})
        assert rework.status_code == 200 and rework.json()["decision"] == "rework"
        again = await production.post(f"/inspections/{inspection}/decision", json={"decision": "scrap", "by": "qc"})
        assert again.status_code == 409
        assert (await production.get(f"/work-orders/{wo['id']}")).json()["status"] == "awaiting_qc"
        passed = await production.post(f"/work-orders/{wo['id']}/inspections", json=final | {"passed": True})
        assert passed.status_code == 201, passed.text
    await produced(shared_system, order_id)
    assert (await exceptions(shared_system, order_id))["production.quality_failed"] is False


async def test_a_slow_line_raises_delay_risk_before_its_planned_date(shared_system: System) -> None:
    line = await product(shared_system, operations=["manual"], daily_capacity=100)  # people report it: the test
    order_id = await one_order(shared_system, line | {"quantity": 500})
    async with shared_system.client("production", timeout=30) as production:
        [wo] = await poll(production, "/work-orders", lambda wos: wos or None, order_id=order_id)

        async def mes(message_id: str, kind: str, **fields: Any) -> None:
            message = {"message_id": f"{wo['id']}-{message_id}", "type": kind, "work_order_id": wo["id"], **fields}
            await send(shared_system, topics.MES_EVENTS, message, wo["id"])

        report = {"operation": "manual", "good_quantity": 10, "occurred_at": at(hours=-1)}
        await mes("start", "started", occurred_at=at(days=-2))
        await mes("r2", "operation_reported", **report)
        await mes("r2", "operation_reported", **report)  # the MES sent it twice
        await mes("r1", "operation_reported", operation="manual", good_quantity=5, occurred_at=at(days=-1))  # late
        await mes("down", "machine_down", operation="press 7", reason="hydraulics", occurred_at=at())
        await poll(production, f"/work-orders/{wo['id']}", lambda w: w if w["progress"] else None)
        found = await _until(shared_system, order_id, lambda e: e.get("production.machine_down"))
        assert found["production.delay_risk"] is True  # 5 a day for 490 more: weeks late
        detail = (await production.get(f"/work-orders/{wo['id']}")).json()
        assert [(p["operation"], p["good_quantity"]) for p in detail["progress"]] == [("manual", 10)]  # not 5
        assert date.fromisoformat(detail["planned_completion"]) > date.today()  # warned before the date passed
        assert date.fromisoformat(detail["projected_completion"]) > date.fromisoformat(detail["planned_completion"])
        [risk] = await rows(
            shared_system,
            "production",
            "SELECT facts FROM exceptions WHERE order_id = $1 AND kind = 'production.delay_risk'",
            order_id,
        )
        assert '"stage": "manual"' in risk["facts"]
        await mes("up", "machine_up", operation="press 7", occurred_at=at())
        await mes("done", "completed", good_quantity=500, occurred_at=at())
        await mes("start", "started", occurred_at=at(days=-2))  # redelivered after completion
    await produced(shared_system, order_id)
    closed = await exceptions(shared_system, order_id)
    assert (closed["production.delay_risk"], closed["production.machine_down"]) == (False, False)
    [done] = await rows(shared_system, "production", "SELECT status FROM work_orders WHERE order_id = $1", order_id)
    assert done["status"] == "completed"


async def test_a_bought_line_completes_when_received_and_inspected(shared_system: System) -> None:
    line = await product(shared_system, make_or_buy="buy", supplier="Dongguan Precision Castings")
    order_id = await one_order(shared_system, line)
    await produced(shared_system, order_id)  # the supplier confirmed, shipped and delivered; it passed
    async with shared_system.client("production", timeout=30) as production:
        [po] = (await production.get("/work-orders", params={"order_id": order_id})).json()
        assert (po["kind"], po["id"][:2], po["status"], po["received_quantity"]) == ("buy", "PO", "completed", 40)
        detail = (await production.get(f"/work-orders/{po['id']}")).json()
        assert all(m["actual"] for m in detail["milestones"]) and detail["next_milestone"] is None
        assert detail["inspections"][0]["stage"] == "incoming"
        late = {
            "message_id": f"http-{po['id']}",
            "occurred_at": at(),
            "type": "received",
            "purchase_order_id": po["id"],
            "quantity": 40,
        }
        first = await production.post("/supplier-events", json=late)
        second = await production.post("/supplier-events", json=late)
        unknown = await production.post(
            "/supplier-events", json=late | {"message_id": "http-nope", "purchase_order_id": "PO-NOPE"}
        )
        lines = (await production.get("/order-lines", params={"order_id": order_id})).json()
    assert (first.status_code, first.json()) == (202, {"applied": True})
    assert (second.status_code, second.json()) == (202, {"applied": False})  # once per message id
    assert unknown.status_code == 404
    assert lines == [
        {
            "line_no": 1,
            "ordered": 40,
            "good_quantity": 40,
            "scrap_quantity": 0,
            "complete": True,
            "next_milestone": None,
            "next_date": None,
        }
    ]


async def produced(system: System, order_id: str, timeout: float = 60) -> None:
    """Wait until production made the order ready and the order service moved it on (warehouse, shipping and
    billing are their own modules' tests: test_lifecycle closes orders end to end)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await rows(system, "order", "SELECT status FROM orders WHERE id = $1", order_id)
        if found and found[0]["status"] not in ("in_review", "accepted", "in_production"):
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"{order_id} not produced after {timeout} s: {found}")


async def _until(system: System, order_id: str, found: Any, timeout: float = 30) -> dict[str, bool]:
    """Poll the order's production exceptions until `found(them)`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = await exceptions(system, order_id)
        if found(current):
            return current
        await asyncio.sleep(0.3)
    raise AssertionError(f"not there after {timeout} s: {current}")
