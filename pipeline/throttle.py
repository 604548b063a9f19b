"""A cap on how fast one worker takes in records.

A history replay or a backlog after an outage would otherwise run every worker flat out
against a Redis that live traffic and other services share; operators cap the intake per
worker instead. The cap is shared by all input agents of a worker (one bucket), and
bursts of up to one second's worth are allowed so small batches do not pay a wait each.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class IntakeThrottle:
    """Token bucket: ``await take(n)`` returns once ``n`` records fit under the rate.

    A rate of 0 (the default setting) means no cap; ``take`` then returns at once.
    """

    def __init__(
        self,
        records_per_second: float,
        *,
        clock: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if records_per_second < 0:
            raise ValueError("records_per_second must be >= 0")
        self._rate = records_per_second
        self._burst = records_per_second  # one second's worth
        self._clock = clock
        self._sleep = sleep
        self._tokens = self._burst
        self._updated = clock()

    @property
    def unlimited(self) -> bool:
        return self._rate == 0

    async def take(self, records: int) -> float:
        """Wait until ``records`` may pass; returns the seconds waited (0 when under the cap)."""
        if self.unlimited or records <= 0:
            return 0.0
        self._refill()
        self._tokens -= records  # may go negative: a batch larger than the burst waits its share
        if self._tokens >= 0:
            return 0.0
        wait_s = -self._tokens / self._rate
        await self._sleep(wait_s)
        self._refill()
        return wait_s

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
