"""Errors raised while scoring or learning."""

from __future__ import annotations

from schemas.errors import ChurnwatchError


class ScoringError(ChurnwatchError):
    """A scorer produced or was given something outside its contract."""


class InvalidScoreError(ScoringError):
    """A score value outside 0..1 (or not a number); the message names the value."""

    def __init__(self, value: float) -> None:
        self.value = value
        super().__init__(f"score={value!r}: must be a probability within 0..1")


class InvalidMetricsArgumentError(ScoringError):
    """A metrics setting or sample weight outside its range; the message names field and value."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={value!r}: {reason}")
