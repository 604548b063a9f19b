"""Redis records of the learner: one checkpoint per event-time day, and the learner's own state.

Keys share the hash tag ``{<consumer group>/model}``, so one MULTI writes a day's checkpoint,
the learner state and the range of days held together: a scorer never sees a checkpoint
whose learner state was not saved, and the learner restarts from the day it last wrote.

* ``checkpoint:<day>``: ``models.learner.Checkpoint`` (pickled; the model and its metrics);
* ``days``: hash ``first`` (the first day ever checkpointed: earlier days score with the
  rules and an untrained model) and ``last``;
* ``learner``: the pickled ``DailyLearner`` without its held examples;
* ``marks``: the last day each partition group resolved, written between two learner
  saves (a group's first mark may be for a day already checkpointed: it is acknowledged,
  so never read again, and must not be lost with the learner's memory).

Pickles are read only from this Redis, written only by the learner; Redis must be as
trusted as the workers (docs/production.md).
"""

from __future__ import annotations

import pickle

from redis.exceptions import RedisError

from models.learner import Checkpoint, DailyLearner
from schemas.errors import StorageUnavailableError
from store.client import RedisClient
from store.keys import consumer_group_key


class CheckpointStore:
    """Daily model checkpoints and the learner state, in one Redis slot."""

    def __init__(self, redis: RedisClient, key_prefix: str, consumer_group: str, kept: int = 45) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._group = f"{consumer_group}/model"
        self._kept = kept

    def checkpoint_key(self, day: int) -> str:
        return consumer_group_key(self._prefix, self._group, f"checkpoint:{day}")

    @property
    def days_key(self) -> str:
        return consumer_group_key(self._prefix, self._group, "days")

    @property
    def learner_key(self) -> str:
        return consumer_group_key(self._prefix, self._group, "learner")

    @property
    def marks_key(self) -> str:
        return consumer_group_key(self._prefix, self._group, "marks")

    async def save_marks(self, groups: dict[int, int]) -> None:
        """The last day each partition group resolved, between two saves of the whole learner."""
        try:
            await self._redis.hset(self.marks_key, mapping={str(p): str(d) for p, d in groups.items()})
        except RedisError as error:
            raise StorageUnavailableError(f"learner marks write failed: {error}") from error

    async def save(self, learner: DailyLearner, checkpoints: list[Checkpoint]) -> None:
        """Write the day checkpoints (if any) and the learner state in one transaction; trim old days."""
        first = await self.bounds()
        pipe = self._redis.pipeline(transaction=True)
        for checkpoint in checkpoints:
            pipe.set(self.checkpoint_key(checkpoint.day), checkpoint.to_bytes())
        if checkpoints:
            fields = {"last": str(checkpoints[-1].day)}
            if first[0] is None:
                fields["first"] = str(checkpoints[0].day)
            pipe.hset(self.days_key, mapping=fields)  # type: ignore[arg-type]
        pipe.set(self.learner_key, pickle.dumps(learner, protocol=pickle.HIGHEST_PROTOCOL))
        for checkpoint in checkpoints:
            pipe.delete(self.checkpoint_key(checkpoint.day - self._kept))
        try:
            await pipe.execute()
        except RedisError as error:
            raise StorageUnavailableError(f"checkpoint write failed: {error}") from error

    async def bounds(self) -> tuple[int | None, int | None]:
        """The first and last day checkpointed (None, None before the first)."""
        try:
            values = await self._redis.hmget(self.days_key, ["first", "last"])
        except RedisError as error:
            raise StorageUnavailableError(f"checkpoint days read failed: {error}") from error
        first, last = (None if value is None else int(value) for value in values)
        return first, last

    async def load(self, day: int) -> Checkpoint | None:
        try:
            data = await self._redis.get(self.checkpoint_key(day))
        except RedisError as error:
            raise StorageUnavailableError(f"checkpoint read failed: {error}") from error
        return None if data is None else Checkpoint.from_bytes(_as_bytes(data))

    async def learner(self) -> DailyLearner | None:
        """The learner as it was after its last checkpoint, or None on a first start."""
        try:
            data = await self._redis.get(self.learner_key)
        except RedisError as error:
            raise StorageUnavailableError(f"learner state read failed: {error}") from error
        if data is None:
            return None
        learner = pickle.loads(_as_bytes(data))
        if not isinstance(learner, DailyLearner):
            raise TypeError(f"not a learner state: {type(learner).__name__}")
        return learner

    async def marks(self) -> dict[int, int]:
        """The marks saved by ``save_marks``."""
        try:
            values = await self._redis.hgetall(self.marks_key)
        except RedisError as error:
            raise StorageUnavailableError(f"learner marks read failed: {error}") from error
        return {int(partition): int(day) for partition, day in values.items()}


def _as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()
