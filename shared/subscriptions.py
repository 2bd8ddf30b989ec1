"""Subscriptions: what a service consumes, how each message is parsed and which handler applies it."""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.contracts import EVENT_TYPES, Envelope, PartnerMessage
from shared.unit_of_work import UnitOfWork

EventHandler = Callable[[Envelope, UnitOfWork], Awaitable[None]]
PartnerHandler = Callable[[Any, UnitOfWork], Awaitable[None]]


@dataclass(frozen=True)
class Parsed:
    message_id: str
    message: Any
    handler: Callable[[Any, UnitOfWork], Awaitable[None]] | None
    correlation: str | None = None


@dataclass(frozen=True)
class Subscription:
    """One consumed topic: how to parse its messages and which handler applies each."""

    topic: str
    parse: Callable[[bytes], Parsed]
    description: str = ""


def on_events(topic: str, handlers: Mapping[str, EventHandler]) -> Subscription:
    """Consume lifecycle events; types without a handler here are someone else's and skipped."""
    unknown = set(handlers) - set(EVENT_TYPES)
    assert not unknown, f"no contract for {unknown}"

    def parse(body: bytes) -> Parsed:
        event = Envelope.model_validate_json(body)
        handler = handlers.get(event.type)
        if handler is not None:
            event.payload(EVENT_TYPES[event.type])  # validates the payload before anything runs
        return Parsed(str(event.id), event, handler, event.correlation_id)

    return Subscription(topic, parse, f"handles {', '.join(sorted(handlers))}")


def on_partner(topic: str, model: type[PartnerMessage], handler: PartnerHandler) -> Subscription:
    """Consume a partner topic: every message must match the partner contract."""

    def parse(body: bytes) -> Parsed:
        message = model.model_validate_json(body)
        return Parsed(message.message_id, message, handler)

    return Subscription(topic, parse, model.__doc__ or "")
