"""The storage guard over a real Redis: a Redis that lost the group's data is noticed, outages
are waited out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import pytest
import redis.asyncio as aioredis

from pipeline.storage_guard import StorageGuard
from pipeline.storage_health import StorageHealth
from schemas.errors import OutputUnavailableError, StorageDataLostError, StorageUnavailableError
from store.progress import ProgressStore, progress_key
from streams.metrics import PipelineMetrics
from streams.records import PartitionProgress, TopicPartition

TP = ("calls", 0)
T = TypeVar("T")


GROUP = "churnwatch"


@dataclass(frozen=True)
class GroupState:
    """The group's marker and progress in a real Redis, under a key prefix of this test's own."""

    redis: aioredis.Redis
    key_prefix: str

    @property
    def progress(self) -> ProgressStore:
        return ProgressStore(self.redis, self.key_prefix, GROUP)

    async def write_progress(self, tp: TopicPartition, at: PartitionProgress) -> None:
        """Progress as a commit leaves it (``store.commit``): ``next_offset|tau`` under the topic."""
        key = progress_key(self.key_prefix, GROUP, tp[1])
        await self.redis.hset(key, tp[0], f"{at.next_offset}|{at.tau_s!r}")

    async def drop_marker(self) -> None:
        await self.redis.delete(self.progress.marker_key)


@pytest.fixture
def group(redis_client: aioredis.Redis, key_prefix: str) -> GroupState:
    return GroupState(redis_client, key_prefix)


def guard_over(group: GroupState, committed: Mapping[TopicPartition, int] | None = None) -> StorageGuard:
    async def committed_offsets(tps: Sequence[TopicPartition]) -> Mapping[TopicPartition, int]:
        return {tp: offset for tp, offset in (committed or {}).items() if tp in tps}

    metrics = PipelineMetrics()
    return StorageGuard(
        StorageHealth(metrics, max_outage_s=60.0),
        group.progress,
        committed_offsets,
        owns=lambda tp: True,
        metrics=metrics,
        clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
    )


def failing_first(times: int, result: T) -> Callable[[], Awaitable[T]]:
    """A step whose first ``times`` attempts find Redis unreachable, then return ``result``."""
    attempts = 0

    async def step() -> T:
        nonlocal attempts
        attempts += 1
        if attempts <= times:
            raise StorageUnavailableError("connection refused")
        return result

    return step


class TestMarker:
    async def test_a_fresh_group_gets_its_marker(self, group: GroupState) -> None:
        """No marker, no progress, nothing committed: a new group; the marker is written."""
        guard = guard_over(group)
        await guard.check_marker([TP], {})
        assert (await group.progress.marker(), guard.marker_known) == (b"2026-01-01T00:00:00+00:00", True)

    async def test_committed_offsets_without_our_writes_mean_data_lost(
        self, group: GroupState
    ) -> None:
        """The group committed offsets but Redis holds none of its writes: processing stops."""
        guard = guard_over(group, committed={TP: 42})
        with pytest.raises(StorageDataLostError):
            await guard.check_marker([TP], {})
        assert guard.data_lost is not None

    async def test_a_marker_that_disappears_later_means_data_lost(self, group: GroupState) -> None:
        """Redis restarted without its data after the marker was seen: the check says so."""
        guard = guard_over(group)
        await guard.check_marker([TP], {})
        await group.drop_marker()
        with pytest.raises(StorageDataLostError, match="marker is gone"):
            await guard.verify()


class TestRecordedProgress:
    async def test_progress_that_went_back_means_data_lost(self, group: GroupState) -> None:
        """Redis holds an older offset than this worker recorded (restored from an old snapshot)."""
        guard = guard_over(group)
        guard.recorded({TP: PartitionProgress(10, 5.0)})
        await group.write_progress(TP, PartitionProgress(7, 4.0))
        with pytest.raises(StorageDataLostError, match="from offset 10 to 7"):
            await guard.verify()

    async def test_a_forgotten_partition_is_not_checked(self, group: GroupState) -> None:
        """Progress of a partition given up belongs to its next owner."""
        guard = guard_over(group)
        guard.recorded({TP: PartitionProgress(10, 5.0)})
        guard.forget(TP)
        await guard.verify()
        assert guard.data_lost is None


class TestRetrying:
    async def test_an_outage_is_waited_out_then_the_step_runs(
        self, group: GroupState
    ) -> None:
        """Two failed attempts, then the step's result; the outage is over."""
        guard = guard_over(group)
        assert await guard.retrying(failing_first(2, "done")) == "done"
        assert not guard.health.unavailable

    async def test_after_an_outage_the_progress_is_checked_before_going_on(self, group: GroupState) -> None:
        """Redis came back from an older snapshot: the retry notices before running the step."""
        guard = guard_over(group)
        guard.recorded({TP: PartitionProgress(10, 5.0)})
        await group.write_progress(TP, PartitionProgress(10, 5.0))
        steps: list[str] = []

        async def step() -> None:
            steps.append("ran")
            if len(steps) == 1:
                await group.write_progress(TP, PartitionProgress(3, 1.0))
                raise StorageUnavailableError("connection reset")

        with pytest.raises(StorageDataLostError):
            await guard.retrying(step)
        assert steps == ["ran"]

    async def test_a_broker_refusing_outputs_is_retried_and_counted(
        self, group: GroupState
    ) -> None:
        """An output failure is retried without marking Redis unavailable."""
        guard = guard_over(group)
        attempts: list[int] = []

        async def publish() -> str:
            attempts.append(1)
            if len(attempts) < 3:
                raise OutputUnavailableError("not enough replicas")
            return "published"

        assert await guard.retrying(publish) == "published"
        assert (len(attempts), guard.health.unavailable) == (3, False)
