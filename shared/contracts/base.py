"""The envelope of every lifecycle event, the payload base, partner messages and the per-service event shapes.

Contracts change only by adding fields. Field descriptions flow into the AsyncAPI documents.
"""

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from shared.clock import Clock
from shared.fields import (
    MessageId,
    Ref,
    Timestamp,
)

MAX_ORDER_JSON_BYTES = 256 * 1024  # an order.accepted event stays far below Kafka's 1 MiB
MAX_ORDER_PIECES = 2_000_000_000
LineNo = Annotated[int, Field(ge=1, le=10_000)]


class Contract(BaseModel):
    """Base of every payload: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


T = TypeVar("T", bound="EventData")
E = TypeVar("E", bound="EventData")
D = TypeVar("D", bound="EventData", covariant=True)


# --- the envelope -----------------------------------------------------------------------


class Envelope(Contract):
    """The envelope of every lifecycle event; `order_id` is also the Kafka key."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: UUID = Field(description="Unique event id; consumers deduplicate on it.")
    type: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=64, description="Event type, e.g. order.accepted.")
    version: int = Field(default=1, ge=1)
    source: Ref = Field(description="Service that raised the event.")
    order_id: Ref = Field(description="Order the event belongs to.")
    occurred_at: Timestamp
    correlation_id: MessageId = Field(description="Id shared by every event of one business flow.")
    causation_id: MessageId | None = Field(default=None, description="Id of the event that caused this.")
    data: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def new(
        cls,
        payload: "EventData",
        *,
        source: str,
        order_id: str,
        clock: Clock,
        cause: "Envelope | None" = None,
        correlation_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> Self:
        """Wrap a payload; an event caused by another inherits its correlation id.

        `occurred_at` is when the fact happened, if not now (a partner's report of its own time)."""
        event_id = uuid4()
        correlation_id = cause.correlation_id if cause else correlation_id
        return cls(
            id=event_id,
            type=payload.event_type,
            version=payload.version,
            source=source,
            order_id=order_id,
            occurred_at=occurred_at or clock.now(),
            correlation_id=correlation_id or str(event_id),
            causation_id=str(cause.id) if cause else None,
            data=payload.model_dump(mode="json"),
        )

    def payload(self, model: builtins.type[T]) -> T:
        """The typed payload of this event, read tolerantly (see EventData)."""
        return model.model_validate(self.data, extra="ignore")


class EventData(Contract):
    """Payload of one event type; `event_type` names it.

    Tolerant reader: fields a newer producer added are ignored, at every depth (`Envelope.payload`
    reads with extra="ignore", also for parts shared with intake such as order lines, which refuse
    unknown fields when a person or partner sends them), so contracts can grow by adding fields
    while older consumers still run."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str] = ""  # the envelope's `type`, e.g. "order.accepted": named here and nowhere else
    version: ClassVar[int] = 1  # the envelope's `version`; a breaking change is a new class with the next one


def per_service(base: builtins.type[E], action: str, services: tuple[str, ...]) -> dict[str, builtins.type[E]]:
    """One event class per service for a shape every service publishes, e.g. `production.exception_raised`."""
    return {
        service: builtins.type(
            f"{service.title()}{base.__name__}",
            (base,),
            {
                "__annotations__": {"event_type": ClassVar[str]},
                "event_type": f"{service}.{action}",
                "__doc__": base.__doc__,
                "__module__": __name__,
            },
        )
        for service in services
    }


@dataclass(frozen=True)
class Event(Generic[D]):
    """A lifecycle event as a handler receives it: the envelope, and its payload parsed once."""

    envelope: Envelope
    data: D

    @property
    def order_id(self) -> str:
        return self.envelope.order_id

    @property
    def correlation_id(self) -> str:
        return self.envelope.correlation_id

    @property
    def occurred_at(self) -> datetime:
        return self.envelope.occurred_at

    @property
    def source(self) -> str:
        return self.envelope.source

    @staticmethod
    def new(payload: T, *, source: str, order_id: str, clock: Clock) -> "Event[T]":
        """A new event carrying `payload`."""
        return Event(Envelope.new(payload, source=source, order_id=order_id, clock=clock), payload)

    @staticmethod
    def of(envelope: Envelope, model: builtins.type[T]) -> "Event[T]":
        """An envelope with its payload parsed as `model`."""
        return Event(envelope, envelope.payload(model))


# --- partner messages -------------------------------------------------------------------


class PartnerMessage(Contract):
    """A message from a partner system; `message_id` is its idempotency key."""

    message_id: MessageId
    occurred_at: Timestamp
