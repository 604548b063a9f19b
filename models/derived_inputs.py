"""Model inputs derived from one feature vector: recent activity relative to the customer's own past.

A decayed sum says how much a customer did, which mostly says who the customer is; a
linear model on standardised sums ranks heavy users against light ones rather than
customers against their own habits. The ratio of a short window's daily rate to a
longer window's is 1 for steady traffic at any volume, falls towards 0 when the
activity stops (a silent customer's 7-day sum decays four times faster than its 30-day
sum) and rises above 1 for a burst.

Rates are the decayed sums divided by ``features.decay.exposure_days(tau, history_days)``,
as in ``features.decay.trend``: the windows of a customer seen for fewer than ~3 time
constants are still filling, and without that normalisation the ratios move with the
history length, which in a stream that starts on one day is the date for everyone who
predates it (``models.online.CLOCK_INPUTS``). Measured with ``churnwatch bench models``
(docs/learning.md, "Derived inputs"): unnormalised ratios gained nothing.

Decayed sums themselves enter the model as daily rates (``daily_rates``): a sum divided
by its window's exposure over the customer's history. A raw 90-day sum of a customer seen
for 20 days is a fifth of the same customer's sum 200 days later, so raw sums carry the
calendar (how long ago the stream began) as much as the behaviour.

The plan enters as indicators of its hashed bucket (``plan_indicators``), so a linear model
can learn one weight per plan and a tree can split on it.

Computed from a ``FeatureVector`` alone: nothing more is kept in the feature store.
"""

from __future__ import annotations

from collections.abc import Mapping

from features.decay import exposure_days
from features.vector import PLAN_BUCKETS

RULES_INPUT = "rules_logit"
"""The cold-start rules' log-odds for the same snapshot, an input of every model
(``models.online.with_rules``): a young model starts from what the playbook rules know and
learns what they miss (profile effects, other weights), instead of ranking below them until
it has seen months of labels."""

RATE_RATIO_MAX = 5.0
"""Upper clamp of a rate ratio: a burst five times the usual rate is already a burst."""

AMOUNT_MIN = 1e-9
"""Smallest sum or history a ratio reads as activity: a billionth of an event is none."""

AMOUNT_MAX = 1e12
"""Largest sum or history a ratio reads; larger values and infinities are clamped to it."""

RATE_RATIO_WINDOWS: tuple[tuple[str, int, int], ...] = (
    ("calls_out", 7, 30),
    ("calls_out", 30, 90),
    ("calls_in", 7, 30),
    ("calls_in", 30, 90),
    ("minutes_out", 7, 30),
    ("minutes_out", 30, 90),
    ("minutes_in", 7, 30),
    ("minutes_in", 30, 90),
    ("topup_amount", 30, 90),
    ("topup_count", 30, 90),
)
"""(feature family, short window days, long window days) of every rate-ratio input."""


def rate_ratio_name(family: str, short_days: int, long_days: int) -> str:
    """The input's name: the family first, so reasons map it like the sums it comes from.

    >>> rate_ratio_name("calls_out", 7, 30)
    'calls_out_rate_7d_per_30d'
    """
    return f"{family}_rate_{short_days}d_per_{long_days}d"


RATE_RATIO_NAMES: tuple[str, ...] = tuple(
    rate_ratio_name(family, short_days, long_days) for family, short_days, long_days in RATE_RATIO_WINDOWS
)
"""The names of the rate-ratio inputs, in ``RATE_RATIO_WINDOWS`` order."""


_WINDOW_FIELDS: tuple[tuple[str, str, int, str, int], ...] = tuple(
    (name, f"{family}_{short_days}d", short_days, f"{family}_{long_days}d", long_days)
    for name, (family, short_days, long_days) in zip(RATE_RATIO_NAMES, RATE_RATIO_WINDOWS, strict=True)
)
"""Per rate-ratio input: its name, the short window's field and days, the long window's (computed once)."""
_WINDOW_DAYS = tuple(sorted({days for _, _, short, _, long in _WINDOW_FIELDS for days in (short, long)}))


def rate_ratio(
    short_sum: float, short_days: float, long_sum: float, long_days: float, history_days: float
) -> float:
    """Daily rate of the short decayed window over that of the long one, in ``[0, RATE_RATIO_MAX]``.

    1 for steady traffic at any history length, 0 when the activity stopped long enough
    ago, ``RATE_RATIO_MAX`` for activity with no earlier activity. With no activity in
    either window, or no history, it is 1: nothing has changed. Finite for any input
    (NaN and negative values count as 0, infinities as ``AMOUNT_MAX``).

    >>> from features.decay import exposure_days
    >>> steady = exposure_days(7, 40.0), exposure_days(30, 40.0)  # one unit a day for 40 days
    >>> round(rate_ratio(steady[0], 7, steady[1], 30, 40.0), 12)
    1.0
    >>> stopped, new, none = (0.0, 12.0), (3.0, 0.0), (0.0, 0.0)  # (7-day sum, 30-day sum)
    >>> [rate_ratio(short, 7, long, 30, 200.0) for short, long in (stopped, new, none)]
    [0.0, 5.0, 1.0]
    """
    history = _amount(history_days)
    short_exposure = exposure_days(short_days, history)
    if not short_exposure > 0.0:  # no history, or one too short to be told from none
        return 1.0
    return _ratio(_amount(short_sum), _amount(long_sum), exposure_days(long_days, history) / short_exposure)


