"""Throughput, ratio and percentile arithmetic of the benchmark (pure, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def events_per_s(events: int, elapsed_s: float) -> float:
    """Throughput over a measured window; 0 when the window is empty.

    >>> events_per_s(200_000, 10.0)
    20000.0
    >>> events_per_s(5, 0.0)
    0.0
    """
    return events / elapsed_s if elapsed_s > 0 else 0.0


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN when the denominator is not positive (no measurement).

    >>> ratio(8.0, 10.0)
    0.8
    >>> math.isnan(ratio(1.0, 0.0))
    True
    """
    return numerator / denominator if denominator > 0 else math.nan


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (0..1) with linear interpolation between order statistics.

    Same definition as ``numpy.percentile``'s default; NaN for no values.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5)
    2.5
    >>> round(percentile([5.0, 1.0, 3.0], 0.99), 6)
    4.96
    >>> math.isnan(percentile([], 0.5))
    True
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction={fraction}: must be within 0..1")
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    below = math.floor(rank)
    above = min(below + 1, len(ordered) - 1)
    weight = rank - below
    return ordered[below] * (1.0 - weight) + ordered[above] * weight
