"""Outbound webhooks: teams' chat or ticketing systems receive the exceptions they subscribed to, customers'
systems the milestones of their orders (services/order/milestones.py).

A board change or milestone stages one delivery per matching subscription in its own transaction; a dispatcher
sends them signed the Standard Webhooks way (HMAC-SHA256 over `id.timestamp.body`), retries with
backoff and keeps a log. Receivers dedupe by the `webhook-id` header: a send whose outcome was lost
(a crash mid-request) is sent again after its lease.
"""

import asyncio
import base64
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Protocol
from uuid import NAMESPACE_URL, uuid5

import httpx
from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import AfterValidator, BaseModel, Field, HttpUrl
from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar
from standardwebhooks import Webhook

from services.order.models import (
    BoardEntry,
    BoardEntryPublic,
    Order,
    WebhookCreated,
    WebhookDelivery,
    WebhookDeliveryPublic,
    WebhookPublic,
    WebhookSubscription,
)
from shared.backoff import Backoff
from shared.clock import Clock
from shared.contracts import Envelope, KindName
from shared.fields import Name, scrub
from shared.http import Actor
from shared.ids import new_id
from shared.kinds import KINDS, Severity
from shared.service import Runtime, RuntimeDep
from shared.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("gendan.webhooks")

MAX_SUBSCRIPTIONS = 100  # active ones; each board change is one row per subscription that wants it
MAX_CUSTOMER_SUBSCRIPTIONS = 1000  # active customers' ones; a milestone goes only to its customer's
MAX_ATTEMPTS = 8
BACKOFF = Backoff(base=60, cap=3600)  # 1, 2, 4 ... 32 min, then hourly: about 2 h before giving up
LEASE = timedelta(seconds=60)  # a claimed delivery is not claimed again before this (the send takes at most 10 s)
REQUEST_SECONDS = 5.0  # connect, each read, each write
ATTEMPT_SECONDS = 10.0  # the whole attempt, however slowly the receiver answers
BATCH = 50
POLL_SECONDS = 1.0
ERROR_CHARS = 500


class Change(StrEnum):
    """What happened to an exception on the board."""

    RAISED = "raised"
    UPDATED = "updated"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    COMMENT = "comment"
    SNOOZE = "snooze"


DEFAULT_CHANGES = [Change.RAISED, Change.ESCALATED, Change.RESOLVED]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class NoSuchWebhook(LookupError):
    """No subscription, or no delivery of it, with that id."""


class Refused(ValueError):
    """The request is understood but cannot be done now (409)."""


class WebhookMessage(BaseModel):
    """The body a receiver gets (Standard Webhooks payload structure)."""

    type: str = Field(description="`exception.<change>`, e.g. exception.raised.")
    timestamp: datetime = Field(description="When the change happened.")
    data: BoardEntryPublic


def _registered(kinds: list[str]) -> list[str]:
    if unknown := [k for k in kinds if k not in KINDS]:
        raise ValueError(f"unknown exception kinds: {', '.join(unknown)}")
    return list(dict.fromkeys(kinds))


def _distinct(changes: list[Change]) -> list[Change]:
    return list(dict.fromkeys(changes))


class WebhookCreate(BaseModel):
    """A new subscription: where to send, and which exceptions."""

    name: Name = Field(description="What it is, e.g. 'logistics team chat'.")
    url: HttpUrl = Field(description="Where to POST; http or https.")
    kinds: Annotated[list[KindName], Field(max_length=len(KINDS)), AfterValidator(_registered)] = Field(
        default_factory=list, description="Exception kinds to receive (shared/kinds.py); empty: every kind."
    )
    min_severity: Severity = Field(default=Severity.LOW, description="Receive this severity and worse.")
    changes: Annotated[list[Change], Field(min_length=1, max_length=len(Change)), AfterValidator(_distinct)] = Field(
        default_factory=lambda: list(DEFAULT_CHANGES), description="Board changes to receive."
    )


