"""Redis records that make a restart continue exactly where the last worker stopped.

* Progress per input partition: everything before ``next_offset`` was fully handled,
  with the effective event time reached there, so a new owner skips what is done and
  assigns the same ticks as the old one would have.
* The alert outbox per partition group: alerts decided and recorded but perhaps not yet
  published. A new owner publishes what it finds there (same ids), then clears it.
* The group's daily capacity state (``streams.capacity_store``), as fields of the progress
  hash written by the same command as the progress: a tick's capacity counts land exactly
  when the tick is recorded as done, so a tick redone after a crash never counts twice.
* A marker per consumer group, written before the group's first record is handled: a
  Redis that comes back without it (restarted with no data) is noticed, not trusted.

A group's progress and outbox share one hash tag, so on Redis Cluster they live in one
slot. Writes that must land in order (outbox and alert states before progress) are
separate round trips on a Cluster, because a Cluster pipeline runs its per-node parts
concurrently; on a single server one pipeline keeps them in order.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.exceptions import RedisError

from policy.alert_state import AlertState
from policy.alert_state_store import alert_state_key
from schemas.errors import StorageUnavailableError
from schemas.outputs import Alert, Prediction
from streams.activity_index import ActivityIndex
from streams.alignment import PartitionProgress, TopicPartition
from streams.label_store import LabelStore
from streams.queue_store import QueueStore
from streams.redis_client import RedisClient

if TYPE_CHECKING:
    from streams.capacity_store import CapacityWrite

SWEPT_FIELD = "~swept"
"""Progress-hash field: the last event-time day whose end the group has swept."""


def progress_key(prefix: str, consumer_group: str, partition: int) -> str:
    """
    >>> progress_key("cw", "churnwatch", 3)
    'cw:{churnwatch/p3}:progress'
    """
    return f"{prefix}:{{{consumer_group}/p{partition}}}:progress"


class ProgressStore:
    """Per-partition progress, the alert outbox and alert states, written in one pipeline."""

    def __init__(
        self, redis: RedisClient, key_prefix: str, consumer_group: str, activity: ActivityIndex | None = None
    ) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._group = consumer_group
        self._activity = activity or ActivityIndex(redis, key_prefix, consumer_group)
        self._labels = LabelStore(redis, key_prefix, consumer_group)
        self._queue = QueueStore(redis, key_prefix, consumer_group)

    def _group_tag(self, partition: int) -> str:
        return f"{{{self._group}/p{partition}}}"

    def _outbox_key(self, partition: int) -> str:
        return f"{self._prefix}:{self._group_tag(partition)}:outbox"

    def _progress_key(self, partition: int) -> str:
        return progress_key(self._prefix, self._group, partition)

    @property
    def marker_key(self) -> str:
        return f"{self._prefix}:{{{self._group}}}:marker"

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

    async def record(
        self,
        progress: Mapping[TopicPartition, PartitionProgress],
        partition: int,
        alerts: Sequence[Alert],
        states: Mapping[str, AlertState],
        seen: Mapping[str, float] | None = None,
        gone: Collection[str] = (),
        swept_day: int | None = None,
        churns: Mapping[str, Sequence[float]] | None = None,
        snapshots: Sequence[Prediction] = (),
        capacity: CapacityWrite | None = None,
    ) -> None:
        """Outbox, alert states and last-seen times first, progress after: a torn write never loses
        an alert, and everything before progress is idempotent.

        ``seen``: customers' latest event times (epoch seconds) for the activity index;
        ``gone``: churned customers leaving it; ``swept_day``: the last day swept, kept with
        the progress; ``churns``: the tick's churn event times, for label resolution;
        ``snapshots``: the sweep's, whose scores the queue page charts. The alerts also go
        to the queue page's day queue and customer history (``streams.queue_store``).
        ``capacity``: capacity-state fields, written with the progress in one HSET.
        Without alerts or activity this is one round trip (progress only).
        """
        fields = {tp[0]: f"{p.next_offset}|{p.tau_s!r}" for tp, p in progress.items()}
        if swept_day is not None:
            fields[SWEPT_FIELD] = str(swept_day)
        expired: Sequence[str] = ()
        if capacity is not None:
            fields.update(capacity.fields)
            expired = capacity.expired
        try:
            if alerts or states or seen or gone or churns or snapshots or expired or swept_day is not None:
                pipe = self._redis.pipeline(transaction=False)
                if expired:  # days no redo can need any more (see CapacityWrite)
                    pipe.hdel(self._progress_key(partition), *expired)
                if alerts:
                    pipe.hset(
                        self._outbox_key(partition),
                        mapping={alert.alert_id: alert.model_dump_json() for alert in alerts},
                    )
                for customer_id, state in states.items():
                    pipe.set(alert_state_key(self._prefix, customer_id), state.encode())
                self._activity.add_to(pipe, partition, seen or {}, gone)
                self._labels.add_churns_to(pipe, partition, churns or {})
                self._queue.add_to(pipe, partition, alerts, snapshots, swept_day)
                if fields and isinstance(self._redis, Redis):
                    # one connection runs a pipeline in order: progress still lands last
                    pipe.hset(self._progress_key(partition), mapping=fields)  # type: ignore[arg-type]
                    fields = {}
                await pipe.execute()
            if fields:
                await self._redis.hset(self._progress_key(partition), mapping=fields)  # type: ignore[arg-type]
        except RedisError as error:
            raise StorageUnavailableError(f"progress write failed: {error}") from error

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
