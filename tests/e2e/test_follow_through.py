"""Follow-through on the running system: an export order through its commodity inspection, customs and FX
settlement, with its file complete at the end (a missing inspection report raised on the way); a quality
complaint after delivery put right by a replacement shipment and a credit note; the post-order review."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from deploy.system import System
from tests.e2e.flows import order_body, post_orders, wait_closed

pytestmark = pytest.mark.e2e
NET_30 = {"installments": [{"trigger": "delivery", "percent": "100", "net_days": 30}]}


async def until(what: str, check: Callable[[], Awaitable[Any]], timeout: float = 90) -> Any:
    """Poll until `check` returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := await check():
            return found
        await asyncio.sleep(0.3)
    raise AssertionError(f"{what}: not after {timeout} s")


async def test_an_export_order_is_followed_through_to_its_review(shared_system: System) -> None:
    body = order_body(1, terms=NET_30) | {"destination_country": "DE", "incoterm": "FOB"}
    body["requirements"] = {"inspection": "third_party", "certifications": ["CO"]}  # the inspector's report is filed
    [order] = await post_orders(shared_system, [body])
    oid = order["id"]
    async with (
        shared_system.client("order") as orders,
        shared_system.client("production") as production,
        shared_system.client("logistics") as logistics,
    ):
        signed = b"%PDF-1.4 the customer's signed order confirmation"
        files = {"file": ("PO-signed.pdf", signed, "application/pdf")}
        form = {"kind": "customer_confirmation", "name": "PO signed"}
        assert (await orders.post(f"/orders/{oid}/documents", data=form, files=files)).status_code == 201

        async def work_orders() -> list[dict[str, Any]]:
            return list((await production.get("/work-orders", params={"order_id": oid})).json())

        [work_order] = await until("a work order", work_orders)
        for step in ("booked", "passed"):  # the commodity inspection (商检) of the goods
            inspected = {"status": step, "certificate": "CIQ-4403-2027-0087"}
            answer = await production.post(f"/work-orders/{work_order['id']}/commodity-inspection", json=inspected)
            assert answer.status_code == 200, answer.text

        async def missing_report() -> list[dict[str, Any]]:
            found = (await orders.get("/exceptions", params={"order_id": oid})).json()
            return [
                e for e in found if e["kind"] == "order.document_missing" and "inspection_report" in e["subject_id"]
            ]

        await until("the missing inspection report on the board", missing_report)  # produced without its report
        report = {"file": ("sgs-inspection.pdf", b"%PDF-1.4 third-party inspection: passed", "application/pdf")}
        form = {"kind": "inspection_report", "name": "SGS inspection"}
        assert (await orders.post(f"/orders/{oid}/documents", data=form, files=report)).status_code == 201
        assert not await missing_report()  # filing it resolved it

        async def shipments() -> list[dict[str, Any]]:
            return list((await logistics.get("/shipments", params={"order_id": oid})).json())

        [shipment] = await until("a shipment", shipments)
        for step in ("declared", "released"):
            declared = {"status": step, "declaration_number": "531620270000123456"}
            answer = await logistics.post(f"/shipments/{shipment['id']}/customs", json=declared)
            assert answer.status_code == 200, answer.text

        await wait_closed(shared_system, [oid])

        async def settled_in_cny() -> dict[str, Any] | None:
            found = (await orders.get(f"/orders/{oid}/formalities")).json()
            last = {s["step"]: s["status"] for s in found["steps"]}
            done = last.get("customs_declaration") == "released" and last.get("commodity_inspection") == "passed"
            return found if done and not found["pending"] else None  # each service's last report has come

        formalities = await until("every formality reported", settled_in_cny)
        steps = {s["step"]: s for s in formalities["steps"]}
        assert steps["customs_declaration"]["status"] == "released"
        assert steps["commodity_inspection"]["status"] == "passed"
        assert steps["fx_settlement"]["facts"]["home_currency"] == "CNY" and not formalities["blocks_shipment"]

        async def complete_file() -> dict[str, Any] | None:
            found = (await orders.get(f"/orders/{oid}/file")).json()
            return found if found["complete"] else None

        the_file = await until("the order's file complete", complete_file)
        kinds = {d["kind"] for d in the_file["documents"]}
        assert {"packing_list", "commercial_invoice", "customs_declaration", "proof_of_delivery", "invoice"} <= kinds
        archive = await orders.get(f"/orders/{oid}/file.zip")
        assert archive.status_code == 200 and archive.content.startswith(b"PK")

        review = (await orders.get(f"/orders/{oid}/post-review")).json()
        assert review["order_id"] == oid and review["on_time"] is True
        assert "order.document_missing" in {e["kind"] for e in review["exceptions"]}  # the report came late

        # after delivery the customer complains: 4 pieces cracked, replaced; and a credit for the trouble
        complaint = {"category": "quality", "description": "4 housings cracked", "quantity": 4, "owner": "li.wei"}
        replace = (await orders.post(f"/orders/{oid}/complaints", json=complaint)).json()
        credit = (await orders.post(f"/orders/{oid}/complaints", json=complaint | {"category": "damage"})).json()
        remedies = [
            (replace, {"remedy": "replacement", "quantity": 4}),
            (credit, {"remedy": "credit_note", "amount": "12.00"}),
        ]
        for made, remedy in remedies:
            answer = await orders.post(f"/complaints/{made['id']}/remedy", json=remedy)
            assert answer.status_code == 200 and answer.json()["status"] == "remedy_requested", answer.text

        async def resolved() -> list[dict[str, Any]] | None:
            found = (await orders.get(f"/orders/{oid}/complaints")).json()
            return found if all(c["status"] == "resolved" for c in found) else None

        done = {c["id"]: c for c in await until("both complaints put right", resolved)}
        reshipment = done[replace["id"]]["remedy_detail"]["reference"]
        assert reshipment.startswith("SH") and reshipment in {s["id"] for s in await shipments()}
        assert done[credit["id"]]["remedy_detail"]["reference"].startswith("CN")
