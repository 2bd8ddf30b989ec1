"""Access every service shares: partners' API keys (issued, rotated, revoked) and the audit trail of every
change a person or partner made over HTTP.

A service issues keys to the partner systems that call it (`POST /partner-keys`, supervisors only): the
key is shown once and stored as its SHA-256 hash; a partner may hold two live keys while it rotates,
and a revoked key is refused at once. Every request that changes something (POST, PUT, PATCH, DELETE)
is written to the audit trail after it is answered: who (person or partner), what (method, path,
status), when, and from where; `GET /audit` reads it (supervisors).
"""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from pydantic import BaseModel
from sqlalchemy import BigInteger, Column, Identity, Text
from sqlmodel import Field, SQLModel, col, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import auth
from shared.db import SessionFactory, timestamp
from shared.fields import Name

MAX_LIVE_KEYS = 2  # the old and the new one, while a partner rotates


class PartnerKey(SQLModel, table=True):
    """An API key issued to a partner system (only its hash is kept)."""

    __tablename__ = "partner_keys"

    id: str = Field(primary_key=True, description="The key id, the public part of the key.")
    partner: str = Field(index=True, description="The partner kind: erp, mes, supplier, wms, carrier, finance.")
    name: str = Field(index=True, description="Which one, e.g. the carrier's code.")
    key_hash: str
    created_at: datetime = timestamp()
    created_by: str
    revoked_at: datetime | None = timestamp(nullable=True)
    revoked_by: str | None = None
    last_used_at: datetime | None = timestamp(nullable=True)


class AuditEntry(SQLModel, table=True):
    """One change a person or partner made over HTTP."""

    __tablename__ = "audit"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    at: datetime = timestamp()
    actor: str = Field(index=True)
    actor_kind: str
    method: str
    path: str = Field(sa_column=Column(Text, nullable=False))
    status: int
    source: str = ""


# --- keys ---------------------------------------------------------------------------------------------


def key_lookup(sessions: SessionFactory, clock_now: Callable[[], datetime]) -> auth.KeyLookup:
    """The guard's lookup of a presented key in this service's table."""

    async def lookup(key_id: str, key: str) -> auth.Principal | None:
        async with sessions() as session:
            found = await session.get(PartnerKey, key_id)
            if found is None or found.revoked_at is not None or not auth.key_matches(key, found.key_hash):
                return None
            found.last_used_at = clock_now()
            await session.commit()
        return auth.Principal(
            name=f"{found.partner}:{found.name}", kind="partner", partner=found.partner, partner_name=found.name
        )

    return lookup


class KeyRequest(BaseModel):
    partner: auth.PartnerKind
    name: Name = Field(description="Which partner of that kind, e.g. sf-express.")


class KeyPublic(BaseModel):
    id: str
    partner: str
    name: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None


class KeyIssued(KeyPublic):
    key: str = Field(description="The key, shown only this once: send it as X-API-Key.")


SUPERVISOR = Depends(auth.allow())
router = APIRouter(tags=["access"])


@router.post("/partner-keys", status_code=status.HTTP_201_CREATED, response_model=KeyIssued)
async def issue_key(body: KeyRequest, request: Request, who: auth.Principal = SUPERVISOR) -> KeyIssued:
    """Issue a key to a partner system; a second live key lets it rotate, a third is refused."""
    runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        live = select(PartnerKey).where(
            PartnerKey.partner == body.partner, PartnerKey.name == body.name, col(PartnerKey.revoked_at).is_(None)
        )
        if len((await session.exec(live)).all()) >= MAX_LIVE_KEYS:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"{body.partner}:{body.name} already has {MAX_LIVE_KEYS} live keys: revoke the old one first",
            )
        key_id, key, digest = auth.new_key()
        row = PartnerKey(
            id=key_id,
            partner=body.partner,
            name=body.name,
            key_hash=digest,
            created_at=runtime.clock.now(),
            created_by=who.name,
        )
        session.add(row)
        await session.commit()
    return KeyIssued(**row.model_dump(exclude={"key_hash"}), key=key)


@router.get("/partner-keys", response_model=list[KeyPublic], dependencies=[SUPERVISOR])
async def list_keys(request: Request) -> list[PartnerKey]:
    async with request.app.state.runtime.sessions() as session:
        return list((await session.exec(select(PartnerKey).order_by(col(PartnerKey.created_at)))).all())


@router.delete("/partner-keys/{key_id}", response_model=KeyPublic)
async def revoke_key(
    key_id: Annotated[str, Path(max_length=32)], request: Request, who: auth.Principal = SUPERVISOR
) -> PartnerKey:
    """Revoke a key: refused from the next request on."""
    runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        found = await session.get(PartnerKey, key_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no key {key_id}")
        if found.revoked_at is None:
            found.revoked_at, found.revoked_by = runtime.clock.now(), who.name
            await session.commit()
        return found


# --- the audit trail ----------------------------------------------------------------------------------


@router.get("/audit", response_model=list[AuditEntry], dependencies=[SUPERVISOR])
async def audit_trail(
    request: Request,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[datetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditEntry]:
    """The newest changes first: who did what, when and from where."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if since:
        query = query.where(col(AuditEntry.at) >= since)
    async with request.app.state.runtime.sessions() as session:
        return list((await session.exec(query)).all())


class Audit:
    """ASGI middleware: writes one audit entry per answered change (the guard left the caller in the state)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in auth.SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        answered: dict[str, int] = {}

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
            await send(message)

        await self.app(scope, receive, watched)
        principal = scope.get("state", {}).get("principal")
        if not isinstance(principal, auth.Principal) or principal.kind == "anonymous":
            return  # auth off, or refused before anyone was known (the 401 itself changes nothing)
        runtime = scope["app"].state.runtime
        client = scope.get("client")
        entry = AuditEntry(
            at=runtime.clock.now(),
            actor=principal.name,
            actor_kind=principal.kind,
            method=scope["method"],
            path=scope["path"][:2000],
            status=answered.get("status", 0),
            source=client[0] if client else "",
        )
        async with runtime.sessions() as session:
            session.add(entry)
            await session.commit()
