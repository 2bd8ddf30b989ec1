"""Carrier webhooks: each carrier posts its scans, in its own status codes, to its own URL, signed the Standard
Webhooks way (HMAC-SHA256 over `id.timestamp.body`). Unsigned, tampered or stale requests are refused (401), a
scan of another carrier's shipment too (403). A good one is mapped to the normalised status and applied by the
same handler, inbox and parking as `carrier.tracking` (idempotent on the webhook id); it publishes nothing itself."""

import base64
import binascii
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import select
from standardwebhooks import Webhook

from services.logistics import settings
from services.logistics.models import ShipmentLeg
from shared import topics
from shared.consumer.records import Record
from shared.contracts import CarrierTracking, ShipmentLine
from shared.fields import BusinessDate, Count, OptionalText, Ref, Timestamp
from shared.service import RuntimeDep

Carrier = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9-]*$")]


class CarrierScanPosted(BaseModel):
    """A scan as a carrier posts it: its tracking number and its own status code."""

    model_config = ConfigDict(extra="ignore")  # carriers send more than Gendan reads

    tracking_number: Ref
    code: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_:.-]+$")]
    occurred_at: Timestamp
    location: OptionalText = ""
    remark: OptionalText = ""
    received_quantity: Count | None = None
    signed_by: OptionalText = ""
    photo_ref: OptionalText = ""
    estimated_delivery: BusinessDate | None = None
    lines: Annotated[list[ShipmentLine], Field(max_length=500)] = Field(default_factory=list)


class Unauthorized(HTTPException):
    def __init__(self, why: str) -> None:
        super().__init__(401, f"webhook refused: {why}", headers={"WWW-Authenticate": "webhook-signature"})


def verify(
    body: bytes, *, msg_id: str, timestamp: str, signature: str, secrets: Sequence[str], now: datetime, tolerance: int
) -> None:
    """Raise Unauthorized unless one of the secrets signed `id.timestamp.body` at a time within the tolerance."""
    if not (msg_id and timestamp and signature):
        raise Unauthorized("webhook-id, webhook-timestamp and webhook-signature are required")
    try:
        sent = datetime.fromtimestamp(int(timestamp), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise Unauthorized("webhook-timestamp is not a Unix time") from None
    if abs(now - sent) > timedelta(seconds=tolerance):
        raise Unauthorized(f"webhook-timestamp is more than {tolerance} s from now (stale or replayed)")
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise Unauthorized("body is not UTF-8") from None
    given = [s.split(",", 1)[1] for s in signature.split() if s.startswith("v1,")]
    for secret in secrets:
        expected = Webhook(secret).sign(msg_id, sent, text).split(",", 1)[1]
        for candidate in given:
            try:
                if hmac.compare_digest(base64.b64decode(expected), base64.b64decode(candidate, validate=True)):
                    return
            except binascii.Error:
                continue
    raise Unauthorized("no valid signature (tampered, or signed with a secret not configured)")


router = APIRouter(prefix="/carriers", tags=["carrier webhooks"])


@router.post("/{carrier}/webhook", status_code=202)
async def carrier_webhook(carrier: Carrier, request: Request, runtime: RuntimeDep) -> dict[str, str]:
    """A signed scan from a carrier, in its own status codes: applied like a `carrier.tracking` message
    (`applied`), or kept until its shipment is known (`parked`)."""
    conf = settings.settings()
    secrets = conf.webhook_secrets.get(carrier)
    if not secrets:
        raise HTTPException(404, f"no webhook for carrier {carrier}")
    body = await request.body()
    headers = request.headers
    msg_id = headers.get("webhook-id", "")
    verify(
        body,
        msg_id=msg_id,
        timestamp=headers.get("webhook-timestamp", ""),
        signature=headers.get("webhook-signature", ""),
        secrets=secrets,
        now=runtime.clock.now(),
        tolerance=conf.webhook_tolerance_seconds,
    )
    if len(msg_id) > 100:
        raise HTTPException(422, "webhook-id longer than 100 characters")
    try:
        posted = CarrierScanPosted.model_validate_json(body)
    except ValidationError as error:
        raise HTTPException(422, f"not a scan: {error.errors()[0]['loc']}: {error.errors()[0]['msg']}") from None
    normal = settings.code_map(carrier).normalise(posted.code)
    if normal is None:
        raise HTTPException(422, f"{carrier} status code {posted.code!r} is not mapped")
    message = CarrierTracking(
        message_id=msg_id,
        occurred_at=posted.occurred_at,
        carrier=carrier,
        tracking_number=posted.tracking_number,
        status=normal.status,
        exception_code=normal.reason,
        carrier_code=posted.code,
        location=posted.location,
        remark=posted.remark or normal.meaning[:500],
        received_quantity=posted.received_quantity,
        signed_by=posted.signed_by,
        photo_ref=posted.photo_ref,
        estimated_delivery=posted.estimated_delivery,
        lines=posted.lines,
    )
    async with runtime.sessions() as session:
        query = select(ShipmentLeg.carrier).where(ShipmentLeg.tracking_number == posted.tracking_number)
        owner = (await session.exec(query)).first()
    if owner is not None and owner != carrier:
        raise HTTPException(403, f"{posted.tracking_number} is not a shipment of {carrier}")
    consumer = runtime.consumer
    record = Record(topics.CARRIER_TRACKING, -1, 0, posted.tracking_number, {"via": f"webhook:{carrier}"})
    await consumer.deliver(consumer.subscriptions[topics.CARRIER_TRACKING], message.model_dump_json().encode(), record)
    return {"status": "applied" if owner else "parked", "message_id": msg_id}
