"""When each customer of a partition group was last seen, in event time: the index behind silence.

One Redis sorted set per consumer group and partition group (member: customer id, score:
the customer's latest event time in epoch seconds), in the slot of that group's progress.
A day's sweep asks it who was active that day and who has been silent for exactly N days,
by score range: bounded work, never a scan of every customer. Updates only move scores
forward (``ZADD GT``), so replaying a tick changes nothing; churned customers leave it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from redis.exceptions import RedisError

from schemas.errors import StorageUnavailableError
from store.client import RedisClient
from store.keys import group_key


class ActivityIndex:
    """Last-seen times per partition group, for the daily sweep."""

    def __init__(self, redis: RedisClient, key_prefix: str, consumer_group: str) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._group = consumer_group

    def key(self, partition: int) -> str:
        return group_key(self._prefix, self._group, partition, "seen")

    def add_to(self, pipe: object, partition: int, seen: Mapping[str, float], gone: Iterable[str]) -> None:
        """Queue the updates of one tick on ``pipe`` (a pipeline of the same client)."""
        key = self.key(partition)
        if seen:
            pipe.zadd(key, dict(seen), gt=True)  # type: ignore[attr-defined]
        left = list(gone)
        if left:
            pipe.zrem(key, *left)  # type: ignore[attr-defined]

    async def count_seen(self, partition: int, until_s: float) -> int:
        """How many customers of the group were last seen at or before ``until_s`` (churned ones left)."""
        try:
            return int(await self._redis.zcount(self.key(partition), "-inf", until_s))
        except RedisError as error:
            raise StorageUnavailableError(f"activity index read failed: {error}") from error

    async def seen_between(self, partition: int, ranges: Sequence[tuple[float, float]]) -> list[list[str]]:
        """Customers last seen in each ``[start_s, end_s)`` range, in one round trip, sorted by id."""
        pipe = self._redis.pipeline(transaction=False)
        for start_s, end_s in ranges:
            pipe.zrangebyscore(self.key(partition), start_s, f"({end_s!r}")
        try:
            replies = await pipe.execute()
        except RedisError as error:
            raise StorageUnavailableError(f"activity index read failed: {error}") from error
        return [
            sorted(member.decode() if isinstance(member, bytes) else str(member) for member in reply)
            for reply in replies
        ]
