"""Severity, stage, cause and role, and the Kind record every registered exception kind is (see shared.kinds)."""

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class Severity(StrEnum):
    """How bad an exception is, in rising order; escalation moves it up one step."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)

    def raised(self) -> "Severity":
        """One step more severe (critical stays critical)."""
        return list(Severity)[min(self.rank + 1, len(Severity) - 1)]


class Stage(StrEnum):
    ORDER = "order"
    PRODUCTION = "production"
    LOGISTICS = "logistics"
    BILLING = "billing"


class Cause(StrEnum):
    """Who the delay or defect is attributed to, so "why was this order late" is answered from data."""

    INTERNAL = "internal"
    SUPPLIER = "supplier"
    CARRIER = "carrier"
    CUSTOMER = "customer"
    UNKNOWN = "unknown"


class Role(StrEnum):
    """Who chases an exception of a kind by default."""

    MERCHANDISER = "merchandiser"
    PLANNER = "production_planner"
    LOGISTICS = "logistics_coordinator"
    FINANCE = "finance"
    SUPERVISOR = "supervisor"


@dataclass(frozen=True)
class Kind:
    """One kind of exception and its defaults."""

    name: str
    stage: Stage
    severity: Severity
    owner: Role
    deadline: timedelta
    cause: Cause
    action: str
    meaning: str


HOUR = timedelta(hours=1)


def dead_letters_open(stage: Stage) -> Kind:
    """The same operational kind in every stage: its dead letters wait for a person (shared.exceptions)."""
    return Kind(
        f"{stage.value}.dead_letters_open",
        stage,
        Severity.HIGH,
        Role.SUPERVISOR,
        4 * HOUR,
        Cause.UNKNOWN,
        "Read the dead letters' reasons (GET /dead-letters/<topic>), fix the cause, then replay or discard each.",
        "Messages the service could not apply wait in a dead-letter topic for a person.",
    )
