"""Who may do what, on the running system: people by their tokens' roles, partners by their API keys (issued,
rotated with two live keys, revoked), and every change in the audit trail."""

from datetime import UTC, datetime
from uuid import uuid4

import httpx
import pytest

from deploy.system import System
from tests.e2e.flows import order_body

pytestmark = pytest.mark.e2e


async def test_people_are_checked_by_role_and_every_change_is_audited(shared_system: System) -> None:
    order = shared_system.url("order")
    async with httpx.AsyncClient(base_url=order, timeout=30) as anonymous:
        refused = await anonymous.get("/orders")
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
        forged = await anonymous.get("/orders", headers={"Authorization": "Bearer not.a.token"})
        assert forged.status_code == 401
        assert (await anonymous.get("/health")).status_code == 200  # probes stay open

        viewer = shared_system.headers("vera.viewer", ("viewer",))
        assert (await anonymous.get("/orders", headers=viewer)).status_code == 200
        posted = await anonymous.post("/orders", json=order_body(1), headers=viewer)
        assert posted.status_code == 403 and "needs: merchandiser" in posted.json()["detail"]

        merchandiser = shared_system.headers("mo.merch", ("merchandiser",))
        taken = await anonymous.post("/orders", json=order_body(2), headers=merchandiser)
        assert taken.status_code == 201, taken.text
        assert (await anonymous.get("/audit", headers=merchandiser)).status_code == 403  # supervisors only

    async with shared_system.client(service="order") as supervisor:
        trail = (await supervisor.get("/audit", params={"actor": "mo.merch"})).json()
    assert [(e["method"], e["path"], e["status"], e["actor_kind"]) for e in trail][:1] == [
        ("POST", "/orders", 201, "person")
    ]
    assert not [e for e in trail if e["status"] == 403]  # the refused attempt was a viewer's, and changed nothing


async def test_a_partner_key_is_shown_once_scoped_rotated_and_revoked(shared_system: System) -> None:
    name = f"acme-{uuid4().hex[:6]}"
    async with shared_system.client("production") as supervisor:
        first = (await supervisor.post("/partner-keys", json={"partner": "supplier", "name": name})).json()
        second = (await supervisor.post("/partner-keys", json={"partner": "supplier", "name": name})).json()
        third = await supervisor.post("/partner-keys", json={"partner": "supplier", "name": name})
        assert third.status_code == 409  # two live keys at most: the old one and the new one
        listed = (await supervisor.get("/partner-keys")).json()
        assert "key" not in listed[0] and "key_hash" not in listed[0]  # shown once, stored as a hash

    message = {
        "message_id": f"sup-{uuid4().hex}",
        "occurred_at": datetime.now(UTC).isoformat(),
        "type": "confirmed",
        "purchase_order_id": "PO-NOT-OURS",
    }
    async with httpx.AsyncClient(base_url=shared_system.url("production"), timeout=30) as partner:
        for key in (first["key"], second["key"]):  # both work during the rotation
            answer = await partner.post("/supplier-events", json=message, headers={"X-API-Key": key})
            assert answer.status_code == 404, answer.text  # let in; the purchase order is not known
        other = await partner.get("/work-orders", params={"order_id": "x"}, headers={"X-API-Key": first["key"]})
        assert other.status_code == 403  # a supplier posts its messages, it does not read production

        async with shared_system.client("production") as supervisor:
            revoked = (await supervisor.delete(f"/partner-keys/{first['id']}")).json()
        assert revoked["revoked_by"] == "test.supervisor"
        gone = await partner.post("/supplier-events", json=message, headers={"X-API-Key": first["key"]})
        assert gone.status_code == 401 and "revoked" in gone.json()["detail"]
        kept = await partner.post("/supplier-events", json=message, headers={"X-API-Key": second["key"]})
        assert kept.status_code == 404

    async with shared_system.client("production") as supervisor:
        trail = (await supervisor.get("/audit", params={"actor": f"supplier:{name}"})).json()
    assert {e["actor_kind"] for e in trail} == {"partner"} and len(trail) >= 3
