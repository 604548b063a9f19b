"""Exponentially decayed sums and the trend ratio built from them.

An ``_Nd`` feature is ``S(T) = sum(v * exp(-(T - t) / N days))`` over events at ``t <= T``.
It is stored as ``(value, reference time)``: adding an event older than the reference
decays its contribution, a newer one first moves the reference forward. Both give the
same result whatever the arrival order (up to floating rounding), which is what makes
shuffled, late and redelivered input safe. Times are integer microseconds since the
Unix epoch, carried as floats (exact below 2**53 us, i.e. until the year 2255).
"""

from __future__ import annotations

import math

DAY_US = 86_400_000_000
"""Microseconds in a day."""

TREND_MAX = 3.0
"""Upper clamp of a trend: +300%, i.e. the recent rate is at least four times the earlier one.

Growth matters less than decline for churn, and a customer who only recently became
active (no earlier rate) would otherwise have an unbounded trend."""

MIN_TREND_HISTORY_DAYS = 14.0
"""Shortest history (first event to now, days) with a trend; shorter ones report 0.

The earlier-rate estimate weighs the history by ``exp(-age/90) - exp(-age/30)``, about
``age / 45`` for young ages, so its exposure grows like ``T**2 / 90`` days: under 2.2
days' worth of traffic at 14 days, less than a quarter day at 4. Such an estimate rests
on the customer's first few events and swings by tens of percent with one more or one
fewer; 0 (no evidence of change) is the honest value until there is an earlier period.
"""


def decay_weight(age_us: float, tau_days: float) -> float:
    """How much an event ``age_us`` old still counts in a sum with time constant ``tau_days``.

    >>> decay_weight(0, 30)
    1.0
    >>> round(decay_weight(30 * DAY_US, 30), 6)  # one time constant: 1/e
    0.367879
    """
    return math.exp(-age_us / (tau_days * DAY_US))


def decayed_add(
    total: float, reference_us: float, amount: float, at_us: float, tau_days: float
) -> tuple[float, float]:
    """Add ``amount`` at ``at_us`` to a decayed ``total`` held at ``reference_us``.

    Returns the new ``(total, reference_us)``; the reference is the latest time seen.
    Adding the same events in any order gives the same pair.

    >>> a = decayed_add(*decayed_add(0.0, 0.0, 1.0, DAY_US, 7), 1.0, 0.0, 7)
    >>> b = decayed_add(*decayed_add(0.0, 0.0, 1.0, 0.0, 7), 1.0, DAY_US, 7)
    >>> a == b, a[1] == DAY_US
    (True, True)
    """
    if at_us > reference_us:
        return total * decay_weight(at_us - reference_us, tau_days) + amount, at_us
    return total + amount * decay_weight(reference_us - at_us, tau_days), reference_us


def exposure_days(tau_days: float, history_days: float) -> float:
    """The ``tau_days`` decayed sum of one unit a day, steadily over the last ``history_days``.

    ``tau * (1 - exp(-T / tau))``: ``T`` for a short history, ``tau`` for a long one.
    Dividing a decayed sum by it gives the daily rate of steady traffic, whatever ``T``.

    >>> exposure_days(30, 0.0), round(exposure_days(30, 30), 3), round(exposure_days(30, 1e6), 9)
    (0.0, 18.964, 30.0)
    """
    return -tau_days * math.expm1(-history_days / tau_days)


def trend(recent_30d: float, total_90d: float, history_days: float) -> float:
    """Relative change of the last 30 days' daily rate against the 60 days before them.

    ``history_days`` is ``T``, how long the customer has been seen (first event to now).
    Steady traffic at rate ``r`` over ``T`` days has ``S_tau = r * exposure_days(tau, T)``,
    so ``rate30 = S30 / exposure_days(30, T)`` and, from the part of the 90-day sum that
    is not in the 30-day one, ``rate_prev60 = max(S90 - S30, 0) / (exposure_days(90, T) -
    exposure_days(30, T))``: both equal ``r`` for steady traffic at any ``T``. The result
    is ``rate30 / rate_prev60 - 1`` clamped to ``[-1, TREND_MAX]``: -1 means the activity
    stopped, 0 flat. With no earlier activity (``rate_prev60 == 0``) it is 0 when there is
    no recent activity either (nothing to compare) and ``TREND_MAX`` when there is (all
    growth). Below ``MIN_TREND_HISTORY_DAYS`` it is 0: there is no earlier period yet.

    >>> steady = (exposure_days(30, 35.0), exposure_days(90, 35.0))  # one unit a day, 35 days
    >>> abs(trend(*steady, 35.0)) < 1e-12
    True
    >>> trend(0.0, 60.0, 200.0), trend(0.0, 0.0, 200.0), trend(5.0, 5.0, 200.0)
    (-1.0, 0.0, 3.0)
    >>> trend(0.0, 60.0, 10.0)  # too short a history to have an earlier period
    0.0
    """
    if not history_days >= MIN_TREND_HISTORY_DAYS:
        return 0.0
    recent_exposure = exposure_days(30.0, history_days)
    rate_30d = recent_30d / recent_exposure
    rate_prev_60d = max(total_90d - recent_30d, 0.0) / (
        exposure_days(90.0, history_days) - recent_exposure
    )
    if rate_prev_60d <= 0.0:
        return TREND_MAX if rate_30d > 0.0 else 0.0
    return min(max(rate_30d / rate_prev_60d - 1.0, -1.0), TREND_MAX)
