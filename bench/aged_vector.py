"""A feature vector read later in event time than its customer's latest event: silence, applied.

The feature store returns vectors as of each customer's latest event. A daily snapshot of a
customer who has been silent since needs the vector at the end of the day: every decayed
sum shrinks by ``exp(-silence / tau)``, every "days since" grows by the silence, and the
trends are recomputed from the decayed sums (``features.decay.trend``). That is what the
store itself would report after an event that adds nothing, with one exception:
``distinct_contacts_30d`` comes from per-bucket bitmaps that a vector does not carry. It is
kept as it was while the silence stays within the sketch's buckets and drops to 0 once
every bucket that can hold a call has expired (exact at both ends, an upper bound between).
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime

from features.contacts import BUCKET_SLOTS, BUCKET_US
from features.decay import DAY_US, trend
from features.records import epoch_us
from features.vector import FeatureVector


def aged(vector: FeatureVector, as_of: datetime) -> FeatureVector:
    """``vector`` as of the later event time ``as_of`` (unchanged when ``as_of`` is not later).

    >>> from datetime import UTC, timedelta
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> v = replace(FeatureVector.empty("c1", t0), calls_out_30d=10.0, days_since_last_topup=2.0)
    >>> later = aged(v, t0 + timedelta(days=30))
    >>> round(later.calls_out_30d, 3), later.days_since_last_topup, later.tenure_days
    (3.679, 32.0, None)
    """
    then_us, now_us = epoch_us(vector.as_of), epoch_us(as_of)
    if now_us <= then_us:
        return vector
    silence_days = (now_us - then_us) / DAY_US
    d7, d30, d90 = (math.exp(-silence_days / tau) for tau in (7.0, 30.0, 90.0))
    history_days = vector.history_days + silence_days
    minutes_30d = (vector.minutes_out_30d + vector.minutes_in_30d) * d30
    minutes_90d = (vector.minutes_out_90d + vector.minutes_in_90d) * d90

    def later(days: float | None) -> float | None:
        return None if days is None else days + silence_days

    return replace(
        vector,
        as_of=as_of,
        history_days=history_days,
        calls_out_7d=vector.calls_out_7d * d7,
        calls_out_30d=vector.calls_out_30d * d30,
        calls_out_90d=vector.calls_out_90d * d90,
        calls_in_7d=vector.calls_in_7d * d7,
        calls_in_30d=vector.calls_in_30d * d30,
        calls_in_90d=vector.calls_in_90d * d90,
        minutes_out_7d=vector.minutes_out_7d * d7,
        minutes_out_30d=vector.minutes_out_30d * d30,
        minutes_out_90d=vector.minutes_out_90d * d90,
        minutes_in_7d=vector.minutes_in_7d * d7,
        minutes_in_30d=vector.minutes_in_30d * d30,
        minutes_in_90d=vector.minutes_in_90d * d90,
        distinct_contacts_30d=(
            0.0
            if now_us // BUCKET_US - (BUCKET_SLOTS - 1) > then_us // BUCKET_US
            else vector.distinct_contacts_30d
        ),
        usage_trend=trend(minutes_30d, minutes_90d, history_days),
        topup_amount_30d=vector.topup_amount_30d * d30,
        topup_amount_90d=vector.topup_amount_90d * d90,
        topup_count_30d=vector.topup_count_30d * d30,
        topup_count_90d=vector.topup_count_90d * d90,
        days_since_last_topup=later(vector.days_since_last_topup),
        topup_trend=trend(vector.topup_amount_30d * d30, vector.topup_amount_90d * d90, history_days),
        complaints_30d=vector.complaints_30d * d30,
        complaints_90d=vector.complaints_90d * d90,
        complaints_network_30d=vector.complaints_network_30d * d30,
        complaints_billing_30d=vector.complaints_billing_30d * d30,
        complaints_service_30d=vector.complaints_service_30d * d30,
        complaints_price_30d=vector.complaints_price_30d * d30,
        complaints_technical_30d=vector.complaints_technical_30d * d30,
        complaints_other_30d=vector.complaints_other_30d * d30,
        complaint_severity_30d=vector.complaint_severity_30d * d30,
        unresolved_complaints_30d=vector.unresolved_complaints_30d * d30,
        days_since_last_complaint=later(vector.days_since_last_complaint),
        tenure_days=later(vector.tenure_days),
        revenue_90d=vector.revenue_90d * d90,
    )