def new_secret() -> str:
    """A signing secret as Standard Webhooks defines it: `whsec_` and base64 of random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def message_id(entry: BoardEntry, change: str, at: datetime) -> str:
    """The `webhook-id` of a change: the same for every subscription and every attempt."""
    return f"msg_{uuid5(NAMESPACE_URL, f'gendan:webhook:{entry.id}:{change}:{at.isoformat()}').hex}"


def wants(subscription: WebhookSubscription, entry: BoardEntry, change: str) -> bool:
    """Whether a subscription asked for this change of this exception."""
    return (
        change in subscription.changes
        and (not subscription.kinds or entry.kind in subscription.kinds)
        and Severity(entry.severity).rank >= Severity(subscription.min_severity).rank
    )


async def enqueue(uow: UnitOfWork, entry: BoardEntry, change: str) -> None:
    """Queue a delivery of this board change to every subscription that wants it (same transaction)."""
    teams = select(WebhookSubscription).where(
        col(WebhookSubscription.active), col(WebhookSubscription.customer).is_(None)
    )
    targets = [s for s in (await uow.session.exec(teams)).all() if wants(s, entry, change)]
    if not targets:
        return
    now = uow.clock.now()
    data = BoardEntryPublic.model_validate(entry, from_attributes=True)
    body = WebhookMessage(type=f"exception.{change}", timestamp=now, data=data)
    # the same change staged twice (same entry, change and instant) is one message
    await stage(uow, targets, body, message_id=message_id(entry, change, now), subject=("exception", entry.id))


class Message(Protocol):
    """A webhook body: a Standard Webhooks payload with its `type`."""

    type: str

    def model_dump_json(self) -> str: ...


async def stage(
    uow: UnitOfWork,
    targets: Sequence[WebhookSubscription],
    body: Message,
    *,
    message_id: str,
    subject: tuple[str, str],
) -> None:
    """Stage one delivery of `body` (with a `type`) per subscription; a message already staged for one is not again."""
    if not targets:
        return
    now = uow.clock.now()
    common = {
        "message_id": message_id,
        "event_type": body.type,
        "subject_type": subject[0],
        "subject_id": subject[1],
        "payload": body.model_dump_json(),
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    rows = [{"subscription_id": s.id, **common} for s in targets]
    await uow.session.exec(insert(WebhookDelivery).on_conflict_do_nothing(), params=rows)


async def stage_milestone(uow: UnitOfWork, order: Order, envelope: Envelope) -> None:
    """Stage the customer notices of the milestone an order event is (see services/order/milestones.py)."""
    from services.order import milestones  # it builds on this module

    await milestones.stage_milestone(uow, order, envelope)


# --- the dispatcher ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """A claimed delivery: what to send where, and which attempt this is."""

    id: int
    url: str
    secret: str
    message_id: str
    payload: str
    number: int


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: the receiver's status, or why there was none."""

    attempt: Attempt
    status: int | None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def deliver_webhooks(runtime: Runtime) -> None:
    """Background task: send due deliveries about every second until cancelled."""
    async with httpx.AsyncClient(timeout=REQUEST_SECONDS, follow_redirects=False) as client:
        while True:
            try:
                sent = await deliver_due(runtime.units, client, runtime.clock)
            except Exception:
                log.exception("webhook round failed; will retry")
                sent = 0
            if sent < BATCH:
                await asyncio.sleep(POLL_SECONDS)


async def deliver_due(units: UnitOfWorkFactory, client: httpx.AsyncClient, clock: Clock, *, limit: int = BATCH) -> int:
    """One round: claim the due deliveries, send each once, record the outcomes; returns how many were sent."""
    attempts = await _claim(units, clock, limit)
    if not attempts:
        return 0
    outcomes = await asyncio.gather(*(_send(client, a, clock) for a in attempts))
    await _record(units, clock, outcomes)
    return len(attempts)


async def _claim(units: UnitOfWorkFactory, clock: Clock, limit: int) -> list[Attempt]:
    """Take due deliveries for one lease; rows another dispatcher holds are skipped, so none is sent twice."""
    now = clock.now()
    query = (
        select(WebhookDelivery, WebhookSubscription)
        .join(WebhookSubscription, col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id))
        .where(WebhookDelivery.status == DeliveryStatus.PENDING, col(WebhookDelivery.next_attempt_at) <= now)
        .where(col(WebhookSubscription.active))
        .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
        .limit(limit)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    )
    async with units() as uow:
        rows = (await uow.session.exec(query)).all()
        for delivery, _ in rows:
            delivery.attempts += 1
            delivery.next_attempt_at, delivery.last_attempt_at = now + LEASE, now
        return [
            Attempt(d.id or 0, s.url, s.secret, d.message_id, d.payload, d.attempts)
            for d, s in rows  # read before commit: attributes stay loaded (expire_on_commit=False)
        ]


