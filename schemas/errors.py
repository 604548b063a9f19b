"""Errors raised while reading events against the public contracts."""

from __future__ import annotations


class ChurnwatchError(Exception):
    """Root of every error Churnwatch raises on purpose."""


class InvalidEventError(ChurnwatchError):
    """An input record breaks the event contract; the message names the field and value."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={_shorten(value)}: {reason}")


def _shorten(value: object, limit: int = 60) -> str:
    """Keep error messages short even when the offending value is a megabyte.

    >>> _shorten("x" * 100, limit=5)
    "'xxxx…(100 chars)"
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…({len(str(value))} chars)"


class StorageUnavailableError(ChurnwatchError):
    """A state store (Redis) could not be reached; the batch is retried, never dropped."""


class OutputUnavailableError(ChurnwatchError):
    """The broker did not take an output record for now; the tick is retried, never dropped."""


class StorageOutageError(ChurnwatchError):
    """Redis stayed unreachable longer than the configured limit; the worker exits to be restarted."""


class StorageDataLostError(ChurnwatchError):
    """Redis no longer holds what this consumer group wrote (restarted empty or rolled back)."""
