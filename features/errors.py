"""Errors of the feature store; every one subclasses ``ChurnwatchError``."""

from __future__ import annotations

from schemas.errors import ChurnwatchError


class FeatureStoreError(ChurnwatchError):
    """Root of the feature store's errors."""


class FeatureStoreUnavailableError(FeatureStoreError):
    """Redis refused, dropped or timed out a feature-store request; the batch was not confirmed.

    Retrying the whole batch is safe: every update is idempotent by source position.
    """


class CorruptStateError(FeatureStoreError):
    """A customer's stored state does not decode with the known layout."""
