"""Errors of the product's contracts and storage, under one root."""

from __future__ import annotations


class ChurnwatchError(Exception):
    """Root of every error Churnwatch raises on purpose."""


class StorageUnavailableError(ChurnwatchError):
    """A state store (Redis) could not be reached; the batch is retried, never dropped."""


class OutputUnavailableError(ChurnwatchError):
    """The broker did not take an output record for now; the tick is retried, never dropped."""


class StorageOutageError(ChurnwatchError):
    """Redis stayed unreachable longer than the configured limit; the worker exits to be restarted."""


class StorageDataLostError(ChurnwatchError):
    """Redis no longer holds what this consumer group wrote (restarted empty or rolled back)."""
