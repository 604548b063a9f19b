"""The capacity replayed offline on the integration test's candidate stream: ticks, limits, shares."""

from __future__ import annotations

from collections import Counter

from bench.capacity_replay import (
    StreamedCandidate,
    alert_ticks,
    daily_shares,
    kafka_partition,
    per_group_bound,
    read_candidates,
    replay,
)
from policy.capacity_budget import CapacityConfig
from schemas.event_days import day_date

CAPACITY, PARTITIONS, WARM_UP_DAYS = 280, 4, 8  # as tests/integration/test_capacity.py
CONFIG = CapacityConfig(daily_alerts=CAPACITY)


class TestAlertTicks:
    def test_an_event_behind_its_topic_is_taken_in_the_later_tick(self) -> None:
        """A call at 09:10 read after a call at 11:05 of the same partition is applied at 11:00,
        so the alert dated 09:10 is decided in the 11:00 tick; a sweep alert has no tick."""
        customer, other = "C0000001", "C0000002"
        partition = kafka_partition(customer, PARTITIONS)
        while kafka_partition(other, PARTITIONS) != partition:
            other = f"C{int(other[1:]) + 1:07d}"
        events = [
            {"type": "call", "customer_id": other, "event_time": "2026-03-02T11:05:00Z"},
            {"type": "call", "customer_id": customer, "event_time": "2026-03-02T09:10:00Z"},
        ]
        alerts = [
            {"alert_id": "late", "customer_id": customer, "event_time": "2026-03-02T09:10:00Z"},
            {"alert_id": "swept", "customer_id": customer, "event_time": "2026-03-02T23:59:59.999999Z"},
        ]
        ticks = alert_ticks(events, alerts, PARTITIONS)
        assert ticks["swept"] is None
        assert ticks["late"] is not None
        assert ticks["late"] % 24 == 11


class TestFixtureReplay:
    candidates: list[StreamedCandidate] = read_candidates()

    def test_no_day_sends_more_than_n(self) -> None:
        """The capacity holds on every event-time day, and every group keeps to its share."""
        result = replay(self.candidates, CONFIG, PARTITIONS)
        per_day = Counter(c.day for c in self.candidates if c.key in result.sent)
        assert max(per_day.values()) <= CAPACITY
        assert all(g.sent <= g.budget for g in result.group_days)

    def test_after_the_warm_up_every_day_keeps_90_percent_of_its_top_n(self) -> None:
        """The integration test's month, replayed offline: >= 90 % of each day's top N."""
        result = replay(self.candidates, CONFIG, PARTITIONS)
        shares = list(daily_shares(self.candidates, result.sent, CAPACITY).items())[WARM_UP_DAYS:]
        assert min(share for _, share in shares) >= 0.9, [(day_date(d), round(s, 3)) for d, s in shares]

    def test_no_day_beats_each_group_taking_its_own_best(self) -> None:
        """Groups decide alone: each group's own true top is the most any such choice can hold."""
        result = replay(self.candidates, CONFIG, PARTITIONS)
        shares = daily_shares(self.candidates, result.sent, CAPACITY)
        bound = per_group_bound(self.candidates, CONFIG, PARTITIONS)
        assert all(shares[day] <= bound[day] + 1e-9 for day in shares)
