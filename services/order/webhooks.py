"""Outbound webhooks: teams' chat or ticketing systems receive the exceptions they subscribed to."""

from services.order.models import BoardEntry
from shared.unit_of_work import UnitOfWork


async def enqueue(uow: UnitOfWork, entry: BoardEntry, change: str) -> None:
    """Queue a delivery of this board change to every subscription that wants it (same transaction)."""
