"""Minting ids: a short type prefix and random hex, readable in logs and on a phone call."""

from uuid import uuid4


def new_id(prefix: str, length: int = 16) -> str:
    """A new id such as `WO3F2A9C...`: the prefix, then `length` upper-case hex digits."""
    return f"{prefix}{uuid4().hex[:length].upper()}"
