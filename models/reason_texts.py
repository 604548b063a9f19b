"""The sentences a retention agent reads, one per reason code.

Texts are built from the feature vector alone, so the rules and the online model describe
a signal the same way; each is at most ``MAX_TEXT_CHARS`` long.
"""

from __future__ import annotations

import math
from operator import attrgetter

from features.decay import exposure_days, trend
from features.vector import FeatureVector
from models.derived_inputs import rate_ratio
from models.reason_codes import (
    COMPLAINT_CODE_ORDER,
    ReasonCode,
    complaint_count_values,
    dominant_code_of,
    finite,
)

MAX_TEXT_CHARS = 200
CHURNED_TEXT = "customer has already left (port-out or deactivation)"


def describe(code: ReasonCode, features: FeatureVector) -> str:
    """The agent-facing sentence for ``code``, with the customer's numbers (≤ 200 chars).

    >>> from dataclasses import replace
    >>> from datetime import UTC, datetime
    >>> v = FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC))
    >>> describe(ReasonCode.TOPUP_DECLINE, replace(v, topup_trend=-0.62))
    'top-ups down 62% vs the previous 60 days'
    >>> describe(ReasonCode.TOPUP_LAPSE, replace(v, days_since_last_topup=41.2,
    ...                                           usual_topup_gap_days=9.0))
    'no top-up for 41 days, usual gap 9'
    """
    return clipped(_DESCRIBERS[code](features))


def clipped(text: str) -> str:
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"


def _count(value: float) -> str:
    """A decayed count as a whole number; anything present shows as at least 1."""
    value = finite(value)
    if value <= 0:
        return "0"
    if value >= 1e6:
        return "over 1000000"
    return str(max(1, round(value)))


def _counted(value: float, noun: str) -> str:
    """A count with its noun, singular for exactly one.

    >>> _counted(1.2, "day"), _counted(3.0, "day")
    ('1 day', '3 days')
    """
    count = _count(value)
    return f"{count} {noun}" if count == "1" else f"{count} {noun}s"


def _percent(share: float) -> str:
    share = abs(finite(share))
    return "over 1000%" if share > 10 else f"{round(share * 100)}%"


def _change(trend_value: float) -> str:
    """``down 70%``, ``up 5%`` or ``flat``: a trend in words."""
    trend_value = finite(trend_value)
    if trend_value <= -0.005:
        return f"down {_percent(trend_value)}"
    if trend_value >= 0.005:
        return f"up {_percent(trend_value)}"
    return "flat"


def _trend(subject: str, trend_value: float) -> str:
    return f"{subject} {_change(trend_value)} vs the previous 60 days"


RECENT_CALLS_DROP_RATIO = 0.5
"""Below this ratio of the 7-day to the 30-day call rate, a usage reason leads with the recent calls."""


_CALLS_OUT_AND_IN = {
    window: attrgetter(f"calls_out_{window}", f"calls_in_{window}") for window in ("7d", "30d", "90d")
}
"""Per window, the two fields ``_calls`` adds (looked up once: the rules read them for every score)."""


def _calls(features: FeatureVector, window: str) -> float:
    """Calls in and out in one decayed window (``"7d"``, ``"30d"``, ``"90d"``), never negative."""
    calls_out, calls_in = _CALLS_OUT_AND_IN[window](features)
    total = finite(calls_out) + finite(calls_in)
    return max(0.0, total)


def recent_calls_ratio(features: FeatureVector) -> float:
    """Calls (in and out) per day over the last ~7 days / over the last ~30 days: 1 steady, 0 stopped.

    >>> from dataclasses import replace
    >>> from datetime import UTC, datetime
    >>> v = FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC))
    >>> round(recent_calls_ratio(replace(v, history_days=200.0, calls_in_7d=0.7, calls_in_30d=30.0)), 2)
    0.1
    """
    return rate_ratio(_calls(features, "7d"), 7, _calls(features, "30d"), 30, features.history_days)


def weekly_calls_30d(features: FeatureVector) -> float:
    """Calls (in and out) a week at the customer's 30-day rate; 0 without history.

    >>> from dataclasses import replace
    >>> from datetime import UTC, datetime
    >>> v = FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC))
    >>> round(weekly_calls_30d(replace(v, history_days=1e6, calls_out_30d=60.0, calls_in_30d=30.0)), 1)
    21.0
    """
    exposure = exposure_days(30.0, max(0.0, finite(features.history_days)))
    return 7.0 * _calls(features, "30d") / exposure if exposure > 0.0 else 0.0


def calls_trend(features: FeatureVector) -> float | None:
    """Number of calls (in and out), last 30 days vs the 60 before, as ``features.decay.trend``;
    None without a call in 90 days (nothing to tell a trend from).

    >>> from dataclasses import replace
    >>> from datetime import UTC, datetime
    >>> v = FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC))
    >>> calls_trend(v) is None, calls_trend(replace(v, history_days=200.0, calls_out_90d=60.0))
    (True, -1.0)
    """
    calls_90d = _calls(features, "90d")
    if not calls_90d > 0.0:
        return None
    return trend(_calls(features, "30d"), calls_90d, max(0.0, finite(features.history_days)))


