"""Customer value: the tier from rolling 90-day revenue, and the revenue a churn would lose."""

from __future__ import annotations

import math

from policy.config import PolicyConfig
from schemas.outputs import ValueTier

WINDOW_DAYS = 90.0  # revenue_90d covers (a decayed) 90 days


def value_tier(revenue_90d: float, config: PolicyConfig) -> ValueTier:
    """Tier by revenue lower bounds (inclusive); below ``low`` is unprofitable.

    >>> [value_tier(r, PolicyConfig()).value for r in (500, 150, 50, 20, 3)]
    ['key', 'high', 'medium', 'low', 'unprofitable']
    """
    revenue = _usable(revenue_90d)
    if revenue >= config.key_min_revenue_90d:
        return ValueTier.KEY
    if revenue >= config.high_min_revenue_90d:
        return ValueTier.HIGH
    if revenue >= config.medium_min_revenue_90d:
        return ValueTier.MEDIUM
    if revenue >= config.low_min_revenue_90d:
        return ValueTier.LOW
    return ValueTier.UNPROFITABLE


def expected_revenue(revenue_90d: float, config: PolicyConfig) -> float:
    """Revenue lost if the customer leaves: the 90-day rate over ``value_horizon_days``.

    >>> expected_revenue(90.0, PolicyConfig(value_horizon_days=180))
    180.0
    """
    return _usable(revenue_90d) / WINDOW_DAYS * config.value_horizon_days


def _usable(revenue_90d: float) -> float:
    """Negative or NaN revenue counts as none; infinity is capped to keep sums finite."""
    if math.isnan(revenue_90d):
        return 0.0
    return min(max(revenue_90d, 0.0), 1e12)
