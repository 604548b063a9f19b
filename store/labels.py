"""Redis records of delayed labels: pending snapshots per group and day, churn times per group.

* ``pending:<day>``: one compressed blob of a group's kept snapshots of that event-time day
  (``models.labels.encode_pending``), written by the day's sweep (a redone sweep writes
  the same bytes) and deleted once the day is resolved.
* ``churns``: a sorted set of the group's churn events (member ``customer|time``, score:
  the churn's event time), written with the tick that applied them and trimmed once no
  pending snapshot can still need them.

Both live in the slot of the group's progress, like the activity index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from redis.exceptions import RedisError

from models.labels import PendingSnapshot, decode_pending, encode_pending
from schemas.errors import StorageUnavailableError
from store.client import RedisClient
from store.keys import group_key


class LabelStore:
    """Pending snapshots and churn times of each partition group."""

    def __init__(self, redis: RedisClient, key_prefix: str, consumer_group: str) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._group = consumer_group

    def pending_key(self, partition: int, day: int) -> str:
        return group_key(self._prefix, self._group, partition, f"pending:{day}")

    def churns_key(self, partition: int) -> str:
        return group_key(self._prefix, self._group, partition, "churns")

    def add_churns_to(self, pipe: object, partition: int, churns: Mapping[str, Sequence[float]]) -> None:
        """Queue a tick's churn events on ``pipe`` (idempotent: members name customer and time)."""
        members = {f"{customer}|{moment!r}": moment for customer, times in churns.items() for moment in times}
        if members:
            pipe.zadd(self.churns_key(partition), members)  # type: ignore[attr-defined]

    async def keep(
        self, partition: int, day: int, model_version: str, snapshots: Sequence[PendingSnapshot]
    ) -> int:
        """Store a day's pending snapshots; returns the blob's size in bytes (0: nothing kept)."""
        if not snapshots:
            return 0
        blob = encode_pending(model_version, snapshots)
        try:
            await self._redis.set(self.pending_key(partition, day), blob)
        except RedisError as error:
            raise StorageUnavailableError(f"pending snapshots write failed: {error}") from error
        return len(blob)

    async def due(
        self, partition: int, day: int, window_start_s: float, window_end_s: float
    ) -> tuple[str, list[PendingSnapshot], dict[str, list[float]]]:
        """A day's pending snapshots and the group's churn times in ``(start, end]``, one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(self.pending_key(partition, day))
        pipe.zrangebyscore(self.churns_key(partition), f"({window_start_s!r}", window_end_s)
        try:
            blob, members = await pipe.execute()
        except RedisError as error:
            raise StorageUnavailableError(f"pending snapshots read failed: {error}") from error
        churns: defaultdict[str, list[float]] = defaultdict(list)
        for member in members:
            text = member.decode() if isinstance(member, bytes) else str(member)
            customer, _, moment = text.rpartition("|")
            churns[customer].append(float(moment))
        if not blob:
            return "", [], dict(churns)
        version, snapshots = decode_pending(blob, day)
        return version, snapshots, dict(churns)

    async def resolved(self, partition: int, day: int, churns_before_s: float) -> None:
        """Drop a resolved day's snapshots and the churn times no pending day can need any more."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(self.pending_key(partition, day))
        pipe.zremrangebyscore(self.churns_key(partition), "-inf", churns_before_s)
        try:
            await pipe.execute()
        except RedisError as error:
            raise StorageUnavailableError(f"resolved snapshots clear failed: {error}") from error

