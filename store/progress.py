"""Redis records that make a restart continue exactly where the last worker stopped.

* Progress per input partition (``{prefix}:{group/pN}:progress``, a hash: topic ->
  ``next_offset|tau``): everything before ``next_offset`` was fully handled, with the
  effective event time reached there, so a new owner skips what is done and assigns the
  same ticks as the old one would have. The same hash holds the last swept day
  (``SWEPT_FIELD``) and the group's daily capacity state (``store.capacity``).
* The alert outbox per partition group (``{prefix}:{group/pN}:outbox``): alerts decided and
  recorded but perhaps not yet published. A new owner publishes what it finds there (same
  ids), then clears it.
* A marker per consumer group (``{prefix}:{group}:marker``), written before the group's
  first record is handled: a Redis that comes back without it (restarted with no data) is
  noticed, not trusted.

All of them are written by one step, ``store.commit``; this module reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from redis.exceptions import RedisError

from schemas.errors import StorageUnavailableError
from schemas.outputs import Alert
from store.client import RedisClient
from store.keys import consumer_group_key, group_key
from streams.records import PartitionProgress, TopicPartition

SWEPT_FIELD = "~swept"
"""Progress-hash field: the last event-time day whose end the group has swept."""


def outbox_key(prefix: str, consumer_group: str, partition: int) -> str:
    """
    >>> outbox_key("cw", "churnwatch", 3)
    'cw:{churnwatch/p3}:outbox'
    """
    return group_key(prefix, consumer_group, partition, "outbox")


def progress_key(prefix: str, consumer_group: str, partition: int) -> str:
    """
    >>> progress_key("cw", "churnwatch", 3)
    'cw:{churnwatch/p3}:progress'
    """
    return group_key(prefix, consumer_group, partition, "progress")


class ProgressStore:
    """Reads per-partition progress, the last swept days and the alert outbox; owns the marker."""

    def __init__(self, redis: RedisClient, key_prefix: str, consumer_group: str) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._group = consumer_group

    def _outbox_key(self, partition: int) -> str:
        return outbox_key(self._prefix, self._group, partition)

    def _progress_key(self, partition: int) -> str:
        return progress_key(self._prefix, self._group, partition)

    @property
    def marker_key(self) -> str:
        return consumer_group_key(self._prefix, self._group, "marker")

    async def marker(self) -> bytes | None:
        """The group's marker (when it was first written), or None if Redis does not hold it."""
        try:
            value = await self._redis.get(self.marker_key)
        except RedisError as error:
            raise StorageUnavailableError(f"marker read failed: {error}") from error
        return value if isinstance(value, bytes) or value is None else str(value).encode()

    async def write_marker(self, stamp: str) -> None:
        """Write the marker unless it exists (several workers may start at once)."""
        try:
            await self._redis.set(self.marker_key, stamp.encode(), nx=True)
        except RedisError as error:
            raise StorageUnavailableError(f"marker write failed: {error}") from error

    async def load(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, PartitionProgress]:
        """Recorded progress of these partitions (absent: never handled)."""
        ordered = sorted(tps)
        if not ordered:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for topic, partition in ordered:
            pipe.hget(self._progress_key(partition), topic)
        try:
            values = await pipe.execute()
        except RedisError as error:
            raise StorageUnavailableError(f"progress read failed: {error}") from error
        restored: dict[TopicPartition, PartitionProgress] = {}
        for tp, value in zip(ordered, values, strict=True):
            if value is not None:
                text = value.decode() if isinstance(value, bytes) else value
                offset, tau = text.split("|")
                restored[tp] = PartitionProgress(int(offset), float(tau))
        return restored

    async def swept_days(self, partitions: Iterable[int]) -> dict[int, int]:
        """The last swept event-time day of each partition group that has one."""
        ordered = sorted(set(partitions))
        if not ordered:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for partition in ordered:
            pipe.hget(self._progress_key(partition), SWEPT_FIELD)
        try:
            values = await pipe.execute()
        except RedisError as error:
            raise StorageUnavailableError(f"progress read failed: {error}") from error
        return {partition: int(value) for partition, value in zip(ordered, values, strict=True) if value}

    async def event_time_reached(self, partitions: Iterable[int]) -> float | None:
        """The latest effective event time (epoch seconds) any input partition of these groups
        has reached, or None before the first tick: the queue page's "today"."""
        ordered = sorted(set(partitions))
        pipe = self._redis.pipeline(transaction=False)
        for partition in ordered:
            pipe.hgetall(self._progress_key(partition))
        try:
            values = await pipe.execute()
        except RedisError as error:
            raise StorageUnavailableError(f"progress read failed: {error}") from error
        reached = [
            float(_text(value).split("|")[1])
            for fields in values
            for name, value in fields.items()
            if _text(name) != SWEPT_FIELD
        ]
        return max(reached, default=None)

    async def outbox(self, partition: int) -> list[Alert]:
        """Alerts recorded for a partition group but not yet confirmed as published."""
        try:
            entries = await self._redis.hgetall(self._outbox_key(partition))
        except RedisError as error:
            raise StorageUnavailableError(f"outbox read failed: {error}") from error
        return sorted(
            (Alert.model_validate_json(value) for value in entries.values()), key=lambda a: a.alert_id
        )

    async def published(self, partition: int, alert_ids: Sequence[str]) -> None:
        """Remove delivered alerts from the outbox."""
        if not alert_ids:
            return
        try:
            await self._redis.hdel(self._outbox_key(partition), *alert_ids)
        except RedisError as error:
            raise StorageUnavailableError(f"outbox clear failed: {error}") from error


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
