"""Billing end to end, the four services as processes on the real Kafka and PostgreSQL, finance paying nothing by
itself: a deposit unpaid at packing holds the shipment and its payment releases it; a partial payment then the
rest by order reference; an overpayment kept as credit and used on the customer's next order; a payment matching
nothing, matched by a person. Every order closes."""

import asyncio
import time
from decimal import Decimal
from typing import Any

import pytest

from deploy.system import System
from shared import topics
from shared.contracts import ADVANCE_100, TT_30_70
from tests.e2e.flows import order_body, post_orders, rows, wait_closed
from tests.e2e.test_exceptions import now, poll, send

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.system_env(
        SIM_FINANCE_PAYS="false",  # the test pays, as the customer would, and sometimes wrongly
        WATCH_SECONDS="0.5",
        UNMATCHED_PAYMENT_HOURS="0.001",  # 3.6 s
    ),
]
PERSON = {"X-Actor": "li.wei"}
ON_ACCEPTANCE = {"installments": [{"trigger": "acceptance", "percent": "100", "net_days": 10}]}


def body(n: int, terms: dict[str, Any], customer: str = "ACME Industrial", currency: str = "USD") -> dict[str, Any]:
    return order_body(n, terms=terms) | {"customer": customer, "currency": currency}


async def invoices(system: System, oid: str, count: int) -> list[Any]:
    """The order's invoices once there are `count` of them, oldest first."""
    query = "SELECT number, amount, paid_amount, status FROM invoices WHERE order_id = $1 ORDER BY issued_at, number"
    return await until(lambda: rows(system, "billing", query, oid), lambda found: len(found) >= count)


async def until(fetch: Any, ok: Any, timeout: float = 60) -> Any:
    """Fetch until `ok(value)`; the value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await fetch()
        if ok(value):
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"not so after {timeout} s: {value!r:.2000}")


async def pay(system: System, pid: str, amount: Decimal | str, currency: str = "USD", **fields: Any) -> None:
    message = {"message_id": pid, "occurred_at": now(), "amount": str(amount), "currency": currency, **fields}
    await send(system, topics.FINANCE_PAYMENTS, message, pid)


async def timeline(system: System, oid: str) -> list[str]:
    async with system.client("order", timeout=30) as client:
        return [e["type"] for e in (await client.get(f"/orders/{oid}")).json()["timeline"]]


async def held_then_released(system: System, oid: str) -> float:
    """The shipment held until the test pays what is due before shipping; seconds from payment to release."""
    await until(lambda: rows(system, "billing", "SELECT hold FROM accounts WHERE order_id = $1", oid),
                lambda r: r and r[0]["hold"] == "held")  # fmt: skip
    assert "billing.shipment_released" not in await timeline(system, oid)
    deposit, balance = await invoices(system, oid, 2)
    paid_at = time.monotonic()
    await pay(system, f"{oid}-deposit", deposit["amount"], invoice_number=deposit["number"])
    await pay(system, f"{oid}-balance", balance["amount"], invoice_number=balance["number"])
    await until(lambda: rows(system, "billing", "SELECT hold FROM accounts WHERE order_id = $1", oid),
                lambda r: r[0]["hold"] == "released")  # fmt: skip
    return time.monotonic() - paid_at


async def partial_then_rest(system: System, oid: str, external_ref: str) -> None:
    """40 % paid on the invoice, the rest naming only the customer's order number."""
    [invoice] = await invoices(system, oid, 1)
    part = (invoice["amount"] * Decimal("0.4")).quantize(Decimal("0.01"))
    await pay(system, f"{oid}-part", part, invoice_number=invoice["number"])
    await until(lambda: invoices(system, oid, 1), lambda found: found[0]["status"] == "partly_paid")
    await pay(system, f"{oid}-rest", invoice["amount"] - part, reference=f"balance of your order {external_ref}")


