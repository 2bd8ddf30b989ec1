"""Who may do what: people by OIDC bearer tokens with roles, partners by API keys with a scope.

People sign in at the firm's OIDC issuer (Keycloak, Entra ID, Okta...); a service checks the bearer
token's signature against the issuer's JWKS (PyJWT, keys cached), its issuer, audience and expiry,
and reads the roles from the `roles` claim (or Keycloak's `realm_access.roles`). Partners' systems
(an ERP posting orders, a finance system posting payments, a supplier, a carrier) send an API key
(`X-API-Key`) issued by the service they talk to: stored only as a SHA-256 hash, shown once, two
valid at once while a partner rotates, revocable; each key belongs to one partner kind and name,
and a route names the partner kinds it admits.

Every route of a service is guarded (`guard`, installed by `shared.service.create_app`): reading
needs any role, changing needs a role the route names with `allow(...)`, else merchandiser or
supervisor. Probes (/health, /ready, /metrics) stay open. `AUTH_MODE=off` turns the checks off for
a developer's single process; `GENDAN_ENV=production` refuses that (see `AuthSettings.check`).
"""

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlparse
from urllib.request import url2pathname

import jwt
from fastapi import HTTPException, Request, status
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AccessRole(StrEnum):
    """What a person may do, from the roles their token carries."""

    VIEWER = "viewer"  # reads everything, changes nothing
    MERCHANDISER = "merchandiser"  # follows orders: review, changes, exceptions, tasks
    FINANCE = "finance"  # money: credit review, payments matched by hand, credit notes
    SUPERVISOR = "supervisor"  # everything, and the masters, keys, dead letters and audit


PartnerKind = Literal["erp", "mes", "supplier", "wms", "carrier", "finance"]
PARTNER_KINDS: tuple[str, ...] = ("erp", "mes", "supplier", "wms", "carrier", "finance")
CHANGERS = frozenset({AccessRole.MERCHANDISER, AccessRole.SUPERVISOR})
OPEN_PATHS = frozenset({"/health", "/ready", "/metrics", "/asyncapi.json", "/docs", "/openapi.json", "/redoc"})
SESSION_COOKIE = "gendan_session"  # the console's: the same bearer token, kept HttpOnly by the browser
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_KEY_HEADER = "X-API-Key"
KEY_PREFIX = "gdk"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a person with roles, or a partner system with its kind and name."""

    name: str  # a person's login; a partner's `<kind>:<name>`, e.g. carrier:sf-express
    kind: Literal["person", "partner", "anonymous"]
    roles: frozenset[AccessRole] = frozenset()
    partner: str | None = None  # the partner kind
    partner_name: str | None = None  # e.g. the carrier's code; a carrier posts only for its own shipments
    source: str = ""  # where the request came from (client address)


ANONYMOUS = Principal(name="anonymous", kind="anonymous")


class AuthSettings(BaseSettings):
    """How a service checks callers; from the environment (AUTH_*)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    gendan_env: Literal["development", "test", "production"] = "development"
    auth_mode: Literal["oidc", "off"] = Field(default="off", description="off: no checks (a developer's process).")
    auth_issuer: str = Field(default="", description="The OIDC issuer tokens must name (`iss`).")
    auth_audience: str = Field(default="gendan", description="The audience tokens must name (`aud`).")
    auth_jwks_url: str = Field(default="", description="The issuer's JWKS: https://..., or file://... in development.")
    auth_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    auth_leeway_seconds: int = Field(default=30, ge=0, le=300)

    @model_validator(mode="after")
    def check(self) -> "AuthSettings":
        if self.auth_mode == "oidc" and not (self.auth_issuer and self.auth_jwks_url):
            raise ValueError("AUTH_MODE=oidc needs AUTH_ISSUER and AUTH_JWKS_URL")
        if self.gendan_env == "production":
            if self.auth_mode != "oidc":
                raise ValueError("GENDAN_ENV=production refuses AUTH_MODE=off: set AUTH_MODE=oidc")
            if not self.auth_jwks_url.startswith("https://"):
                raise ValueError("GENDAN_ENV=production needs the issuer's JWKS over https")
        return self


