"""Exception contracts: raised, updated, resolved per service; a person acting on the board; rejected messages."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar, Literal
from uuid import NAMESPACE_URL, uuid5

from pydantic import Field

from shared.contracts.base import (
    EventData,
    per_service,
)
from shared.fields import (
    MessageId,
    Name,
    OptionalText,
    Ref,
    Text,
    Timestamp,
)
from shared.kinds import Cause, Role, Severity, Stage


class MessageRejected(EventData):
    """A lifecycle event of this order that the service could not apply; it went to `<topic>.dlq`.

    Published as `<service>.message_rejected`. The order service marks the order with it, so no
    order looks normal while one of its events sits in a dead-letter topic."""

    rejected_topic: Ref = Field(description="The topic the event was read from (without deployment prefix).")
    rejected_type: OptionalText = Field(default="", description="Its event type, when it could be read.")
    rejected_id: OptionalText = Field(default="", description="Its event id, when it could be read.")
    reason: Text = Field(description="Why it could not be applied; the same reason is in the dead letter's headers.")


REJECTED = per_service(MessageRejected, "message_rejected", ("production", "logistics", "billing"))
"""The rejection report of each service that publishes one (the order service marks its orders itself)."""
ProductionMessageRejected = REJECTED["production"]

# --- exceptions -------------------------------------------------------------------------

SERVICES = ("order", "production", "logistics", "billing")
UNASSIGNED = "unassigned"
"""The order id of an exception no order is known for yet (a payment naming no invoice we issued)."""

FactKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z_]+$")]
FactValue = OptionalText | int | Decimal | bool | None
KindName = Annotated[str, Field(pattern=r"^[a-z]+\.[a-z_]+$", max_length=64)]
SubjectType = Literal[
    "order",
    "work_order",
    "purchase_order",
    "inspection",
    "shipment",
    "claim",
    "invoice",
    "payment",
    "customer",
    "task",
    "document",
    "complaint",
    "message",
]


def exception_id(service: str, kind: str, subject_type: str, subject_id: str) -> str:
    """The stable id of a condition: raising the same condition again is the same exception."""
    return str(uuid5(NAMESPACE_URL, f"gendan:exception:{service}:{kind}:{subject_type}:{subject_id}"))


class ExceptionRaised(EventData):
    """Something went wrong with an order, raised by the service that owns the fact.

    Published as `<service>.exception_raised`, keyed by the order id. Raising the same condition
    (service, kind, subject) again is the same exception (same `exception_id`): it is published
    again only when it had been resolved and came back. `kind` is one of the registered kinds
    (`shared/kinds.py`, listed in the AsyncAPI document) with its default severity, owner and deadline."""

    exception_id: Ref = Field(description="Stable id of (service, kind, subject).")
    stage: Stage
    kind: KindName = Field(description="What went wrong, e.g. logistics.carrier_damage.")
    severity: Severity
    owner: Role = Field(description="Whose job it is to chase it.")
    subject_type: SubjectType
    subject_id: MessageId = Field(description="The work order, shipment, invoice, payment or message it is about.")
    title: Text = Field(description="One sentence a merchandiser reads.")
    facts: Annotated[dict[FactKey, FactValue], Field(max_length=20)] = Field(
        default_factory=dict, description="The facts behind it, e.g. the carrier's own words."
    )
    action: Text = Field(description="The suggested next step.")
    cause: Cause = Field(description="Who the delay or defect is attributed to.")
    raised_at: Timestamp
    due_by: Timestamp = Field(description="When it is escalated if still open.")


class ExceptionUpdated(ExceptionRaised):
    """An open exception whose severity, sentence or facts changed: its whole current state.

    Published as `<service>.exception_updated`."""


class ExceptionResolved(EventData):
    """An exception that is over: the condition cleared (by: system) or a person closed it.

    Published as `<service>.exception_resolved`."""

    exception_id: Ref
    kind: KindName
    subject_type: SubjectType
    subject_id: MessageId
    resolved_at: Timestamp
    by: Name = Field(description="`system` when the condition cleared by itself, else the person.")
    reason: Text


RAISED = per_service(ExceptionRaised, "exception_raised", SERVICES)
UPDATED = per_service(ExceptionUpdated, "exception_updated", SERVICES)
RESOLVED = per_service(ExceptionResolved, "exception_resolved", SERVICES)


class ExceptionAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    COMMENT = "comment"
    SNOOZE = "snooze"
    RESOLVE = "resolve"


class OrderExceptionActed(EventData):
    """A person acted on an exception on the board; the owning service stops re-raising what a person resolved."""

    event_type: ClassVar[str] = "order.exception_acted"
    exception_id: Ref
    service: Annotated[str, Field(pattern=r"^[a-z]+$", max_length=32)] = Field(description="The owning service.")
    action: ExceptionAction
    by: Name
    at: Timestamp
    owner: Name | None = None
    note: OptionalText = ""
    until: Timestamp | None = Field(default=None, description="Snoozed until.")


class OrderExceptionEscalated(EventData):
    """An exception still open past its deadline went up one level."""

    event_type: ClassVar[str] = "order.exception_escalated"
    exception_id: Ref
    kind: KindName
    level: Annotated[int, Field(ge=1, le=100)]
    severity: Severity
    due_by: Timestamp


EXCEPTION_EVENTS: tuple[type[EventData], ...] = (
    OrderExceptionActed,
    OrderExceptionEscalated,
    *REJECTED.values(),
    *RAISED.values(),
    *UPDATED.values(),
    *RESOLVED.values(),
)
