"""Carrier status codes: each carrier's own codes mapped to one normalised set, as data
(deploy/seed/logistics/carriers/*.yaml), never as code. Pure once loaded."""

from collections.abc import Mapping
from dataclasses import dataclass

from shared.contracts import CarrierException, CarrierStatus


@dataclass(frozen=True)
class Normalised:
    """What a carrier's code means in Gendan's terms."""

    status: CarrierStatus
    reason: CarrierException | None = None
    meaning: str = ""


@dataclass(frozen=True)
class CodeMap:
    """One carrier's codes."""

    carrier: str
    codes: Mapping[str, Normalised]

    def normalise(self, code: str) -> Normalised | None:
        """The normalised status of a code (codes compare case-insensitively); a code in Gendan's own set is
        understood from every carrier; None for a code nobody mapped."""
        found = self.codes.get(code) or self.codes.get(code.upper())
        if found is not None:
            return found
        if code.lower() in CarrierStatus.__members__.values():
            status = CarrierStatus(code.lower())
            return Normalised(status, CarrierException.OTHER if status == CarrierStatus.EXCEPTION else None)
        return None


def code_map(carrier: str, data: Mapping[str, object]) -> CodeMap:
    """A carrier's code map from its data file's `codes` (code -> {status, reason, meaning})."""
    codes: dict[str, Normalised] = {}
    raw = data.get("codes") or {}
    assert isinstance(raw, Mapping), f"{carrier}: `codes` must be a mapping"
    for code, entry in raw.items():
        status = CarrierStatus(entry["status"])
        reason = CarrierException(entry["reason"]) if entry.get("reason") else None
        if status == CarrierStatus.EXCEPTION and reason is None:
            reason = CarrierException.OTHER
        codes[str(code).upper()] = Normalised(status, reason, str(entry.get("meaning", "")))
    return CodeMap(carrier, codes)


def unmapped(carrier: str) -> CodeMap:
    """A carrier without a data file: it must send Gendan's own status names."""
    return CodeMap(carrier, {})