class FileKeys:
    """A JWKS kept in a file (the development issuer's), read like PyJWKClient reads one over https."""

    def __init__(self, url: str) -> None:
        self.path = Path(url2pathname(urlparse(url).path))

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK:
        kid = jwt.get_unverified_header(token).get("kid")
        for key in jwt.PyJWKSet.from_json(self.path.read_text()).keys:
            if key.key_id == kid:
                return key
        raise jwt.PyJWKClientError(f"no key {kid!r} in the JWKS")


class TokenChecker:
    """Validates bearer tokens against the issuer's JWKS (fetched once, refetched for an unknown key id)."""

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        url = settings.auth_jwks_url
        self.keys = (
            FileKeys(url)
            if url.startswith("file:")
            else jwt.PyJWKClient(url, cache_keys=True, lifespan=600, timeout=10)
        )

    async def principal(self, token: str, source: str) -> Principal:
        s = self.settings
        try:
            key = await asyncio.to_thread(self.keys.get_signing_key_from_jwt, token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=s.auth_algorithms,
                audience=s.auth_audience,
                issuer=s.auth_issuer,
                leeway=s.auth_leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWKClientConnectionError as error:
            detail = f"the token issuer cannot be reached: {error}"
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail) from None
        except jwt.PyJWTError as error:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"invalid token: {error}", _challenge()) from None
        name = str(claims.get("preferred_username") or claims["sub"])[:200]
        return Principal(name=name, kind="person", roles=roles_of(claims), source=source)


def roles_of(claims: dict[str, Any]) -> frozenset[AccessRole]:
    """The Gendan roles a token carries: `roles`, or Keycloak's `realm_access.roles`; unknown names ignored."""
    found = claims.get("roles") or (claims.get("realm_access") or {}).get("roles") or []
    if isinstance(found, str):
        found = found.split()
    known = {r.value for r in AccessRole}
    return frozenset(AccessRole(r) for r in found if isinstance(r, str) and r in known)


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="gendan"'}


# --- partner API keys -------------------------------------------------------------------------------


def new_key() -> tuple[str, str, str]:
    """A new API key: (key id, the key as shown once, its hash as stored)."""
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    return key_id, key, key_hash(key)


def key_hash(key: str) -> str:
    """SHA-256 of the key: keys are 256 random bits, so a fast hash is enough and no salt is needed."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_id_of(key: str) -> str | None:
    """The key id inside a presented key, or None when it is not shaped like one of ours."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 12:
        return None
    return parts[1]


def key_matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(key_hash(key), stored_hash)


KeyLookup = Callable[[str, str], Coroutine[Any, Any, Principal | None]]
"""(key id, key) -> the partner it belongs to, if valid and not revoked (the service's key table)."""


# --- the guard every route passes -------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """Who may call a route: people with one of `roles` (supervisors always), partners of `partners`."""

    roles: frozenset[AccessRole]
    partners: frozenset[str] = frozenset()


def declared(route: Any) -> Policy | None:
    """The policy a route declares with `allow(...)` (on the route or its router), if any."""
    dependant = getattr(route, "dependant", None)
    for dependency in getattr(dependant, "dependencies", ()):
        policy = getattr(dependency.call, "policy", None)
        if isinstance(policy, Policy):
            return policy
    return None


def required(route: Any, method: str) -> Policy | None:
    """What a call needs: the route's own policy; else any role to read and merchandiser or supervisor to
    change; None: anyone with a role."""
    if (policy := declared(route)) is not None:
        return policy
    return None if method in SAFE_METHODS else Policy(CHANGERS)