def _usage(features: FeatureVector) -> str:
    """Minutes' and calls' trends; led by recent calls (7-day decayed rate) below half the 30-day rate.

    A customer who went silent a few days ago has a small trend still (the 30-day window
    decays slowly) but a 7-day call rate near 0, which is what the model's rate ratios read.

    >>> from dataclasses import replace
    >>> from datetime import UTC, datetime
    >>> v = FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC))
    >>> _usage(replace(v, history_days=200.0, calls_out_30d=30.0, usage_trend=-0.2))
    'recent calls at 0% of the 30-day rate; call minutes down 20% vs the previous 60 days'
    >>> _usage(replace(v, history_days=200.0, calls_out_7d=3.5, calls_out_30d=15.0,
    ...                calls_out_90d=75.0, usage_trend=-0.6))
    'call minutes down 60% and calls down 58% vs the previous 60 days'
    """
    text = usage_trends(features)
    recent = recent_calls_ratio(features)
    if recent < RECENT_CALLS_DROP_RATIO:
        return f"recent calls at {_percent(recent)} of the 30-day rate; {text}"
    return text


def usage_trends(features: FeatureVector) -> str:
    """Minutes' and calls' trends over the previous 60 days, without the recent calls."""
    calls = calls_trend(features)
    if calls is None:
        text = _trend("call minutes", features.usage_trend)
    else:
        minutes = _change(features.usage_trend)
        text = f"call minutes {minutes} and calls {_change(calls)} vs the previous 60 days"
    if finite(features.usage_trend) <= -0.005:
        return text
    return f"{text}, {_count(features.minutes_out_30d)} outgoing minutes in the last 30 days"


def _recent_calls(features: FeatureVector) -> str:
    """The last week's calls against the customer's own 30-day rate.

    >>> from dataclasses import replace
    >>> from datetime import UTC, datetime
    >>> v = FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC))
    >>> _recent_calls(replace(v, history_days=1e6, calls_out_7d=3.5, calls_out_30d=30.0, calls_in_30d=30.0))
    'calls in the last 7 days at 25% of the 30-day rate (usually 14 a week)'
    """
    ratio = recent_calls_ratio(features)
    usual = _count(weekly_calls_30d(features))
    return f"calls in the last 7 days at {_percent(ratio)} of the 30-day rate (usually {usual} a week)"


def _topup_decline(features: FeatureVector) -> str:
    text = _trend("top-ups", features.topup_trend)
    if finite(features.topup_trend) <= -0.005:
        return text
    return f"{text}, {_count(features.topup_amount_30d)} topped up in the last 30 days"


def _topup_lapse(features: FeatureVector) -> str:
    if features.days_since_last_topup is None:
        return "no top-up seen yet"
    days = _counted(features.days_since_last_topup, "day")
    if features.usual_topup_gap_days is None:
        return f"no top-up for {days} (only one top-up seen)"
    return f"no top-up for {days}, usual gap {_count(features.usual_topup_gap_days)}"


def _complaints(features: FeatureVector) -> str:
    values = complaint_count_values(features)
    dominant = dominant_code_of(values)
    if dominant is None:
        return "no complaints in the last 30 days"
    counts = dict(zip(COMPLAINT_CODE_ORDER, values, strict=True))
    total = sum(values)
    category = dominant.value.removeprefix("complaints_")
    details = []
    unresolved = finite(features.unresolved_complaints_30d)
    if unresolved > 0:
        details.append(f"{_count(unresolved)} unresolved")
    severity = finite(features.complaint_severity_30d) / total
    if 0 < severity <= 5:
        details.append(f"average severity {severity:.1f}/5")
    suffix = f" ({'; '.join(details)})" if details else ""
    if counts[dominant] >= total:
        return f"{_counted(total, category + ' complaint')} in 30 days{suffix}"
    return f"{_counted(total, 'complaint')} in 30 days, {_count(counts[dominant])} {category}{suffix}"


def _complaint_history(features: FeatureVector) -> str:
    last = features.days_since_last_complaint
    if last is None:
        return "no complaints on record"
    return (
        f"{_counted(features.complaints_90d, 'complaint')} in 90 days, last one {_counted(last, 'day')} ago"
    )


def _dropped(features: FeatureVector) -> str:
    return f"{_percent(features.dropped_call_share_30d)} of calls dropped in the last 30 days"


def _off_net(features: FeatureVector) -> str:
    return f"{_percent(features.off_net_share_30d)} of outgoing minutes go to other networks"


def _contacts(features: FeatureVector) -> str:
    return f"{_counted(features.distinct_contacts_30d, 'distinct contact')} in the last 30 days"


def _profile(features: FeatureVector) -> str:
    payment = features.payment_type.value if features.payment_type is not None else "unknown plan"
    if features.tenure_days is None:
        return f"tenure unknown, {payment}"
    return f"tenure {_counted(features.tenure_days, 'day')}, {payment}"