def signed_headers(attempt: Attempt, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt, signed at `at`."""
    at = at.astimezone(UTC)
    return {
        "content-type": "application/json",
        "user-agent": "Gendan-Webhooks/1",
        "webhook-id": attempt.message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(attempt.secret).sign(attempt.message_id, at, attempt.payload),
    }


async def _send(client: httpx.AsyncClient, attempt: Attempt, clock: Clock) -> Outcome:
    """POST one delivery; any answer or failure is an outcome, never an exception."""
    headers = signed_headers(attempt, clock.now())
    try:
        async with asyncio.timeout(ATTEMPT_SECONDS):
            async with client.stream("POST", attempt.url, content=attempt.payload.encode(), headers=headers) as answer:
                if answer.is_success:
                    return Outcome(attempt, answer.status_code)
                return Outcome(attempt, answer.status_code, await _excerpt(answer))
    except Exception as error:  # network, TLS, timeout, a URL httpx refuses: all worth a retry
        return Outcome(attempt, None, scrub(f"{type(error).__name__}: {error}", ERROR_CHARS))


async def _excerpt(answer: httpx.Response) -> str:
    """The start of a refusal's body, for the log (a receiver often says why)."""
    body = b""
    async for chunk in answer.aiter_bytes():
        body += chunk
        if len(body) >= ERROR_CHARS:
            break
    text = body[:ERROR_CHARS].decode(errors="replace").strip()
    return scrub(f"HTTP {answer.status_code}" + (f": {text}" if text else ""), ERROR_CHARS)


async def _record(units: UnitOfWorkFactory, clock: Clock, outcomes: Sequence[Outcome]) -> None:
    """Write each attempt's outcome into the log: delivered, due again after a backoff, or failed."""
    now = clock.now()
    async with units() as uow:
        for outcome in outcomes:
            delivery = await uow.session.get(WebhookDelivery, outcome.attempt.id, with_for_update=True)
            if delivery is not None:
                settle(delivery, outcome, now)
                _log(delivery, outcome)


def settle(delivery: WebhookDelivery, outcome: Outcome, now: datetime) -> None:
    """The delivery after an attempt: delivered on 2xx, else retried with backoff until MAX_ATTEMPTS."""
    delivery.last_status, delivery.last_error = outcome.status, outcome.error
    if outcome.delivered:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.DELIVERED, now, None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    else:
        delivery.next_attempt_at = now + timedelta(seconds=BACKOFF.delay(delivery.attempts - 1))


def _log(delivery: WebhookDelivery, outcome: Outcome) -> None:
    fields = {
        "delivery": delivery.id,
        "subscription": delivery.subscription_id,
        "message_id": delivery.message_id,
        "attempt": delivery.attempts,
        "status": outcome.status,
        "error": outcome.error,
        "outcome": delivery.status,
    }
    level = logging.INFO if outcome.delivered else logging.WARNING
    log.log(level, "webhook attempt: %s", delivery.status, extra={"fields": fields})


# --- what people do with subscriptions -----------------------------------------------------


async def subscribe(uow: UnitOfWork, request: WebhookCreate, *, by: str) -> WebhookSubscription:
    """Create a team's subscription to board changes, with a fresh secret."""
    return await add_subscription(
        uow,
        name=request.name,
        url=str(request.url),
        by=by,
        kinds=request.kinds,
        min_severity=request.min_severity,
        changes=[str(c) for c in request.changes],
    )


async def add_subscription(
    uow: UnitOfWork, *, name: str, url: str, by: str, customer: str | None = None, **choice: Any
) -> WebhookSubscription:
    """Create a subscription with a fresh secret: a team's (board changes) or a customer's (milestones)."""
    customers = col(WebhookSubscription.customer)
    whose = customers.is_(None) if customer is None else customers.is_not(None)
    count = select(func.count()).select_from(WebhookSubscription).where(col(WebhookSubscription.active), whose)
    limit = MAX_SUBSCRIPTIONS if customer is None else MAX_CUSTOMER_SUBSCRIPTIONS
    if (await uow.session.exec(count)).one() >= limit:
        raise Refused(f"at most {limit} active webhooks; deactivate one first")
    defaults: dict[str, Any] = {"kinds": [], "min_severity": Severity.LOW, "changes": [], "milestones": []}
    subscription = WebhookSubscription(
        id=new_id("WH"),
        name=name,
        url=url,
        secret=new_secret(),
        customer=customer,
        created_at=uow.clock.now(),
        created_by=by,
        **(defaults | choice),
    )
    uow.session.add(subscription)
    return subscription


async def unsubscribe(uow: UnitOfWork, subscription_id: str, *, by: str) -> WebhookSubscription:
    """Deactivate a subscription; what it still had to send is marked failed."""
    subscription = await uow.get(WebhookSubscription, subscription_id, lock=True)
    if subscription is None:
        raise NoSuchWebhook(f"no webhook {subscription_id}")
    if subscription.active:
        subscription.active, subscription.deactivated_at, subscription.deactivated_by = False, uow.clock.now(), by
        pending = col(WebhookDelivery.status) == DeliveryStatus.PENDING
        mine = col(WebhookDelivery.subscription_id) == subscription_id
        stop = {"status": DeliveryStatus.FAILED, "next_attempt_at": None, "last_error": "webhook deactivated"}
        await uow.session.exec(update(WebhookDelivery).where(mine, pending).values(**stop))
    return subscription


async def retry(uow: UnitOfWork, subscription_id: str, delivery_id: int) -> WebhookDelivery:
    """Put a failed delivery back in line, with a full set of attempts."""
    subscription = await uow.get(WebhookSubscription, subscription_id)
    delivery = await uow.session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if subscription is None or delivery is None or delivery.subscription_id != subscription_id:
        raise NoSuchWebhook(f"no delivery {delivery_id} of webhook {subscription_id}")
    if not subscription.active:
        raise Refused(f"webhook {subscription_id} is deactivated")
    if delivery.status != DeliveryStatus.FAILED:
        raise Refused(f"delivery {delivery_id} is {delivery.status}; only a failed one can be retried")
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, uow.clock.now()
    return delivery


# --- HTTP --------------------------------------------------------------------------------------

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
SubscriptionId = Annotated[str, Path(max_length=64)]
DeliveryId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated)
async def create_webhook(request: WebhookCreate, actor: Actor, runtime: RuntimeDep) -> WebhookCreated:
    """Subscribe a URL to exceptions of the kinds, severities and changes chosen; the secret is shown only now."""
    try:
        async with runtime.units() as uow:
            subscription = await subscribe(uow, request, by=actor)
    except Refused as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    return WebhookCreated.model_validate(subscription, from_attributes=True)


