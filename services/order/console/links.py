"""Customer tracking links: an order id and an expiry, signed (HMAC-SHA256 via itsdangerous), so a link can be
read by anyone who has it, changed by no one, and stops working when it expires."""

from datetime import UTC, datetime

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "gendan.order.tracking-link"


class LinkRefused(ValueError):
    """The link was altered, is not ours, or has expired."""


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def sign(order_id: str, expires_at: datetime, *, secret: str) -> str:
    """The token of a tracking link for one order, valid until `expires_at`."""
    return _serializer(secret).dumps({"o": order_id, "e": int(expires_at.timestamp())})


def verify(token: str, *, secret: str, now: datetime) -> tuple[str, datetime]:
    """The order id and expiry of a valid token; LinkRefused when tampered with or expired."""
    try:
        found = _serializer(secret).loads(token)
        order_id, expires = found["o"], datetime.fromtimestamp(found["e"], UTC)
    except (BadSignature, KeyError, TypeError, ValueError, OverflowError) as error:
        raise LinkRefused("this link is not valid") from error
    if not isinstance(order_id, str) or now >= expires:
        raise LinkRefused("this link has expired")
    return order_id, expires
