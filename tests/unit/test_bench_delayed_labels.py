"""Delayed churn labels: crafted timelines, and a brute-force reference over random ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.delayed_labels import DelayedLabels, ResolvedExample
from bench.errors import BenchError

T0 = datetime(2026, 1, 1, tzinfo=UTC)
H = timedelta(days=30)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def outcome(example: ResolvedExample[None]) -> tuple[str, bool, datetime]:
    return example.snapshot_id, example.churned, example.resolved_at


class TestDelayedLabels:
    def test_churn_inside_the_horizon_is_positive_at_the_churn_time(self) -> None:
        """A snapshot at t, churn at t + 10 days: positive, resolved at the churn."""
        labels = DelayedLabels[None](H)
        labels.keep("s", "c", day(0), None)
        labels.churn("c", day(10))
        assert [outcome(e) for e in labels.resolved()] == [("s", True, day(10))]

    def test_churn_exactly_at_the_horizon_end_is_positive(self) -> None:
        """The horizon (t, t + H] includes its end."""
        labels = DelayedLabels[None](H)
        labels.keep("s", "c", day(0), None)
        labels.churn("c", day(30))
        assert [outcome(e) for e in labels.resolved()] == [("s", True, day(30))]

    def test_churn_after_the_horizon_is_negative_at_the_horizon_end(self) -> None:
        """Churn at t + 31 days, seen before the watermark moved: still negative, resolved at t + H."""
        labels = DelayedLabels[None](H)
        labels.keep("s", "c", day(0), None)
        labels.churn("c", day(31))
        assert [outcome(e) for e in labels.resolved()] == [("s", False, day(30))]

    def test_nothing_resolves_while_the_horizon_is_open(self) -> None:
        """Without churn a snapshot stays pending until event time passes t + H."""
        labels = DelayedLabels[None](H)
        labels.keep("s", "c", day(0), None)
        labels.advance(day(30))
        assert labels.resolved() == []
        assert labels.pending == 1
        labels.advance(day(30) + timedelta(microseconds=1))
        assert [outcome(e) for e in labels.resolved()] == [("s", False, day(30))]

    def test_a_churn_labels_only_that_customers_earlier_snapshots(self) -> None:
        """Other customers and later snapshots are untouched by a churn."""
        labels = DelayedLabels[None](H)
        labels.keep("c:0", "c", day(0), None)
        labels.keep("d:0", "d", day(0), None)
        labels.keep("c:5", "c", day(5), None)
        labels.churn("c", day(5))
        assert [outcome(e) for e in labels.resolved()] == [("c:0", True, day(5))]
        assert labels.pending == 2

    def test_a_reactivated_customer_can_churn_again(self) -> None:
        """Snapshots after a reactivation are labelled by the next churn only."""
        labels = DelayedLabels[None](H)
        labels.keep("c:0", "c", day(0), None)
        labels.churn("c", day(2))
        labels.keep("c:20", "c", day(20), None)
        labels.churn("c", day(40))
        assert [outcome(e) for e in labels.resolved()] == [("c:0", True, day(2)), ("c:20", True, day(40))]

    def test_replayed_churn_resolves_nothing_twice(self) -> None:
        """A duplicated churn event finds nothing pending the second time."""
        labels = DelayedLabels[None](H)
        labels.keep("s", "c", day(0), None)
        labels.churn("c", day(3))
        labels.churn("c", day(3))
        assert len(labels.resolved()) == 1

    def test_resolved_examples_are_handed_out_once_in_resolution_order(self) -> None:
        """Resolution time first, snapshot id on ties; a second call returns only what is new."""
        labels = DelayedLabels[None](H)
        labels.keep("b", "c2", day(0), None)
        labels.keep("a", "c1", day(0), None)
        labels.keep("z", "c3", day(1), None)
        labels.churn("c3", day(2))
        labels.advance(day(31))
        assert [e.snapshot_id for e in labels.resolved()] == ["z", "a", "b"]
        assert labels.resolved() == []

    def test_event_time_cannot_go_back(self) -> None:
        """Advancing to an earlier time is a bug in the caller."""
        labels = DelayedLabels[None](H)
        labels.advance(day(5))
        with pytest.raises(BenchError):
            labels.advance(day(4))

    @given(
        st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 90)), max_size=40),
        st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 120 * 24)), max_size=6),
    )
    def test_matches_a_brute_force_labelling(
        self, snapshots: list[tuple[str, int]], churn_hours: list[tuple[str, int]]
    ) -> None:
        """Day by day, each snapshot takes its first churn in (t, t + H], else a negative at t + H."""
        churns = sorted((T0 + timedelta(hours=h), c) for c, h in churn_hours)
        kept = sorted({(day(d), c) for c, d in snapshots})
        labels = DelayedLabels[None](H)
        got = []
        for today in range(130):
            for at, customer in kept:
                if at == day(today):
                    labels.keep(f"{customer}:{today}", customer, at, None)
            for at, customer in churns:
                if day(today) <= at < day(today + 1):
                    labels.churn(customer, at)
            labels.advance(day(today + 1))
            got.extend(outcome(e) for e in labels.resolved())
        expected = []
        for at, customer in kept:
            first = next((c_at for c_at, c in churns if c == customer and at < c_at <= at + H), None)
            name = f"{customer}:{(at - T0).days}"
            expected.append((name, True, first) if first else (name, False, at + H))
        assert sorted(got) == sorted(expected)