DAYS_PER_MONTH = 365.25 / 12


def term_days_left(features: FeatureVector) -> float | None:
    """Days until a committed customer's current term ends (terms renew from the activation
    date); None without a commitment or a known tenure.

    >>> from dataclasses import replace
    >>> from datetime import UTC, datetime
    >>> v = replace(FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC)),
    ...             commitment_months=12.0, tenure_days=345.25)
    >>> term_days_left(v)
    20.0
    """
    months, tenure = features.commitment_months, features.tenure_days
    if months is None or months < 1 or tenure is None:
        return None
    term_days = months * DAYS_PER_MONTH
    return term_days - math.fmod(max(finite(tenure), 0.0), term_days)


def _contract(features: FeatureVector) -> str:
    """The commitment and, for a committed customer, when the current term ends."""
    months = features.commitment_months
    if months is None:
        return "contract commitment unknown"
    if months < 1:
        return "no contract commitment (free to leave any month)"
    left_days = term_days_left(features)
    if left_days is None:
        return f"{round(months)}-month commitment"
    return f"{round(months)}-month commitment, current term ends in {_counted(left_days, 'day')}"


def _tenure(features: FeatureVector) -> str:
    if features.tenure_days is None:
        return "tenure unknown"
    days = finite(features.tenure_days)
    if days < 2 * DAYS_PER_MONTH:
        return f"customer for {_counted(days, 'day')}"
    if days < 2 * 365.25:
        return f"customer for {_counted(days / DAYS_PER_MONTH, 'month')}"
    return f"customer for {days / 365.25:.1f} years"


def _payment(features: FeatureVector) -> str:
    plan = features.payment_type.value if features.payment_type is not None else "payment type unknown"
    manual, automatic = features.topup_manual_share_90d, features.topup_automatic_share_90d
    if manual <= 0 and automatic <= 0 and features.topup_digital_share_90d <= 0:
        return f"{plan}, no top-up channel seen in 90 days"
    if automatic >= 0.5:
        return f"{plan}, {_percent(automatic)} of top-ups paid automatically"
    if manual >= 0.5:
        return f"{plan}, {_percent(manual)} of top-ups by voucher or in a shop (no automatic payment)"
    return f"{plan}, {_percent(features.topup_digital_share_90d)} of top-ups online or in the app"


def _price_plan(features: FeatureVector) -> str:
    fee = features.monthly_fee
    price = "plan price unknown" if fee is None else f"plan at {finite(fee):.2f} a month"
    bundles = features.bundled_services
    if bundles is None:
        return price
    if bundles < 1:
        return f"{price}, no other services bundled"
    return f"{price}, {_counted(bundles, 'bundled service')}"


def _spend(features: FeatureVector) -> str:
    parts = [f"call spend {finite(features.call_spend_30d):.2f} in 30 days"]
    if features.average_topup_90d > 0:
        parts.append(f"average top-up {finite(features.average_topup_90d):.2f}")
    for share, what in (
        (features.night_call_share_30d, "night calls"),
        (features.international_share_30d, "international minutes"),
        (features.roaming_share_30d, "minutes roaming"),
    ):
        if share >= 0.05:
            parts.append(f"{_percent(share)} {what}")
    return ", ".join(parts)


def _churned(features: FeatureVector) -> str:
    return CHURNED_TEXT


def _baseline(features: FeatureVector) -> str:
    return "the model's baseline risk for customers like this"


_DESCRIBERS = {
    ReasonCode.USAGE_DECLINE: _usage,
    ReasonCode.TOPUP_DECLINE: _topup_decline,
    ReasonCode.TOPUP_LAPSE: _topup_lapse,
    ReasonCode.COMPLAINTS_NETWORK: _complaints,
    ReasonCode.COMPLAINTS_PRICE: _complaints,
    ReasonCode.COMPLAINTS_BILLING: _complaints,
    ReasonCode.COMPLAINTS_TECHNICAL: _complaints,
    ReasonCode.COMPLAINTS_SERVICE: _complaints,
    ReasonCode.COMPLAINTS_OTHER: _complaints,
    ReasonCode.COMPLAINT_HISTORY: _complaint_history,
    ReasonCode.DROPPED_CALLS: _dropped,
    ReasonCode.OFF_NET_SHARE: _off_net,
    ReasonCode.CONTACTS_COLLAPSE: _contacts,
    ReasonCode.RECENT_CALLS_DROP: _recent_calls,
    ReasonCode.CONTRACT_TERM: _contract,
    ReasonCode.TENURE: _tenure,
    ReasonCode.PAYMENT_METHOD: _payment,
    ReasonCode.PRICE_PLAN: _price_plan,
    ReasonCode.SPEND_PATTERN: _spend,
    ReasonCode.CUSTOMER_PROFILE: _profile,
    ReasonCode.ALREADY_CHURNED: _churned,
    ReasonCode.MODEL_BASELINE: _baseline,
}
