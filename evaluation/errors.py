"""Errors of the evaluation: an input it cannot read, a yardstick the examples cannot support."""

from __future__ import annotations

from schemas.errors import ChurnwatchError


class EvaluationInputError(ChurnwatchError):
    """A truth row or an alert cannot be read: names the field and the value."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field}={value!r}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason


class YardstickUnavailableError(ChurnwatchError):
    """The examples cannot support a yardstick (too few days, one class in the earlier half)."""
