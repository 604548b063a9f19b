"""Errors raised by the alert policy."""

from __future__ import annotations

from schemas.errors import ChurnwatchError


class PolicyError(ChurnwatchError):
    """Root of the alert policy's errors."""


class PlaybookError(PolicyError):
    """The playbook file is missing, not YAML, or breaks its schema; names the file and field."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"playbook {source}: {problem}")


class AlertStateError(PolicyError):
    """A stored alert state could not be decoded; the message shows the stored text."""


class CapacityStateError(PolicyError):
    """A stored capacity state could not be decoded; the message shows the stored text."""
