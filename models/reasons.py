"""Reason codes and the sentences a retention agent reads.

Codes are stable snake_case identifiers: the playbook (``policy/playbook.yaml``) keys
its actions on them, so renaming one is a contract change. Texts are built from the
feature vector alone, so the rules and the online model describe a signal the same way.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from enum import StrEnum

from features.decay import exposure_days, trend
from features.vector import FeatureVector
from models.derived_inputs import rate_ratio
from schemas.outputs import Reason

MAX_TEXT_CHARS = 200


class ReasonCode(StrEnum):
    """Stable reason codes; the playbook keys its actions on them."""

    USAGE_DECLINE = "usage_decline"
    TOPUP_DECLINE = "topup_decline"
    TOPUP_LAPSE = "topup_lapse"
    COMPLAINTS_NETWORK = "complaints_network"
    COMPLAINTS_PRICE = "complaints_price"
    COMPLAINTS_BILLING = "complaints_billing"
    COMPLAINTS_TECHNICAL = "complaints_technical"
    COMPLAINTS_SERVICE = "complaints_service"
    COMPLAINTS_OTHER = "complaints_other"
    COMPLAINT_HISTORY = "complaint_history"
    DROPPED_CALLS = "dropped_calls"
    OFF_NET_SHARE = "off_net_share"
    CONTACTS_COLLAPSE = "contacts_collapse"
    RECENT_CALLS_DROP = "recent_calls_drop"
    CONTRACT_TERM = "contract_term"
    TENURE = "tenure"
    PAYMENT_METHOD = "payment_method"
    PRICE_PLAN = "price_plan"
    SPEND_PATTERN = "spend_pattern"
    CUSTOMER_PROFILE = "customer_profile"
    ALREADY_CHURNED = "already_churned"
    MODEL_BASELINE = "model_baseline"


# Complaint categories in tie-break order (strongest churn driver first), with their codes.
COMPLAINT_CATEGORIES: tuple[tuple[str, ReasonCode], ...] = (
    ("network", ReasonCode.COMPLAINTS_NETWORK),
    ("price", ReasonCode.COMPLAINTS_PRICE),
    ("billing", ReasonCode.COMPLAINTS_BILLING),
    ("technical", ReasonCode.COMPLAINTS_TECHNICAL),
    ("service", ReasonCode.COMPLAINTS_SERVICE),
    ("other", ReasonCode.COMPLAINTS_OTHER),
)
COMPLAINT_CODE_ORDER: tuple[ReasonCode, ...] = tuple(code for _, code in COMPLAINT_CATEGORIES)
COMPLAINT_CODES = frozenset(COMPLAINT_CODE_ORDER)


def finite(value: float | None, default: float = 0.0) -> float:
    """A usable number: None and NaN become ``default``, infinities are clamped.

    >>> finite(float("nan")), finite(None, 9.0), finite(float("inf"))
    (0.0, 9.0, 1000000000000.0)
    """
    if value is None or value != value:  # NaN is the only value unequal to itself
        return default
    if value > 1e12:
        return 1e12
    if value < -1e12:
        return -1e12
    return value


_COMPLAINT_FIELDS: tuple[tuple[str, ReasonCode], ...] = tuple(
    (f"complaints_{category}_30d", code) for category, code in COMPLAINT_CATEGORIES
)


def complaint_count_values(features: FeatureVector) -> tuple[float, ...]:
    """30-day complaint counts (never negative or NaN) in ``COMPLAINT_CATEGORIES`` order."""
    counts = []
    for name, _ in _COMPLAINT_FIELDS:
        count = finite(getattr(features, name))
        counts.append(count if count > 0.0 else 0.0)
    return tuple(counts)


def complaint_counts(features: FeatureVector) -> dict[ReasonCode, float]:
    """30-day complaint counts keyed by their reason code, in tie-break order."""
    return dict(zip(COMPLAINT_CODE_ORDER, complaint_count_values(features), strict=True))


def dominant_code_of(counts: tuple[float, ...]) -> ReasonCode | None:
    """The code of the largest of ``complaint_count_values`` (first on ties); None if all 0."""
    best_index, best = 0, counts[0]
    for index in range(1, len(counts)):
        if counts[index] > best:
            best_index, best = index, counts[index]
    return COMPLAINT_CODE_ORDER[best_index] if best > 0 else None


def dominant_complaint_code(features: FeatureVector) -> ReasonCode | None:
    """The category with the most complaints in 30 days (ties: network first); None if none.

    >>> from datetime import UTC, datetime
    >>> v = FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC))
    >>> dominant_complaint_code(v) is None
    True
    """
    return dominant_code_of(complaint_count_values(features))


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
    return _clipped(_DESCRIBERS[code](features))


def _clipped(text: str) -> str:
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"


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
        text="customer has already left (port-out or deactivation)",
        weight=weight,
    )


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


def _calls(features: FeatureVector, window: str) -> float:
    """Calls in and out in one decayed window (``"7d"``, ``"30d"``, ``"90d"``), never negative."""
    total = finite(getattr(features, f"calls_out_{window}")) + finite(getattr(features, f"calls_in_{window}"))
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
    text = _usage_trends(features)
    recent = recent_calls_ratio(features)
    if recent < RECENT_CALLS_DROP_RATIO:
        return f"recent calls at {_percent(recent)} of the 30-day rate; {text}"
    return text


def _usage_trends(features: FeatureVector) -> str:
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
        Reason(code=code.value, text=_clipped(_usage_trends(features)), weight=weight)
        if said_recent and code is ReasonCode.USAGE_DECLINE
        else reason(code, weight, features)
        for code, weight in pairs
    ]


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
    return churned_reason(0.0).text


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


@functools.cache
def fixed_code_for_feature(name: str) -> ReasonCode | None:
    """Which reason a numeric model input (``FeatureVector.numeric()`` key) speaks for, if fixed.

    None for complaint aggregates: they are credited to the customer's dominant complaint
    category (``complaint_aggregate_code``), so the playbook sees the code the rules would
    give. Cached per name: scoring maps ~45 inputs to codes for every snapshot.

    >>> fixed_code_for_feature("complaints_price_30d").value, fixed_code_for_feature("complaints_30d")
    ('complaints_price', None)
    """
    if name.startswith("complaints_") and name.endswith("_30d") and name != "complaints_30d":
        return ReasonCode(name.removesuffix("_30d"))
    if name in _COMPLAINT_AGGREGATES:
        return None
    for prefix, code in _FEATURE_PREFIXES:
        if name.startswith(prefix):
            return code
    return ReasonCode.CUSTOMER_PROFILE


def complaint_aggregate_code(features: FeatureVector) -> ReasonCode:
    """The code complaint aggregates (counts, severity, recency) are credited to for this customer."""
    return dominant_complaint_code(features) or ReasonCode.COMPLAINT_HISTORY


_COMPLAINT_AGGREGATES = frozenset(
    {
        "complaints_30d",
        "complaints_90d",
        "complaint_severity_30d",
        "unresolved_complaints_30d",
        "days_since_last_complaint",
        "days_since_last_complaint_known",
    }
)
_FEATURE_PREFIXES: tuple[tuple[str, ReasonCode], ...] = (
    ("commitment_months", ReasonCode.CONTRACT_TERM),
    ("tenure_days", ReasonCode.TENURE),
    ("topup_automatic_share", ReasonCode.PAYMENT_METHOD),
    ("topup_digital_share", ReasonCode.PAYMENT_METHOD),
    ("topup_manual_share", ReasonCode.PAYMENT_METHOD),
    ("is_postpaid", ReasonCode.PAYMENT_METHOD),
    ("monthly_fee", ReasonCode.PRICE_PLAN),
    ("plan_", ReasonCode.PRICE_PLAN),
    ("bundled_services", ReasonCode.PRICE_PLAN),
    ("call_spend", ReasonCode.SPEND_PATTERN),
    ("average_topup", ReasonCode.SPEND_PATTERN),
    ("night_call_share", ReasonCode.SPEND_PATTERN),
    ("day_call_share", ReasonCode.SPEND_PATTERN),
    ("evening_call_share", ReasonCode.SPEND_PATTERN),
    ("international_share", ReasonCode.SPEND_PATTERN),
    ("roaming_share", ReasonCode.SPEND_PATTERN),
    ("calls_", ReasonCode.USAGE_DECLINE),
    ("minutes_", ReasonCode.USAGE_DECLINE),
    ("usage_trend", ReasonCode.USAGE_DECLINE),
    ("topup_", ReasonCode.TOPUP_DECLINE),
    ("revenue_", ReasonCode.TOPUP_DECLINE),
    ("days_since_last_topup", ReasonCode.TOPUP_LAPSE),
    ("usual_topup_gap_days", ReasonCode.TOPUP_LAPSE),
    ("dropped_call_share", ReasonCode.DROPPED_CALLS),
    ("off_net_share", ReasonCode.OFF_NET_SHARE),
    ("distinct_contacts", ReasonCode.CONTACTS_COLLAPSE),
    ("churned", ReasonCode.ALREADY_CHURNED),
)
