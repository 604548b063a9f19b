"""Floors: the no-op agent plus one piece of the pipeline's work, to show what each piece costs.

* ``validate``: every batch is checked against its contract and its counterparties
  pseudonymised (``streams.validation.RecordValidator.validate_batch``), exactly as the
  pipeline does.
* ``features``: the same, then each batch's valid events go to the Redis feature store in
  one pipelined round trip (``store.features.RedisFeatureStore.apply``).

No event-time ticks, scoring, alerts or ordered acknowledgements: whatever the pipeline
does on top of a floor costs at least the floor, so ``features / no-op`` bounds the ratio
the full pipeline can reach on this machine.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

from faust.types import EventT

from features.store import PositionedEvent, SourcePosition
from schemas.events import EventType
from schemas.parsing import Rejection
from store.client import RedisClient, connect_redis
from store.features import RedisFeatureStore
from streams.settings import Settings
from streams.validation import RecordValidator

FloorMode = Literal["validate", "features"]
BatchWork = Callable[[EventType, Sequence[EventT[bytes]]], Awaitable[None]]


def floor_work(mode: FloorMode, settings: Settings, redis_url: str) -> BatchWork:
    """The per-batch work of a floor run (the Redis client is opened only for ``features``)."""
    validator = RecordValidator.from_settings(settings)  # exactly as the worker validates
    store: RedisFeatureStore | None = None
    if mode == "features":
        client: RedisClient = connect_redis(redis_url, settings.redis_cluster)
        store = RedisFeatureStore(client, settings.features)

    async def work(event_type: EventType, events: Sequence[EventT[bytes]]) -> None:
        valid: list[PositionedEvent] = []
        messages = [event.message for event in events]
        validated = validator.validate_batch([(m.key, m.value) for m in messages], event_type)
        for message, parsed in zip(messages, validated, strict=True):
            if not isinstance(parsed, Rejection):
                position = SourcePosition(message.topic, message.partition, message.offset)
                valid.append(PositionedEvent(parsed, position))
        if store is not None and valid:
            await store.apply(valid)

    return work
