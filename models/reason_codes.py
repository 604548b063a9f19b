"""Reason codes, and which code a model input or a complaint count speaks for.

Codes are stable snake_case identifiers: the playbook (``policy/playbook.yaml``) keys
its actions on them, so renaming one is a contract change.
"""

from __future__ import annotations

import functools
from enum import StrEnum
from operator import attrgetter

from features.vector import FeatureVector


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


_COMPLAINT_COUNTS = attrgetter(*(name for name, _ in _COMPLAINT_FIELDS))


def complaint_count_values(features: FeatureVector) -> tuple[float, ...]:
    """30-day complaint counts (never negative or NaN) in ``COMPLAINT_CATEGORIES`` order."""
    counts = []
    for value in _COMPLAINT_COUNTS(features):
        count = finite(value)
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
