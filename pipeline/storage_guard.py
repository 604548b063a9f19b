"""Whether this worker may go on writing: Redis reachable, and still holding what it wrote.

Redis outages are waited out with backoff (records stop being taken meanwhile, since the
conductor holds its one lock through every step) until ``StorageHealth``'s limit; after
each failure the group's marker and the recorded progress are checked again before going
on, so a Redis that came back empty or older is noticed and processing stops instead of
going on wrong. The broker not taking outputs is waited out the same way, without limit:
a stalled partition beats a lost record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from pipeline.storage_health import RETRY_BACKOFF_S, StorageHealth
from schemas.errors import OutputUnavailableError, StorageDataLostError, StorageUnavailableError
from store.progress import ProgressStore
from streams.metrics import PipelineMetrics
from streams.records import PartitionProgress, TopicPartition

CommittedOffsets = Callable[[Sequence[TopicPartition]], Awaitable[Mapping[TopicPartition, int]]]
"""The consumer group's committed offsets of these partitions (absent or -1: none)."""

log = logging.getLogger(__name__)
_T = TypeVar("_T")


class StorageGuard:
    """The group's marker, the progress this worker recorded, and the retry loop that checks them.

    ``owns`` says whether this worker still owns a partition (only owned partitions'
    progress is checked).
    """

    def __init__(
        self,
        health: StorageHealth,
        progress: ProgressStore,
        committed: CommittedOffsets,
        owns: Callable[[TopicPartition], bool],
        metrics: PipelineMetrics,
        clock: Callable[[], datetime],
    ) -> None:
        self.health = health
        self._progress = progress
        self._committed = committed
        self._owns = owns
        self._metrics = metrics
        self._clock = clock
        self._recorded: dict[TopicPartition, PartitionProgress] = {}  # what Redis must still hold
        self._marker_known = False

    @property
    def data_lost(self) -> str | None:
        return self.health.data_lost

    @property
    def marker_known(self) -> bool:
        return self._marker_known

    def recorded(self, progress: Mapping[TopicPartition, PartitionProgress]) -> None:
        """Progress now in Redis (restored or written): a later check expects at least it."""
        self._recorded.update(progress)

    def forget(self, tp: TopicPartition) -> None:
        self._recorded.pop(tp, None)

    async def check_marker(
        self, tps: Sequence[TopicPartition], restored: Mapping[TopicPartition, PartitionProgress]
    ) -> None:
        """On first assignment: a marker, or progress (written by an older version), or a fresh group.

        Without either, committed offsets mean Redis lost what this group wrote.
        """
        if await self._progress.marker() is None:
            if not restored:
                committed = await self._committed(tps)
                behind = {tp: offset for tp, offset in committed.items() if offset > 0}
                if behind:
                    self.lose(
                        f"the consumer group has committed offsets ({len(behind)} partitions) but Redis "
                        f"holds neither its marker nor its progress"
                    )
            await self._progress.write_marker(self._clock().isoformat())
        self._marker_known = True

    async def verify(self) -> None:
        """Raises ``StorageDataLostError`` if the marker or recorded progress is gone or older."""
        if self._marker_known and await self._progress.marker() is None:
            self.lose("the consumer group's marker is gone (Redis restarted without its data?)")
        owned = sorted(tp for tp in self._recorded if self._owns(tp))
        if not owned:
            return
        stored = await self._progress.load(owned)
        for tp in owned:
            expected = self._recorded[tp]
            found = stored.get(tp)
            if found is None or found.next_offset < expected.next_offset:
                self.lose(
                    f"progress of {tp[0]}[{tp[1]}] went back from offset {expected.next_offset} to "
                    f"{found.next_offset if found else 'nothing'} (Redis restored an older state?)"
                )

    def lose(self, reason: str) -> None:
        self.health.lost(reason)
        raise StorageDataLostError(reason)

    async def hold_if_halted(self) -> None:
        """After data loss, agents wait here (taking nothing) until the worker is stopped."""
        if self.health.data_lost:
            await asyncio.Event().wait()

    async def retrying(self, step: Callable[[], Awaitable[_T]]) -> _T:
        """Run a step until Redis and the broker take it: a stalled partition beats a lost record.

        After a Redis failure, the next attempt first checks that Redis still holds the
        group's marker and progress (it may have come back empty or from an older state).
        """
        attempt = 0
        while True:
            delay = RETRY_BACKOFF_S[min(attempt, len(RETRY_BACKOFF_S) - 1)]
            try:
                if self.health.unavailable:
                    await self.verify()
                result = await step()
            except StorageUnavailableError as error:
                self.health.note_error()
                outage_s = self.health.failed()
                log.warning(
                    "Redis unavailable for %.1f s (attempt %d), retrying in %.2f s: %s",
                    outage_s,
                    attempt + 1,
                    delay,
                    error,
                )
            except OutputUnavailableError as error:
                self._metrics.publish_errors.inc()
                log.warning(
                    "broker did not take outputs (attempt %d), retrying in %.2f s: %s",
                    attempt + 1,
                    delay,
                    error,
                )
            else:
                self.health.recovered()
                return result
            attempt += 1
            await asyncio.sleep(delay)
