"""Who may do what: bearer tokens checked against the issuer's JWKS, roles per route, partner API keys."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest
from fastapi import APIRouter, Depends, FastAPI

from deploy.dev_issuer import AUDIENCE, ISSUER, DevIssuer
from shared.auth import (
    API_KEY_HEADER,
    AccessRole,
    AuthSettings,
    Guard,
    Principal,
    allow,
    key_hash,
    key_id_of,
    key_matches,
    new_key,
    roles_of,
)

pytestmark = pytest.mark.unit

router = APIRouter()


@router.get("/orders")
async def read() -> dict[str, str]:
    return {"ok": "read"}


@router.post("/orders")
async def change(who: Principal = Depends(allow(AccessRole.MERCHANDISER, partners=["erp"]))) -> dict[str, str]:
    return {"by": who.name}


@router.post("/plain")
async def plain() -> dict[str, str]:
    return {"ok": "changed"}


@router.post("/payments/{carrier}", dependencies=[Depends(allow(AccessRole.FINANCE, partners=["finance"]))])
async def pay() -> dict[str, str]:
    return {"ok": "paid"}


@router.get("/audit", dependencies=[Depends(allow())])
async def audit() -> dict[str, str]:
    return {"ok": "supervisors only"}


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> DevIssuer:
    return DevIssuer(tmp_path_factory.mktemp("issuer"))


KEY_ID, KEY, KEY_HASH = new_key()


async def lookup(key_id: str, key: str) -> Principal | None:
    if key_id == KEY_ID and key_matches(key, KEY_HASH):
        return Principal(name="erp:sap", kind="partner", partner="erp", partner_name="sap")
    return None


@pytest.fixture
async def api(issuer: DevIssuer) -> AsyncIterator[httpx.AsyncClient]:
    guard = Guard(AuthSettings(**{k.lower(): v for k, v in issuer.env.items()}), lookup)
    app = FastAPI(dependencies=[Depends(guard)])
    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
        yield client


def bearer(issuer: DevIssuer, *roles: str, **claims: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {issuer.token('li.wei', roles, **claims)}"}


async def test_no_token_is_refused_with_a_challenge_and_probes_stay_open(api: httpx.AsyncClient) -> None:
    answer = await api.get("/orders")
    assert answer.status_code == 401 and "bearer token" in answer.json()["detail"]
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await api.get("/health")).status_code == 200


async def test_roles_decide_reading_and_changing(api: httpx.AsyncClient, issuer: DevIssuer) -> None:
    viewer, merchandiser = bearer(issuer, "viewer"), bearer(issuer, "merchandiser")
    assert (await api.get("/orders", headers=viewer)).status_code == 200
    refused = await api.post("/orders", headers=viewer)
    assert refused.status_code == 403 and "needs: merchandiser" in refused.json()["detail"]
    assert (await api.post("/orders", headers=merchandiser)).json() == {"by": "li.wei"}
    assert (await api.post("/plain", headers=viewer)).status_code == 403  # changing needs a changer by default
    assert (await api.post("/plain", headers=merchandiser)).status_code == 200
    assert (await api.post("/payments/x", headers=merchandiser)).status_code == 403
    assert (await api.post("/payments/x", headers=bearer(issuer, "finance"))).status_code == 200
    assert (await api.get("/audit", headers=merchandiser)).status_code == 403
    assert (await api.get("/audit", headers=bearer(issuer, "supervisor"))).status_code == 200
    assert (await api.get("/orders", headers=bearer(issuer))).status_code == 403  # no Gendan role at all


async def test_forged_expired_and_foreign_tokens_are_refused(
    api: httpx.AsyncClient, issuer: DevIssuer, tmp_path: Path
) -> None:
    other = DevIssuer(tmp_path)  # another key, same issuer name: the signature does not verify
    cases = {
        "signed by another key": other.token("li.wei", ["supervisor"]),
        "expired": issuer.token("li.wei", ["supervisor"], ttl_seconds=-120),
        "other audience": issuer.token("li.wei", ["supervisor"], aud="someone-else"),
        "other issuer": issuer.token("li.wei", ["supervisor"], iss="https://evil.example"),
        "unsigned": jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": 2**40}, None, algorithm="none"),
        "garbage": "not-a-token",
    }
    for case, token in cases.items():
        answer = await api.get("/orders", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, case


async def test_a_partner_key_admits_only_routes_that_admit_its_kind(api: httpx.AsyncClient) -> None:
    erp = {API_KEY_HEADER: KEY}
    assert (await api.post("/orders", headers=erp)).json() == {"by": "erp:sap"}
    assert (await api.post("/payments/x", headers=erp)).status_code == 403  # an ERP posts orders, not payments
    assert (await api.get("/orders", headers=erp)).status_code == 403  # nor reads what it was not given
    wrong = KEY[:-4] + "AAAA"
    assert (await api.post("/orders", headers={API_KEY_HEADER: wrong})).status_code == 401
    assert (await api.post("/orders", headers={API_KEY_HEADER: "nonsense"})).status_code == 401


def test_keys_are_random_shown_once_and_stored_as_hashes() -> None:
    key_id, key, stored = new_key()
    assert key_id_of(key) == key_id and stored == key_hash(key) and key not in stored
    assert key_matches(key, stored) and not key_matches(key + "x", stored)
    assert new_key()[1] != key


def test_roles_come_from_roles_or_keycloak_realm_roles() -> None:
    assert roles_of({"roles": ["finance", "admin"]}) == {AccessRole.FINANCE}
    assert roles_of({"realm_access": {"roles": ["viewer"]}}) == {AccessRole.VIEWER}
    assert roles_of({}) == frozenset()


def test_production_refuses_auth_off_and_a_jwks_not_over_https() -> None:
    with pytest.raises(ValueError, match="refuses AUTH_MODE=off"):
        AuthSettings(gendan_env="production", auth_mode="off")
    with pytest.raises(ValueError, match="https"):
        AuthSettings(gendan_env="production", auth_mode="oidc", auth_issuer="x", auth_jwks_url="file:///k.json")
    with pytest.raises(ValueError, match="needs AUTH_ISSUER"):
        AuthSettings(auth_mode="oidc")
