"""Throughput, ratio and percentile arithmetic of the benchmark."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.stats import events_per_s, percentile, ratio

finite_values = st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=1, max_size=200)


class TestPercentile:
    def test_median_of_even_count_interpolates_between_the_middle_values(self) -> None:
        """The 0.5 quantile of 1..4 lies halfway between 2 and 3."""
        assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5

    def test_extremes_are_minimum_and_maximum(self) -> None:
        """Quantiles 0 and 1 are the smallest and largest samples."""
        assert (percentile([3.0, 9.0, 1.0], 0.0), percentile([3.0, 9.0, 1.0], 1.0)) == (1.0, 9.0)

    def test_p99_of_one_to_hundred_is_near_the_top(self) -> None:
        """With 100 samples 1..100, p99 interpolates between 99 and 100 like numpy does."""
        assert percentile([float(v) for v in range(1, 101)], 0.99) == pytest.approx(99.01)

    def test_no_samples_give_nan(self) -> None:
        """An empty sample has no percentile."""
        assert math.isnan(percentile([], 0.99))

    def test_fraction_outside_unit_interval_is_rejected(self) -> None:
        """Percentiles are asked as fractions, so 99 (a percent) is an error."""
        with pytest.raises(ValueError, match="fraction=99"):
            percentile([1.0], 99)

    @given(finite_values, st.floats(min_value=0.0, max_value=1.0))
    def test_percentile_lies_within_the_sample_range(self, values: list[float], fraction: float) -> None:
        """Every quantile lies between the sample's minimum and maximum."""
        assert min(values) - 1e-6 <= percentile(values, fraction) <= max(values) + 1e-6

    @given(finite_values, st.floats(min_value=0.0, max_value=1.0), st.floats(min_value=0.0, max_value=1.0))
    def test_percentile_does_not_fall_as_the_fraction_rises(
        self, values: list[float], first: float, second: float
    ) -> None:
        """A higher fraction never gives a lower quantile."""
        low, high = sorted((first, second))
        assert percentile(values, low) <= percentile(values, high) + 1e-6

    @given(finite_values)
    def test_percentile_ignores_sample_order(self, values: list[float]) -> None:
        """Quantiles depend on the values only, not on their order."""
        assert percentile(values, 0.99) == percentile(list(reversed(values)), 0.99)


class TestRates:
    def test_events_per_s_divides_count_by_window(self) -> None:
        """200k events in 8 s is 25k events/s."""
        assert events_per_s(200_000, 8.0) == 25_000.0

    def test_empty_window_gives_zero_rate(self) -> None:
        """A run whose window has no length measured nothing."""
        assert events_per_s(10, 0.0) == 0.0

    def test_ratio_without_a_denominator_is_nan(self) -> None:
        """A ratio against an unmeasured baseline is reported as unknown, not as infinity."""
        assert math.isnan(ratio(5.0, 0.0))

    def test_ratio_divides(self) -> None:
        """Pipeline 16k over Faust 20k is 0.8."""
        assert ratio(16_000.0, 20_000.0) == pytest.approx(0.8)
