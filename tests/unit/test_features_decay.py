"""Decay maths: order-independent decayed sums and the clamped trend ratio."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from features.decay import (
    DAY_US,
    MIN_TREND_HISTORY_DAYS,
    TREND_MAX,
    decay_weight,
    decayed_add,
    exposure_days,
    trend,
)

events_strategy = st.lists(
    st.tuples(st.floats(0, 1000, allow_nan=False), st.integers(0, 200 * DAY_US)),
    min_size=1,
    max_size=30,
)


class TestDecayedSum:
    @given(events_strategy, st.randoms())
    def test_result_does_not_depend_on_the_order_of_additions(
        self, events: list[tuple[float, int]], random: object
    ) -> None:
        """Adding the same events in any order gives the same (total, reference)."""
        shuffled = list(events)
        random.shuffle(shuffled)  # type: ignore[attr-defined]

        def fold(items: list[tuple[float, int]]) -> tuple[float, float]:
            total, reference = 0.0, -math.inf
            for amount, at_us in items:
                total, reference = decayed_add(total, reference, amount, at_us, 30)
            return total, reference

        (first, first_reference), (second, second_reference) = fold(events), fold(shuffled)
        assert first_reference == second_reference
        assert math.isclose(first, second, rel_tol=1e-12, abs_tol=1e-12)

    @given(events_strategy)
    def test_total_equals_the_direct_sum_at_the_latest_time(self, events: list[tuple[float, int]]) -> None:
        """The incremental total is sum(v * exp(-(T - t) / tau)) with T the latest time."""
        total, reference = 0.0, -math.inf
        for amount, at_us in events:
            total, reference = decayed_add(total, reference, amount, at_us, 7)
        direct = math.fsum(amount * decay_weight(reference - at, 7) for amount, at in events)
        assert math.isclose(total, direct, rel_tol=1e-12, abs_tol=1e-12)

    def test_steady_daily_traffic_approximates_the_window_sum(self) -> None:
        """One unit a day for a long time sums to about N units in an N-day decayed sum."""
        total = math.fsum(decay_weight(day * DAY_US, 30) for day in range(2000))
        assert math.isclose(total, 30.5, rel_tol=0.01)


LONG_HISTORY_DAYS = 10_000.0
"""Long enough that the 30- and 90-day exposures are 30 and 90 days."""


class TestExposure:
    @given(st.floats(0.0, 1000.0), st.sampled_from([7.0, 30.0, 90.0]))
    def test_exposure_is_the_decayed_sum_of_one_unit_a_day(self, days: float, tau: float) -> None:
        """tau * (1 - exp(-T/tau)) matches a fine midpoint sum of exp(-age/tau) over [0, T]."""
        steps = 10_000
        width = days / steps
        direct = math.fsum(width * math.exp(-(k + 0.5) * width / tau) for k in range(steps))
        assert math.isclose(exposure_days(tau, days), direct, rel_tol=2e-5, abs_tol=1e-9)


class TestTrend:
    @pytest.mark.parametrize("history_days", [14.0, 20.0, 35.0, 60.0, 90.0, 180.0, 720.0])
    def test_steady_rate_is_flat_at_any_history_length(self, history_days: float) -> None:
        """Sums of steady traffic over a finite history give a trend of 0, not a spurious rise."""
        s30, s90 = 4.0 * exposure_days(30, history_days), 4.0 * exposure_days(90, history_days)
        assert abs(trend(s30, s90, history_days)) < 1e-9

    def test_halved_rate_is_minus_half(self) -> None:
        """Half the earlier rate in the last 30 days of a long history is -0.5."""
        assert math.isclose(trend(15.0, 75.0, LONG_HISTORY_DAYS), -0.5)

    def test_stopped_activity_is_minus_one(self) -> None:
        """Nothing in the last 30 days after earlier activity is -1."""
        assert trend(0.0, 10.0, LONG_HISTORY_DAYS) == -1.0

    def test_new_activity_without_history_is_the_upper_clamp(self) -> None:
        """Activity with no earlier rate (x/0) is TREND_MAX."""
        assert trend(4.0, 4.0, LONG_HISTORY_DAYS) == TREND_MAX

    def test_no_activity_at_all_is_flat(self) -> None:
        """0/0 is defined as 0: nothing to compare."""
        assert trend(0.0, 0.0, LONG_HISTORY_DAYS) == 0.0

    @given(st.floats(0.0, MIN_TREND_HISTORY_DAYS, exclude_max=True), st.floats(0, 1e6), st.floats(0, 1e6))
    def test_history_shorter_than_the_minimum_has_no_trend(
        self, history_days: float, recent: float, earlier: float
    ) -> None:
        """Below MIN_TREND_HISTORY_DAYS there is no earlier period, so the trend is 0."""
        assert trend(recent, recent + earlier, history_days) == 0.0

    @given(st.floats(0, 1e6), st.floats(0, 1e6), st.floats(0.0, 1e5))
    def test_trend_stays_within_its_clamp(self, recent: float, earlier: float, history_days: float) -> None:
        """Any non-negative sums and history give a trend in [-1, TREND_MAX]."""
        assert -1.0 <= trend(recent, recent + earlier, history_days) <= TREND_MAX
