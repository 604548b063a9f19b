"""The feature store interface: apply positioned events, get feature vectors back.

Two implementations keep each other honest: ``features.reference_store`` (pure
Python, the executable specification) and ``store.features`` (Lua scripts on
Redis, one round trip per batch). A property test holds them equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from features.vector import FeatureVector
from schemas.events import InputEvent


@dataclass(frozen=True, slots=True)
class SourcePosition:
    """Where a record was read: the idempotency key of every state update."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class PositionedEvent:
    """A validated event with its source position; ``counterparty`` is already pseudonymised."""

    event: InputEvent
    position: SourcePosition


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """Outcome of one batch.

    ``vectors`` holds every customer the batch touched, as of that customer's latest
    event time, including customers whose events were all replays or duplicates (so
    a restarted worker can re-decide what it may not have published).
    ``duplicates`` are events whose ``event_id`` was already applied from another
    source position; ``replayed`` counts positions applied before (redelivery).
    """

    vectors: dict[str, FeatureVector]
    applied: int
    replayed: int
    duplicates: tuple[PositionedEvent, ...] = field(default=())


class FeatureStore(Protocol):
    async def apply(self, events: Sequence[PositionedEvent]) -> ApplyResult:
        """Apply a batch in order; idempotent per source position and per ``event_id``."""
        ...

    async def apply_ticks(self, ticks: Sequence[Sequence[PositionedEvent]]) -> list[ApplyResult]:
        """Apply consecutive batches in order (one round trip on Redis); one result per batch,
        each exactly what ``apply`` would have returned for it after the batches before it."""
        ...

    async def read(self, customer_id: str) -> FeatureVector | None:
        """The customer's vector as of their latest event, or None if never seen."""
        ...

    async def read_many(self, customer_ids: Sequence[str]) -> dict[str, FeatureVector]:
        """Vectors of the customers ever seen among these (in one round trip on Redis)."""
        ...