@dataclass(eq=False)  # hashed by identity: FastAPI caches dependencies by their callable
class Guard:
    """Authenticates and authorises every request, as the app's one global dependency."""

    settings: AuthSettings
    lookup: KeyLookup | None = None
    checker: TokenChecker | None = field(default=None)
    open_prefixes: tuple[str, ...] = ()  # routes with an authentication of their own (signed webhooks, links)
    sign_in: tuple[str, str] | None = None  # (pages' prefix, sign-in page): a person not signed in is sent there

    def __post_init__(self) -> None:
        if self.settings.auth_mode == "oidc" and self.checker is None:
            self.checker = TokenChecker(self.settings)

    def open(self, path: str) -> bool:
        return path in OPEN_PATHS or path.startswith(self.open_prefixes)

    async def __call__(self, request: Request) -> Principal:
        source = request.client.host if request.client else ""
        if self.settings.auth_mode == "off" or self.open(request.url.path):
            request.state.principal = ANONYMOUS
            return ANONYMOUS
        if key := request.headers.get(API_KEY_HEADER):
            principal = await self._partner(key, source)
        elif "Authorization" not in request.headers and (session := request.cookies.get(SESSION_COOKIE)):
            if request.method not in SAFE_METHODS and not _same_origin(request):
                raise HTTPException(status.HTTP_403_FORBIDDEN, "a change from another site's page is refused")
            principal = await self._person(f"Bearer {session}", source, request)
        else:
            principal = await self._person(request.headers.get("Authorization", ""), source, request)
        request.state.principal = principal
        policy = required(request.scope.get("route"), request.method)
        if principal.kind == "partner":
            if policy is None or principal.partner not in policy.partners:
                raise HTTPException(status.HTTP_403_FORBIDDEN, f"partner {principal.name} may not do this")
        elif not principal.roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "your token carries no Gendan role")
        elif policy is not None and not (AccessRole.SUPERVISOR in principal.roles or principal.roles & policy.roles):
            wanted = ", ".join(sorted(r.value for r in policy.roles)) or "supervisor"
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"{principal.name} may not do this (needs: {wanted})")
        return principal

    async def _person(self, header: str, source: str, request: Request | None = None) -> Principal:
        scheme, _, token = header.partition(" ")
        try:
            if scheme.lower() != "bearer" or not token or self.checker is None:
                raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in: a bearer token is required", _challenge())
            return await self.checker.principal(token.strip(), source)
        except HTTPException as refused:
            if refused.status_code == status.HTTP_401_UNAUTHORIZED and request is not None and self._page(request):
                assert self.sign_in is not None
                back = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="")
                where = {"Location": f"{self.sign_in[1]}?back={back}"}
                raise HTTPException(status.HTTP_303_SEE_OTHER, "sign in", where) from None
            raise

    def _page(self, request: Request) -> bool:
        """A browser asking for a page of the console (not htmx fetching a fragment, not an API client)."""
        return (
            self.sign_in is not None
            and request.method == "GET"
            and request.url.path.startswith(self.sign_in[0])
            and "text/html" in request.headers.get("Accept", "")
            and "HX-Request" not in request.headers
        )

    async def _partner(self, key: str, source: str) -> Principal:
        key_id = key_id_of(key)
        found = await self.lookup(key_id, key) if key_id and self.lookup else None
        if found is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked API key")
        return Principal(
            name=found.name, kind="partner", partner=found.partner, partner_name=found.partner_name, source=source
        )


def _same_origin(request: Request) -> bool:
    """A browser's change request carries its page's origin: it must be this site (CSRF, with SameSite cookies)."""
    origin = request.headers.get("Origin") or request.headers.get("Referer") or ""
    return urlparse(origin).netloc == request.headers.get("Host", "")


def principal_of(request: Request) -> Principal:
    """The caller the guard found (anonymous where auth is off or the app has no guard, as in handler tests)."""
    found = getattr(request.state, "principal", None)
    return found if isinstance(found, Principal) else ANONYMOUS


def allow(*roles: AccessRole, partners: Iterable[str] = ()) -> Callable[[Request], Principal]:
    """A route (or router) dependency declaring who may call it: people holding one of `roles` (supervisors
    hold all) and partner systems of the kinds in `partners`. The guard enforces it; the dependency hands
    the caller to the route. Without one, any role reads and merchandisers and supervisors change."""
    policy = Policy(frozenset(roles), frozenset(partners))

    def caller(request: Request) -> Principal:
        return principal_of(request)

    caller.policy = policy  # type: ignore[attr-defined]
    return caller
