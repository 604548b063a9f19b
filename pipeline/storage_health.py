"""What a worker knows about its Redis right now: reachable, and still holding what it wrote.

The coordinator reports failures and recoveries here; ``/ready`` and the metrics read it.
An outage longer than the configured limit ends the worker cleanly (a restart continues
exactly where progress says); data that Redis lost stops the worker from going on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from schemas.errors import StorageOutageError, StorageUnavailableError
from streams.metrics import PipelineMetrics

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_BACKOFF_S = (0.05, 0.2, 0.5, 1.0, 2.0, 5.0)


class StorageHealth:
    """Outage and data-loss state of Redis as seen by one worker.

    >>> from streams.metrics import PipelineMetrics
    >>> clock = iter([0.0, 1.0, 2.5]).__next__
    >>> health = StorageHealth(PipelineMetrics(), max_outage_s=60.0, clock=clock)
    >>> health.failed()
    0.0
    >>> health.problem
    'redis unavailable'
    >>> health.recovered()
    >>> health.problem is None
    True
    """

    def __init__(
        self, metrics: PipelineMetrics, max_outage_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._metrics = metrics
        self._max_outage_s = max_outage_s
        self._clock = clock
        self._unavailable_since: float | None = None
        self.data_lost: str | None = None

    @property
    def unavailable(self) -> bool:
        return self._unavailable_since is not None

    @property
    def problem(self) -> str | None:
        """Why the worker is not ready because of Redis, or None."""
        if self.data_lost is not None:
            return f"redis lost data: {self.data_lost}"
        if self._unavailable_since is not None:
            return "redis unavailable"
        return None

    def failed(self) -> float:
        """Note a failed Redis step; returns the outage's length so far (seconds).

        Raises ``StorageOutageError`` once the outage is longer than the limit.
        """
        now = self._clock()
        if self._unavailable_since is None:
            self._unavailable_since = now
            self._metrics.redis_outages.inc()
            self._metrics.redis_unavailable.set(1)
        elapsed_s = now - self._unavailable_since
        if elapsed_s > self._max_outage_s:
            raise StorageOutageError(
                f"Redis unreachable for {elapsed_s:.0f} s (limit CHURNWATCH_REDIS__MAX_OUTAGE_S="
                f"{self._max_outage_s:.0f}): exiting; a restart continues from the recorded progress"
            )
        return elapsed_s

    def note_error(self) -> None:
        """Count one failed Redis call."""
        self._metrics.redis_errors.inc()

    def recovered(self) -> None:
        """Note a Redis step that succeeded; ends an outage if one was going on."""
        if self._unavailable_since is None:
            return
        elapsed_s = self._clock() - self._unavailable_since
        self._unavailable_since = None
        self._metrics.redis_unavailable.set(0)
        self._metrics.redis_outage_seconds.inc(elapsed_s)
        log.warning("Redis reachable again after an outage of %.1f s", elapsed_s)

    def lost(self, reason: str) -> None:
        """Redis no longer holds this group's data: say so once, loudly, and stay not ready."""
        if self.data_lost is None:
            self._metrics.redis_data_lost.set(1)
            log.error(
                "Redis lost data (%s): processing stopped. Stop every worker of this consumer group, "
                "run `churnwatch rebuild`, then start them again (docs/production.md, "
                "'Redis lost its data')",
                reason,
            )
        self.data_lost = reason


async def retrying_redis(step: Callable[[], Awaitable[T]], health: StorageHealth, what: str) -> T:
    """Run a Redis step until it succeeds, with backoff; ``health`` ends it past the outage limit."""
    attempt = 0
    while True:
        try:
            result = await step()
        except StorageUnavailableError as error:
            health.note_error()
            outage_s = health.failed()
            delay = RETRY_BACKOFF_S[min(attempt, len(RETRY_BACKOFF_S) - 1)]
            log.warning(
                "Redis unavailable for %.1f s (%s, attempt %d), retrying in %.2f s: %s",
                outage_s,
                what,
                attempt + 1,
                delay,
                error,
            )
            attempt += 1
            await asyncio.sleep(delay)
        else:
            health.recovered()
            return result
