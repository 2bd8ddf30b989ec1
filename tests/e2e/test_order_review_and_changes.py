"""Review, clarification, a change after production started and a partial cancellation, with the four
services as processes on the real Kafka and PostgreSQL: every service follows the order's decisions."""

from decimal import Decimal
from typing import Any

import pytest

from deploy.system import System
from shared import topics
from tests.e2e.flows import DEPOSIT_30_70, order_body, post_orders, rows, wait_closed
from tests.e2e.test_exceptions import now, poll, send

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.system_env(SIM_MES_COMPLETES="false"),  # the MES reports "started"; the test completes work orders
]
PERSON = {"X-Actor": "li.wei"}
ON_DELIVERY = {"installments": [{"trigger": "delivery", "percent": "100", "net_days": 30}]}


def status_is(*wanted: str) -> Any:
    return lambda body: body if body["status"] in wanted else None


async def complete(system: System, work_order: dict[str, Any], good: int) -> None:
    message = {
        "message_id": f"test-{work_order['id']}-done",
        "occurred_at": now(),
        "type": "completed",
        "work_order_id": work_order["id"],
        "good_quantity": good,
    }
    await send(system, topics.MES_EVENTS, message, work_order["id"])


async def test_review_changes_and_cancellation_across_services(system: System) -> None:
    order_api = system.client("order", timeout=30, headers=PERSON)
    production = system.client("production", timeout=30)
    try:
        # 1. a clarification round: an unknown product is asked about, the answer lets review accept
        unknown = order_body(1, terms=ON_DELIVERY)
        unknown["lines"][0]["product"] = "GX-999 mystery part"
        # 2. a review with one rejection: over the customer's credit limit, finance says no
        over = order_body(2, terms=ON_DELIVERY)
        over["customer"] = "Harbour Retail Ltd"
        over["lines"][0] |= {"product": "GX-200 gearbox", "quantity": 300, "unit_price": "84.50"}
        # 3. a change after production started, 4. a partial cancellation
        change_body = order_body(3, terms=DEPOSIT_30_70)
        cancel_body = order_body(4, terms=ON_DELIVERY)
        cancel_body["lines"].append({"line_no": 2, "product": "MT-7 motor mount", "quantity": 50, "unit_price": "6.80"})
        asked, refused, changed, cancelled = await post_orders(system, [unknown, over, change_body, cancel_body])
        assert {o["status"] for o in (asked, refused, changed, cancelled)} == {"in_review"}

        review = await poll(
            order_api,
            f"/orders/{asked['id']}/review",
            lambda b: b if b["clarifications"] and all(r["decision"] == "approved" for r in b["reviews"]) else None,
        )
        [question] = review["clarifications"]
        assert question["code"] == "unknown_product" and "GX-999" in question["question"]
        answered = await order_api.post(
            f"/orders/{asked['id']}/clarifications/{question['id']}/answer",
            json={"answer": "Customer mail 27 Nov: means GX-100 coupling"},
        )
        assert answered.status_code == 200, answered.text
        await poll(order_api, f"/orders/{asked['id']}", status_is("accepted"))

        finance = await poll(
            order_api,
            f"/orders/{refused['id']}/review",
            lambda b: next((r for r in b["reviews"] if r["department"] == "finance"), None),
        )
        assert finance["decision"] == "pending" and "exceed the credit limit" in finance["reason"]
        no = await order_api.post(
            f"/orders/{refused['id']}/reviews/finance", json={"decision": "reject", "reason": "prepayment refused"}
        )
        assert no.status_code == 200, no.text
        rejected = await poll(order_api, f"/orders/{refused['id']}", status_is("rejected"))
        assert [e["data"]["reasons"] for e in rejected["timeline"] if e["type"] == "order.rejected"] == [
            ["finance: prepayment refused"]
        ]

        # 3. quantity up after production started
        await poll(order_api, f"/orders/{changed['id']}", status_is("in_production"))
        [work_order] = await poll(
            production,
            "/work-orders",
            lambda wos: wos if wos and wos[0]["status"] == "started" else None,
            order_id=changed["id"],
        )
        lines = [{**change_body["lines"][0], "quantity": 20}]
        requested = await order_api.post(
            f"/orders/{changed['id']}/changes", json={"lines": lines, "reason": "customer needs 20"}
        )
        assert requested.status_code == 201, requested.text
        change = requested.json()
        assessed = await poll(
            order_api, f"/orders/{changed['id']}/changes", lambda cs: cs[0] if cs[0]["status"] == "assessed" else None
        )
        assert set(assessed["assessments"]) == {"production", "logistics"}
        assert assessed["assessments"]["production"]["work_in_progress"] == work_order["quantity"]
        accepted = await order_api.post(
            f"/orders/{changed['id']}/changes/{change['id']}/accept",
            json={"customer_confirmation": "PO-change 2 signed 27 Nov"},
        )
        assert accepted.status_code == 200, accepted.text
        [work_order] = await poll(
            production,
            "/work-orders",
            lambda wos: wos if wos and wos[0]["quantity"] == 20 else None,
            order_id=changed["id"],
        )
        await complete(system, work_order, 20)

        # 4. cancel line 2 while both lines are in production
        await poll(
            production,
            "/work-orders",
            lambda wos: wos if len(wos) == 2 and {w["status"] for w in wos} == {"started"} else None,
            order_id=cancelled["id"],
        )
        cancel = await order_api.post(
            f"/orders/{cancelled['id']}/cancel", json={"lines": [2], "reason": "mounts no longer needed"}
        )
        assert cancel.status_code == 201, cancel.text
        await poll(
            order_api, f"/orders/{cancelled['id']}/changes", lambda cs: cs if cs[0]["status"] == "assessed" else None
        )
        ok = await order_api.post(
            f"/orders/{cancelled['id']}/changes/{cancel.json()['id']}/accept",
            json={"customer_confirmation": "mail of 27 Nov"},
        )
        assert ok.status_code == 200, ok.text
        work_orders = await poll(
            production,
            "/work-orders",
            lambda wos: wos if {w["status"] for w in wos} == {"started", "cancelled"} else None,
            order_id=cancelled["id"],
        )
        [line_1] = [w for w in work_orders if w["line_no"] == 1]
        await complete(system, line_1, line_1["quantity"])

        # the clarified order's work order, too (the MES does not complete by itself here)
        [asked_wo] = await poll(production, "/work-orders", lambda wos: wos if wos else None, order_id=asked["id"])
        await complete(system, asked_wo, asked_wo["quantity"])
        await wait_closed(system, [asked["id"], changed["id"], cancelled["id"]], timeout=120)

        # every service followed: one work order for the changed line, the shipment carries 20, the
        # invoices add up to the new total once, and it was paid once
        [shipment] = await rows(
            system, "logistics", "SELECT quantity FROM shipments WHERE order_id = $1", changed["id"]
        )
        assert shipment["quantity"] == 20
        invoices = await rows(
            system, "billing", "SELECT amount, paid_amount FROM invoices WHERE order_id = $1", changed["id"]
        )
        assert sum(r["amount"] for r in invoices) == Decimal("247.00") == sum(r["paid_amount"] for r in invoices)
        assert len(invoices) == 3  # 30 % of 160.55, its supplement for 30 % of the increase, 70 % of 247.00
        final = (await order_api.get(f"/orders/{cancelled['id']}")).json()
        assert Decimal(final["total_amount"]) == Decimal("12.35") * 14
        cancelled_invoices = await rows(
            system, "billing", "SELECT amount FROM invoices WHERE order_id = $1", cancelled["id"]
        )
        assert [r["amount"] for r in cancelled_invoices] == [Decimal("172.90")]
        # the tracking table and the KPIs after these runs
        table = await order_api.get("/tracking", params={"q": change_body["external_ref"]})
        assert table.status_code == 200, table.text
        [row] = table.json()["rows"]
        assert (row["id"], row["status"], row["next_milestone"]) == (changed["id"], "closed", None)
        assert Decimal(row["invoiced_amount"]) == Decimal(row["paid_amount"]) == Decimal("247.00")
        assert not row["late"] and Decimal(row["outstanding_amount"]) == 0
        rejected_rows = (await order_api.get("/tracking", params={"customer": "Harbour Retail Ltd"})).json()["rows"]
        assert refused["id"] in {r["id"] for r in rejected_rows if r["status"] == "rejected"}
        today = now()[:10]
        figures = (await order_api.get("/kpis", params={"from": today, "to": today})).json()
        assert figures["on_time_delivery"]["delivered"] >= 3 and figures["on_time_delivery"]["rate"] == 1.0
        per_customer = {c["customer"]: c for c in figures["per_customer"]}
        assert per_customer["ACME Industrial"]["orders"] >= 3 and per_customer["Harbour Retail Ltd"]["orders"] >= 1
        versions = (await order_api.get(f"/orders/{changed['id']}/versions")).json()
        assert [v["version"] for v in versions] == [1, 2]
        assert versions[1]["changes"] == [{"field": "line 1.quantity", "before": 13, "after": 20}]
    finally:
        await order_api.aclose()
        await production.aclose()
