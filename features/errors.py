"""Errors of the feature store; every one subclasses ``ChurnwatchError``."""

from __future__ import annotations

from schemas.errors import ChurnwatchError, StorageUnavailableError


class FeatureStoreError(ChurnwatchError):
    """Root of the feature store's errors."""


class FeatureStoreUnavailableError(FeatureStoreError, StorageUnavailableError):
    """Redis refused, dropped or timed out a feature-store request; the batch was not confirmed.

    A ``StorageUnavailableError``, so the coordinator retries it like any Redis outage:
    retrying the whole batch is safe, every update is idempotent by source position.
    """


class CorruptStateError(FeatureStoreError):
    """A customer's stored state does not decode with the known layout."""