async def overpaid_then_credited(system: System, first: dict[str, Any]) -> dict[str, Any]:
    """The first order overpaid by 10 EUR; the customer's next order starts 10 EUR paid; its rest paid by payer
    and amount alone. The next order."""
    customer = first["customer"]
    [invoice] = await invoices(system, first["id"], 1)
    await pay(system, f"{first['id']}-over", invoice["amount"] + 10, "EUR", invoice_number=invoice["number"])
    async with system.client("billing", timeout=30) as billing:
        await poll(billing, f"/customers/{customer}/credit", lambda credit: credit.get("EUR") == "10.00")
    [second] = await post_orders(system, [body(7, ON_ACCEPTANCE, customer, "EUR")])
    [credited] = await until(lambda: invoices(system, second["id"], 1), lambda f: f[0]["paid_amount"] == 10)
    assert credited["status"] == "partly_paid"
    await pay(system, f"{second['id']}-rest", credited["amount"] - 10, "EUR", payer=customer)
    return second


async def matched_by_hand(system: System, oid: str) -> None:
    """A payment naming nothing billing knows is raised on the board; a person applies it to the order."""
    [invoice] = await invoices(system, oid, 1)
    pid = f"{oid}-anonymous"
    await pay(system, pid, invoice["amount"], payer="Unknown Trading", reference="wire 20270301")
    async with (
        system.client("order", timeout=30) as board,
        system.client("billing", timeout=30, headers=PERSON) as billing,
    ):
        unmatched = lambda entries: next((e for e in entries if e["subject_id"] == pid and e["open"]), None)  # noqa: E731
        raised = await poll(board, "/exceptions", unmatched, stage="billing")
        assert raised["kind"] == "billing.unmatched_payment" and raised["facts"]["payer"] == "Unknown Trading"
        applied = await billing.post(f"/payments/{pid}/apply", json={"order_id": oid})
        assert applied.status_code == 200, applied.text
        assert (applied.json()["status"], applied.json()["applied_by"]) == ("applied", "li.wei")


async def test_hold_release_partial_over_and_unmatched_payments_all_close(system: System) -> None:
    bodies = [
        body(1, TT_30_70.model_dump(mode="json")),
        body(2, ADVANCE_100.model_dump(mode="json")),
        body(3, ON_ACCEPTANCE, "Nordwind Maschinenbau GmbH", "EUR"),
        body(4, ON_ACCEPTANCE),
    ]
    held, partial, overpaid, anonymous = await post_orders(system, bodies)

    released_after, _, credited, _ = await asyncio.gather(
        held_then_released(system, held["id"]),
        partial_then_rest(system, partial["id"], bodies[1]["external_ref"]),
        overpaid_then_credited(system, overpaid),
        matched_by_hand(system, anonymous["id"]),
    )
    ids = [o["id"] for o in (held, partial, overpaid, anonymous, credited)]
    await wait_closed(system, ids)
    print(f"shipment released {released_after:.2f} s after the payment")

    events = await timeline(system, held["id"])  # held at packing, left only once released
    held_at, released_at = events.index("billing.shipment_held"), events.index("billing.shipment_released")
    assert held_at < released_at < events.index("logistics.shipment_dispatched")
    events = await timeline(system, partial["id"])  # paid in advance: released at packing, or held until paid
    assert events.index("billing.shipment_released") < events.index("logistics.shipment_dispatched")
    paid = await rows(
        system,
        "billing",
        "SELECT a.order_id, a.total_amount, sum(i.amount - i.credited_amount) AS asked, sum(i.paid_amount) AS paid"
        " FROM accounts a JOIN invoices i ON i.order_id = a.order_id WHERE a.order_id = ANY($1::text[])"
        " GROUP BY a.order_id, a.total_amount",
        ids,
    )
    assert {r["order_id"]: (r["asked"], r["paid"]) for r in paid} == {
        r["order_id"]: (r["total_amount"], r["total_amount"]) for r in paid
    }
    assert len(paid) == len(ids)
    applications = await rows(
        system, "billing", "SELECT source, amount FROM payment_applications WHERE order_id = $1", credited["id"]
    )
    assert sorted((r["source"], str(r["amount"])) for r in applications)[0] == ("credit", "10.00")
