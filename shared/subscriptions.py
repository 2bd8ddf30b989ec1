"""Subscriptions: what a service consumes, how each message is parsed and which handler applies it."""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from shared.contracts import Envelope, Event, EventData, PartnerMessage
from shared.unit_of_work import UnitOfWork

EventHandler = Callable[[Event[Any], UnitOfWork], Awaitable[None]]
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
    contracts: tuple[type[BaseModel], ...] = ()  # what it applies: event payloads, or the partner contract


def on_events(topic: str, handlers: Mapping[type[EventData], EventHandler]) -> Subscription:
    """Consume lifecycle events, each handler keyed by its contract; other types are someone else's and skipped.

    A contract is a type and a version: while producers move to a new version of an event, register
    both classes and each envelope is read by the class of its own `version`. A version of a handled
    type that no class here reads is refused (dead-lettered), never read as another version.
    The payload is validated once, here, and the handler receives it typed as `Event[Contract]`."""
    by_version = {(model.event_type, model.version): (model, handler) for model, handler in handlers.items()}
    handled = {event_type for event_type, _ in by_version}

    def parse(body: bytes) -> Parsed:
        envelope = Envelope.model_validate_json(body)
        if envelope.type not in handled:
            return Parsed(str(envelope.id), envelope, None, envelope.correlation_id)
        if (known := by_version.get((envelope.type, envelope.version))) is None:
            raise ValueError(f"{envelope.type} version {envelope.version}: no contract for it here yet")
        model, handler = known
        return Parsed(str(envelope.id), Event.of(envelope, model), handler, envelope.correlation_id)

    return Subscription(topic, parse, f"handles {', '.join(sorted(handled))}", tuple(handlers))


def on_partner(topic: str, model: type[PartnerMessage], handler: PartnerHandler) -> Subscription:
    """Consume a partner topic: every message must match the partner contract."""

    def parse(body: bytes) -> Parsed:
        message = model.model_validate_json(body)
        return Parsed(message.message_id, message, handler)

    return Subscription(topic, parse, model.__doc__ or "", (model,))
