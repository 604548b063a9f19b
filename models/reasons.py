"""Reasons as an alert carries them: a code, its sentence and its weight, strongest first."""

from __future__ import annotations

from collections.abc import Iterable

from features.vector import FeatureVector
from models.reason_codes import ReasonCode
from models.reason_texts import CHURNED_TEXT, clipped, describe, usage_trends
from schemas.outputs import Reason


def reason(code: ReasonCode, weight: float, features: FeatureVector) -> Reason:
    """A Reason with the standard text for ``code``."""
    return Reason(code=code.value, text=describe(code, features), weight=weight)


def strongest_first(reasons: Iterable[Reason], limit: int) -> tuple[Reason, ...]:
    """At most ``limit`` reasons, heaviest first; ties keep their given order.

    >>> r = [Reason(code="a", text="a", weight=1.0), Reason(code="b", text="b", weight=2.0)]
    >>> [x.code for x in strongest_first(r, 1)]
    ['b']
    """
    return tuple(sorted(reasons, key=lambda r: -r.weight)[:limit])


def ranked_reasons(features: FeatureVector, reasons: Iterable[Reason], limit: int) -> tuple[Reason, ...]:
    """Strongest reasons first; a churned customer's first reason says so.

    The churn reason gets the largest weight present (1.0 when there is none), so the
    order stays sorted by weight and the other reasons still explain the score.
    """
    ordered = strongest_first(reasons, limit)
    if not features.churned:
        return ordered
    top_weight = ordered[0].weight if ordered else 1.0
    return (churned_reason(top_weight), *ordered[: limit - 1])


def churned_reason(weight: float) -> Reason:
    """The reason shown first for customers who already left (policy never alerts them)."""
    return Reason(
        code=ReasonCode.ALREADY_CHURNED.value,
        text=CHURNED_TEXT,
        weight=weight,
    )


def reasons_of(weighted: Iterable[tuple[ReasonCode, float]], features: FeatureVector) -> list[Reason]:
    """Reasons with their standard texts, each fact said once: beside a recent-calls drop
    (which states the last week's calls) a usage decline gives its 60-day trends only.

    >>> from dataclasses import replace
    >>> from datetime import UTC, datetime
    >>> v = replace(FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC)), history_days=200.0,
    ...             calls_out_30d=30.0, usage_trend=-0.2)
    >>> both = [(ReasonCode.RECENT_CALLS_DROP, 2.0), (ReasonCode.USAGE_DECLINE, 1.0)]
    >>> for r in reasons_of(both, v):
    ...     print(r.text)
    calls in the last 7 days at 0% of the 30-day rate (usually 7 a week)
    call minutes down 20% vs the previous 60 days
    >>> print(reasons_of(both[1:], v)[0].text)
    recent calls at 0% of the 30-day rate; call minutes down 20% vs the previous 60 days
    """
    pairs = list(weighted)
    said_recent = any(code is ReasonCode.RECENT_CALLS_DROP for code, _ in pairs)
    return [
        Reason(code=code.value, text=clipped(usage_trends(features)), weight=weight)
        if said_recent and code is ReasonCode.USAGE_DECLINE
        else reason(code, weight, features)
        for code, weight in pairs
    ]