def _ratio(short_total: float, long_total: float, exposure_ratio: float) -> float:
    """``rate_ratio`` of two clean sums, given the long window's exposure over the short one's.

    The exposures' quotient lies in ``[1, long_days / short_days]``, so a tiny history
    cannot overflow it.
    """
    if long_total <= 0.0:
        return 1.0 if short_total <= 0.0 else RATE_RATIO_MAX
    return min((short_total / long_total) * exposure_ratio, RATE_RATIO_MAX)


def _amount(value: float) -> float:
    """A sum or a history length as a ratio reads it: in ``[0, AMOUNT_MAX]``, NaN and anything
    below ``AMOUNT_MIN`` as 0 (so a pending snapshot's half-precision copy reads alike)."""
    return min(value, AMOUNT_MAX) if value >= AMOUNT_MIN else 0.0


def derived_inputs(values: Mapping[str, float]) -> dict[str, float]:
    """Every derived input, by name, in ``RATE_RATIO_NAMES`` order, from the numeric features
    (``FeatureVector.numeric()`` or the stored inputs of a pending snapshot; missing ones
    count as 0, and a missing ``history_days`` leaves every ratio at 1: nothing changed).

    The same values as ``rate_ratio`` per window pair, with each window's exposure
    computed once (scoring runs this for every snapshot).

    >>> from dataclasses import replace
    >>> from datetime import UTC, datetime
    >>> from features.vector import FeatureVector
    >>> quiet = replace(FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC)),
    ...                 history_days=200.0, calls_out_7d=0.5, calls_out_30d=20.0)
    >>> round(derived_inputs(quiet.numeric())["calls_out_rate_7d_per_30d"], 3)
    0.107
    """
    history = _amount(values.get("history_days", 0.0))
    exposure = {days: exposure_days(days, history) for days in _WINDOW_DAYS}
    if not min(exposure.values()) > 0.0:  # no history, or one too short to be told from none
        return dict.fromkeys(RATE_RATIO_NAMES, 1.0)
    return {
        name: _ratio(
            _amount(values.get(short_field, 0.0)),
            _amount(values.get(long_field, 0.0)),
            exposure[long_days] / exposure[short_days],
        )
        for name, short_field, short_days, long_field, long_days in _WINDOW_FIELDS
    }


DECAYED_SUM_DAYS: dict[str, int] = {
    **{f"{family}_{days}d": days for family in ("calls_out", "calls_in", "minutes_out", "minutes_in")
       for days in (7, 30, 90)},
    **{f"{family}_{days}d": days for family in ("topup_amount", "topup_count", "call_spend")
       for days in (30, 90)},
    **{name: 30 for name in (
        "complaints_30d", "complaints_network_30d", "complaints_billing_30d", "complaints_service_30d",
        "complaints_price_30d", "complaints_technical_30d", "complaints_other_30d",
        "complaint_severity_30d", "unresolved_complaints_30d",
    )},
    "complaints_90d": 90,
    "revenue_90d": 90,
}
"""Every decayed-sum feature and its time constant in days: the inputs ``daily_rates`` rescales."""

MIN_EXPOSURE_DAYS = 1.0
"""A rate over less than a day of history is read as over one day: a customer's first call
is one call a day, not a thousand."""

_SUM_DAYS = tuple(sorted(set(DECAYED_SUM_DAYS.values())))
PLAN_INDICATOR_NAMES: tuple[str, ...] = tuple(f"plan_{bucket}" for bucket in range(1, PLAN_BUCKETS + 1))
"""The plan indicators, one per hashed bucket: ``plan_<bucket>`` is 1 for the customer's bucket."""


def daily_rates(values: Mapping[str, float]) -> dict[str, float]:
    """Each decayed sum of ``values`` as a daily rate: the sum over its window's exposure
    (``exposure_days(tau, history_days)``, at least ``MIN_EXPOSURE_DAYS``), under the sum's name.

    The same for steady traffic at any history length, which the raw sums are not.

    >>> steady = {"history_days": 20.0, "calls_out_90d": exposure_days(90, 20.0) * 3}
    >>> round(daily_rates(steady)["calls_out_90d"], 9)
    3.0
    >>> daily_rates({"history_days": 0.0, "calls_out_7d": 1.0})["calls_out_7d"]
    1.0
    """
    history = _amount(values.get("history_days", 0.0))
    exposure = {days: max(exposure_days(days, history), MIN_EXPOSURE_DAYS) for days in _SUM_DAYS}
    return {name: _amount(values.get(name, 0.0)) / exposure[days] for name, days in DECAYED_SUM_DAYS.items()}


def plan_indicators(values: Mapping[str, float]) -> dict[str, float]:
    """One indicator per plan bucket from ``plan_bucket`` (0: no plan known, every indicator 0).

    >>> [name for name, on in plan_indicators({"plan_bucket": 3.0}).items() if on]
    ['plan_3']
    """
    bucket = int(values.get("plan_bucket", 0.0))
    return {name: 1.0 if index == bucket else 0.0 for index, name in enumerate(PLAN_INDICATOR_NAMES, 1)}
