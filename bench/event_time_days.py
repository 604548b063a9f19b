"""A simulation's events regrouped by event-time day, as a worker with allowed lateness sees them.

The simulator emits events in arrival order: some late, a few later than the allowed
lateness, some twice. A day is released once the watermark (the latest event time seen
minus the lateness) has passed its end; its events come out sorted by event time, each
validated against its contract (``schemas.parsing.parse_event``, as the worker does),
counterparties pseudonymised as on ingest, and given a source position (offsets rise
in release order, so the store never takes one for a replay). An
event whose day was already released is too late and is counted, not applied, as the
worker dead-letters it. Duplicates are passed on: the feature store skips them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson

from features.decay import DAY_US
from features.pseudonym import pseudonymise_call
from features.records import epoch_us
from features.store import PositionedEvent, SourcePosition
from schemas.events import CallEvent, EventType, InputEvent
from schemas.parsing import Rejection, parse_event
from sim.simulate import Simulation

BENCH_PSEUDONYM_KEY = b"churnwatch-bench"
"""Pseudonymisation key of offline runs (any fixed key keeps the contact counts the same)."""
_MAX_RECORD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class DayOfEvents:
    """Every accepted event of one event-time day, sorted by event time (ties: arrival order)."""

    day: int
    start: datetime
    events: tuple[PositionedEvent, ...]

    @property
    def end(self) -> datetime:
        """The start of the next day (exclusive)."""
        return self.start + timedelta(days=1)


@dataclass(slots=True)
class FeedCounts:
    """What the feed saw: events read, rejected by their contract, too late, after the last day."""

    events: int = 0
    rejected: int = 0
    too_late: int = 0
    outside_history: int = 0
    per_day: list[int] = field(default_factory=list)


def event_time_days(
    simulation: Simulation, lateness: timedelta, counts: FeedCounts | None = None
) -> Iterator[DayOfEvents]:
    """Days ``0 .. simulation.days - 1`` in order, each once, empty days included.

    >>> from datetime import UTC
    >>> sim = Simulation(3, 4, seed=1, start=datetime(2026, 1, 5, tzinfo=UTC))
    >>> days = list(event_time_days(sim, timedelta(days=3)))
    >>> [d.day for d in days], days[0].events[0].event.event_time <= days[0].events[-1].event.event_time
    ([0, 1, 2, 3], True)
    """
    counts = counts if counts is not None else FeedCounts()
    start_us = epoch_us(simulation.start)
    lateness_us = lateness // timedelta(microseconds=1)
    pending: dict[int, list[tuple[int, int, InputEvent]]] = {}
    offsets: dict[str, int] = {}
    next_day = 0
    latest_us = start_us
    for arrival, raw in enumerate(simulation.events()):
        counts.events += 1
        event_type = EventType(raw.pop("type"))
        parsed = parse_event(orjson.dumps(raw), event_type, _MAX_RECORD_BYTES)
        if isinstance(parsed, Rejection):
            counts.rejected += 1
            continue
        if isinstance(parsed, CallEvent):
            parsed = pseudonymise_call(parsed, BENCH_PSEUDONYM_KEY)
        at_us = epoch_us(parsed.event_time)
        day = (at_us - start_us) // DAY_US
        if day < next_day:
            counts.too_late += 1
            continue
        if day >= simulation.days:
            counts.outside_history += 1
            continue
        pending.setdefault(day, []).append((at_us, arrival, parsed))
        latest_us = max(latest_us, at_us)
        while next_day < simulation.days and latest_us - lateness_us >= start_us + (next_day + 1) * DAY_US:
            yield _release(simulation, next_day, pending.pop(next_day, []), offsets, counts)
            next_day += 1
    while next_day < simulation.days:
        yield _release(simulation, next_day, pending.pop(next_day, []), offsets, counts)
        next_day += 1


def _release(
    simulation: Simulation,
    day: int,
    events: list[tuple[int, int, InputEvent]],
    offsets: dict[str, int],
    counts: FeedCounts,
) -> DayOfEvents:
    events.sort(key=lambda item: (item[0], item[1]))
    positioned = []
    for _, _, event in events:
        topic = f"bench.{event.type}"
        offset = offsets.get(topic, 0)
        offsets[topic] = offset + 1
        positioned.append(PositionedEvent(event, SourcePosition(topic, 0, offset)))
    counts.per_day.append(len(positioned))
    return DayOfEvents(day, simulation.start + timedelta(days=day), tuple(positioned))
