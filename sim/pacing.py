"""Publish pacing: full speed, a fixed number of events per second, or compressed event time.

Pacers sleep only when ahead of schedule, so a slow sink never builds a backlog of sleeps.
Clock and sleep are injectable so tests run without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

_MIN_SLEEP_S = 0.002


class Pacer(Protocol):
    """Called before each event is published; returns when it may go."""

    async def wait(self, event_time_s: float) -> None: ...


class FullSpeed:
    """No waiting at all (``--max``)."""

    async def wait(self, event_time_s: float) -> None:
        return None


class FixedRate:
    """``events_per_s`` events per wall-clock second on average (``--rate``)."""

    def __init__(
        self, events_per_s: float, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        if events_per_s <= 0:
            raise ValueError(f"events_per_s={events_per_s}: must be positive")
        self._interval_s = 1.0 / events_per_s
        self._clock = clock
        self._sleep = sleep
        self._started_s: float | None = None
        self._sent = 0

    async def wait(self, event_time_s: float) -> None:
        now = self._clock()
        if self._started_s is None:
            self._started_s = now
        due_s = self._started_s + self._sent * self._interval_s
        self._sent += 1
        if due_s - now >= _MIN_SLEEP_S:
            await self._sleep(due_s - now)


class EventTimeSpeedup:
    """Event time runs ``speedup`` times faster than the wall clock (``--speedup``).

    The first event anchors both clocks; an event earlier than the latest one seen (a late
    arrival) goes at once, as it would in production.
    """

    def __init__(self, speedup: float, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        if speedup <= 0:
            raise ValueError(f"speedup={speedup}: must be positive")
        self._speedup = speedup
        self._clock = clock
        self._sleep = sleep
        self._anchor: tuple[float, float] | None = None

    async def wait(self, event_time_s: float) -> None:
        now = self._clock()
        if self._anchor is None:
            self._anchor = (now, event_time_s)
            return
        wall_start_s, event_start_s = self._anchor
        due_s = wall_start_s + (event_time_s - event_start_s) / self._speedup
        if due_s - now >= _MIN_SLEEP_S:
            await self._sleep(due_s - now)
