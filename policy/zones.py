"""Warning zones: where a score puts a customer, given enough history to judge."""

from __future__ import annotations

from features.vector import FeatureVector
from policy.config import PolicyConfig
from schemas.outputs import Zone


def zone_for(score: float, features: FeatureVector, config: PolicyConfig) -> Zone:
    """The zone of ``score`` (lower bounds inclusive); white below ``min_history_days``.

    Short histories are white whatever the score: the 30-day and trend features are
    not yet comparable to the customer's own past.

    >>> from dataclasses import replace
    >>> from datetime import UTC, datetime
    >>> v = replace(FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC)), history_days=90)
    >>> [zone_for(s, v, PolicyConfig()).value for s in (0.1, 0.2, 0.5, 0.7)]
    ['blue', 'green', 'yellow', 'red']
    >>> zone_for(0.9, replace(v, history_days=3), PolicyConfig()).value
    'white'
    """
    return zone_of(score, features.history_days, config)


def zone_of(score: float, history_days: float, config: PolicyConfig) -> Zone:
    """``zone_for`` from the history length alone (a snapshot's features, an export).

    >>> zone_of(0.5, 90.0, PolicyConfig()).value, zone_of(0.5, 3.0, PolicyConfig()).value
    ('yellow', 'white')
    """
    if not history_days >= config.min_history_days:
        return Zone.WHITE
    if score >= config.red_min_score:
        return Zone.RED
    if score >= config.yellow_min_score:
        return Zone.YELLOW
    if score >= config.green_min_score:
        return Zone.GREEN
    return Zone.BLUE
