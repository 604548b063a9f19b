"""The storage guard: a Redis that lost the group's data is noticed, outages are waited out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

import pytest

from pipeline.storage_guard import StorageGuard
from pipeline.storage_health import StorageHealth
from schemas.errors import OutputUnavailableError, StorageDataLostError, StorageUnavailableError
from streams.metrics import PipelineMetrics
from streams.records import PartitionProgress, TopicPartition

TP = ("calls", 0)


class Redis:
    """The marker and progress as a Redis would hold them, able to fail the next calls."""

    def __init__(self) -> None:
        self.marker_stamp: bytes | None = None
        self.progress: dict[TopicPartition, PartitionProgress] = {}
        self.failures = 0

    def _call(self) -> None:
        if self.failures:
            self.failures -= 1
            raise StorageUnavailableError("connection refused")

    async def marker(self) -> bytes | None:
        self._call()
        return self.marker_stamp

    async def write_marker(self, stamp: str) -> None:
        self._call()
        self.marker_stamp = self.marker_stamp or stamp.encode()

    async def load(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, PartitionProgress]:
        self._call()
        return {tp: self.progress[tp] for tp in tps if tp in self.progress}


def guard_over(redis: Redis, committed: Mapping[TopicPartition, int] | None = None) -> StorageGuard:
    async def committed_offsets(tps: Sequence[TopicPartition]) -> Mapping[TopicPartition, int]:
        return {tp: offset for tp, offset in (committed or {}).items() if tp in tps}

    metrics = PipelineMetrics()
    return StorageGuard(
        StorageHealth(metrics, max_outage_s=60.0),
        redis,  # type: ignore[arg-type]  # the marker and progress reads of a ProgressStore
        committed_offsets,
        owns=lambda tp: True,
        metrics=metrics,
        clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
    )


class TestMarker:
    async def test_a_fresh_group_gets_its_marker(self) -> None:
        """No marker, no progress, nothing committed: a new group; the marker is written."""
        redis = Redis()
        guard = guard_over(redis)
        await guard.check_marker([TP], {})
        assert (redis.marker_stamp, guard.marker_known) == (b"2026-01-01T00:00:00+00:00", True)

    async def test_committed_offsets_without_marker_or_progress_mean_data_lost(self) -> None:
        """The group committed offsets but Redis holds none of its writes: processing stops."""
        guard = guard_over(Redis(), committed={TP: 42})
        with pytest.raises(StorageDataLostError):
            await guard.check_marker([TP], {})
        assert guard.data_lost is not None

    async def test_a_marker_that_disappears_later_means_data_lost(self) -> None:
        """Redis restarted without its data after the marker was seen: the check says so."""
        redis = Redis()
        guard = guard_over(redis)
        await guard.check_marker([TP], {})
        redis.marker_stamp = None
        with pytest.raises(StorageDataLostError, match="marker is gone"):
            await guard.verify()


class TestRecordedProgress:
    async def test_progress_that_went_back_means_data_lost(self) -> None:
        """Redis holds an older offset than this worker recorded (restored from an old snapshot)."""
        redis = Redis()
        guard = guard_over(redis)
        guard.recorded({TP: PartitionProgress(10, 5.0)})
        redis.progress[TP] = PartitionProgress(7, 4.0)
        with pytest.raises(StorageDataLostError, match="from offset 10 to 7"):
            await guard.verify()

    async def test_a_forgotten_partition_is_not_checked(self) -> None:
        """Progress of a partition given up belongs to its next owner."""
        redis = Redis()
        guard = guard_over(redis)
        guard.recorded({TP: PartitionProgress(10, 5.0)})
        guard.forget(TP)
        await guard.verify()
        assert guard.data_lost is None


class TestRetrying:
    async def test_an_outage_is_waited_out_and_the_step_runs_once_redis_is_back(self) -> None:
        """Two failed attempts, then the step's result; the outage is over."""
        redis = Redis()
        guard = guard_over(redis)
        redis.failures = 2
        assert await guard.retrying(redis.marker) is None
        assert not guard.health.unavailable

    async def test_after_an_outage_the_progress_is_checked_before_going_on(self) -> None:
        """Redis came back from an older snapshot: the retry notices before running the step."""
        redis = Redis()
        guard = guard_over(redis)
        guard.recorded({TP: PartitionProgress(10, 5.0)})
        redis.progress[TP] = PartitionProgress(10, 5.0)
        steps: list[str] = []

        async def step() -> None:
            steps.append("ran")
            if len(steps) == 1:
                redis.progress[TP] = PartitionProgress(3, 1.0)
                raise StorageUnavailableError("connection reset")

        with pytest.raises(StorageDataLostError):
            await guard.retrying(step)
        assert steps == ["ran"]

    async def test_a_broker_that_does_not_take_outputs_is_retried_and_counted(self) -> None:
        """An output failure is retried without marking Redis unavailable."""
        guard = guard_over(Redis())
        attempts: list[int] = []

        async def publish() -> str:
            attempts.append(1)
            if len(attempts) < 3:
                raise OutputUnavailableError("not enough replicas")
            return "published"

        assert await guard.retrying(publish) == "published"
        assert (len(attempts), guard.health.unavailable) == (3, False)