@router.get("", response_model=list[WebhookPublic])
async def list_webhooks(
    runtime: RuntimeDep,
    active: Annotated[bool | None, Query(description="Only active (true) or deactivated (false) ones.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[WebhookSubscription]:
    """The subscriptions, newest first (without their secrets)."""
    async with runtime.sessions() as session:
        return list((await session.exec(listed(customers=False, active=active, limit=limit))).all())


def listed(*, customers: bool, active: bool | None, limit: int) -> SelectOfScalar[WebhookSubscription]:
    """Teams' (board changes) or customers' (milestones) subscriptions, newest first."""
    whose = col(WebhookSubscription.customer)
    query = (
        select(WebhookSubscription)
        .where(whose.is_not(None) if customers else whose.is_(None))
        .order_by(col(WebhookSubscription.created_at).desc())
        .limit(limit)
    )
    return query if active is None else query.where(WebhookSubscription.active == active)


@router.delete("/{subscription_id}", response_model=WebhookPublic)
async def delete_webhook(subscription_id: SubscriptionId, actor: Actor, runtime: RuntimeDep) -> WebhookSubscription:
    """Deactivate a subscription: nothing more is sent to it; its log is kept."""
    try:
        async with runtime.units() as uow:
            return await unsubscribe(uow, subscription_id, by=actor)
    except NoSuchWebhook as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error


@router.get("/{subscription_id}/deliveries", response_model=list[WebhookDeliveryPublic])
async def list_deliveries(
    subscription_id: SubscriptionId,
    runtime: RuntimeDep,
    status_is: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[WebhookDelivery]:
    """A subscription's delivery log, newest first."""
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(col(WebhookDelivery.id).desc())
        .limit(limit)
    )
    if status_is is not None:
        query = query.where(WebhookDelivery.status == status_is)
    async with runtime.sessions() as session:
        if await session.get(WebhookSubscription, subscription_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no webhook {subscription_id}")
        return list((await session.exec(query)).all())


@router.post("/{subscription_id}/deliveries/{delivery_id}/retry", response_model=WebhookDeliveryPublic)
async def retry_delivery(
    subscription_id: SubscriptionId, delivery_id: DeliveryId, actor: Actor, runtime: RuntimeDep
) -> WebhookDelivery:
    """Send a failed delivery again (after the receiver is fixed), with a full set of attempts."""
    try:
        async with runtime.units() as uow:
            delivery = await retry(uow, subscription_id, delivery_id)
    except NoSuchWebhook as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    except Refused as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    log.info("webhook delivery retried", extra={"fields": {"delivery": delivery_id, "by": actor}})
    return delivery
