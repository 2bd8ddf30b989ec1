"""Carrier webhook signatures (Standard Webhooks): good, tampered, stale, unsigned, rotated secrets; on the
injected time, no sleeping."""

from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from services.logistics.webhooks import Unauthorized, verify

pytestmark = pytest.mark.unit
OLD, NEW = "whsec_b2xkLXNlY3JldC1vZi10aGUtY2Fycmllci0x", "whsec_bmV3LXNlY3JldC1vZi10aGUtY2Fycmllci0y"
NOW = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
BODY = b'{"tracking_number": "GD1", "code": "PU", "occurred_at": "2027-01-04T07:59:00Z"}'


def signed(secret: str, at: datetime = NOW, body: bytes = BODY, msg_id: str = "msg_1") -> dict[str, str]:
    return {
        "msg_id": msg_id,
        "timestamp": str(int(at.timestamp())),
        "signature": Webhook(secret).sign(msg_id, at, body.decode()),
    }


def check(body: bytes = BODY, secrets: tuple[str, ...] = (OLD,), **headers: str) -> None:
    verify(body, secrets=secrets, now=NOW, tolerance=300, **headers)  # type: ignore[arg-type]


def test_a_request_signed_with_the_carriers_secret_passes() -> None:
    check(**signed(OLD))


def test_during_a_rotation_either_secret_passes_and_a_header_may_carry_both_signatures() -> None:
    check(secrets=(OLD, NEW), **signed(NEW))
    check(secrets=(OLD, NEW), **signed(OLD))
    both = signed(NEW)
    both["signature"] = f"v1,bm9wZQ== {both['signature']}"
    check(secrets=(NEW,), **both)


@pytest.mark.parametrize(
    ("headers", "body", "why"),
    [
        (signed(OLD), BODY.replace(b"PU", b"OK"), "no valid signature"),  # tampered body
        (signed(OLD, msg_id="msg_1") | {"msg_id": "msg_2"}, BODY, "no valid signature"),  # id swapped
        (signed(NEW), BODY, "no valid signature"),  # a secret this carrier does not have
        (signed(OLD, NOW - timedelta(minutes=6)), BODY, "stale"),
        (signed(OLD, NOW + timedelta(minutes=6)), BODY, "stale"),
        ({"msg_id": "msg_1", "timestamp": str(int(NOW.timestamp())), "signature": ""}, BODY, "required"),
        ({"msg_id": "msg_1", "timestamp": "yesterday", "signature": "v1,x"}, BODY, "Unix time"),
        (signed(OLD) | {"signature": "v1,!!!not-base64"}, BODY, "no valid signature"),
    ],
)
def test_tampered_stale_or_unsigned_requests_are_refused(headers: dict[str, str], body: bytes, why: str) -> None:
    with pytest.raises(Unauthorized, match=why) as refused:
        check(body, **headers)
    assert refused.value.status_code == 401
