"""A simulation regrouped by event-time day: ordered, complete, lateness enforced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.event_time_days import FeedCounts, event_time_days
from sim.config import SimConfig
from sim.simulate import Simulation

START = datetime(2026, 1, 5, tzinfo=UTC)


def simulation(config: SimConfig | None = None) -> Simulation:
    return Simulation(40, 12, seed=3, start=START, config=config)


class TestEventTimeDays:
    def test_every_day_comes_once_in_order_with_its_own_events_sorted_by_time(self) -> None:
        """Day n holds only events of day n, in event-time order."""
        days = list(event_time_days(simulation(), timedelta(days=3)))
        assert [d.day for d in days] == list(range(12))
        for d in days:
            times = [p.event.event_time for p in d.events]
            assert times == sorted(times)
            assert all(d.start <= t < d.end for t in times)

    def test_offsets_rise_per_topic_in_release_order(self) -> None:
        """The store would take a falling offset for a replay, so offsets must only rise."""
        last: dict[str, int] = {}
        for d in event_time_days(simulation(), timedelta(days=3)):
            for positioned in d.events:
                position = positioned.position
                assert position.offset > last.get(position.topic, -1)
                last[position.topic] = position.offset

    def test_events_later_than_the_lateness_are_counted_not_applied(self) -> None:
        """With no lateness allowed, late arrivals are too late; within the simulator's lateness, none are."""
        config = SimConfig(late_share=0.2, too_late_share=0.0, duplicate_share=0.0)
        strict, relaxed = FeedCounts(), FeedCounts()
        strict_applied = sum(len(d.events) for d in event_time_days(simulation(config), timedelta(0), strict))
        relaxed_applied = sum(
            len(d.events) for d in event_time_days(simulation(config), timedelta(days=3), relaxed)
        )
        assert strict.too_late > 0
        assert relaxed.too_late == 0
        assert relaxed.rejected == 0  # go-live profiles included: the contract takes them
        assert strict_applied + strict.too_late == relaxed_applied == relaxed.events
