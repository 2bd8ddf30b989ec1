"""What a service found when it assessed a requested change: why it cannot be done, what to know anyway."""

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Findings:
    """Base of each service's assessment: it is feasible exactly when nothing stands in the way."""

    problems: tuple[str, ...] = ()  # why it cannot be done
    warnings: tuple[str, ...] = ()  # what the merchandiser should know when deciding

    @property
    def feasible(self) -> bool:
        return not self.problems

    @property
    def note(self) -> str:
        """Problems, then warnings, in one sentence for the change's assessment."""
        return "; ".join((*self.problems, *self.warnings))
