"""Errors raised while handling retention queue requests."""

from __future__ import annotations

from schemas.errors import ChurnwatchError


class QueuePageError(ChurnwatchError):
    """Root of the queue page's errors."""


class OutcomeRequestError(QueuePageError):
    """A recorded outcome's request breaks its form; the message names the field and the value."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={str(value)[:80]!r}: {reason}")
