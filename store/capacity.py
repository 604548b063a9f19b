"""A partition group's daily capacity state on Redis, kept in the group's progress hash.

Fields: ``~capacity`` holds the open event-time day (its counts so far and its part of
the priority sketch); ``~capacity/<day>`` holds each closed day the bar still learns
from. They are written by the same HSET as the group's progress (``store.commit``),
so they land exactly when a tick or a day's sweep is recorded as done: a redone tick
starts again from the state before it and counts nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.exceptions import RedisError

from policy.capacity_state import CapacityState, decode, encode_closed, encode_today
from schemas.errors import StorageUnavailableError
from store.client import RedisClient
from store.progress import progress_key

TODAY_FIELD = "~capacity"


def closed_field(day: int) -> str:
    """
    >>> closed_field(20514)
    '~capacity/20514'
    """
    return f"{TODAY_FIELD}/{day}"


@dataclass(frozen=True, slots=True)
class CapacityWrite:
    """Progress-hash fields to set with the progress, and fields to delete before it.

    Only a day older than every day a redone step could read is deleted: closing day D
    deletes day D - history_days - 1, while a redo of that close reads D - history_days on.
    """

    fields: dict[str, str]
    expired: tuple[str, ...] = ()

    @classmethod
    def after_tick(cls, state: CapacityState) -> CapacityWrite:
        return cls({TODAY_FIELD: encode_today(state)})

    @classmethod
    def after_close(cls, state: CapacityState, day: int, history_days: int) -> CapacityWrite:
        return cls(
            {TODAY_FIELD: encode_today(state), closed_field(day): encode_closed(state, day)},
            (closed_field(day - history_days - 1),),
        )


class CapacityStore:
    """Reads a group's capacity state (written by ``store.commit``)."""

    def __init__(self, redis: RedisClient, key_prefix: str, consumer_group: str, history_days: int) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._group = consumer_group
        self._history_days = history_days

    async def load(self, partition: int) -> CapacityState:
        """The open day's state and the closed days before it (at most ``history_days``)."""
        key = progress_key(self._prefix, self._group, partition)
        try:
            today = await self._redis.hget(key, TODAY_FIELD)
            if today is None:
                return CapacityState.empty()
            today_text = today.decode() if isinstance(today, bytes) else str(today)
            state = decode(today_text, {})
            if state.day is None:
                return state
            days = list(range(state.day - self._history_days, state.day))
            values = await self._redis.hmget(key, [closed_field(day) for day in days])
        except RedisError as error:
            raise StorageUnavailableError(f"capacity state read failed: {error}") from error
        closed = {
            day: value.decode() if isinstance(value, bytes) else str(value)
            for day, value in zip(days, values, strict=True)
            if value is not None
        }
        return decode(today_text, closed)
