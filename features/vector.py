"""The per-customer feature vector read from the store, as of an event time.

Window semantics (see ``docs/features.md``): an ``_Nd`` sum is exponentially decayed
with time constant N days, ``sum(v * exp(-(T - t) / N days))`` over events at
``t <= T``. For steady traffic it equals the plain N-day window sum, and unlike a
sliding window it does not depend on arrival order. Trends compare the recent
30-day rate with the rate of the 60 days before it, estimated from the 30- and
90-day sums normalised by the customer's history length (``features.decay.trend``:
0 for steady traffic at any history length, 0 below 14 days of history).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime

from schemas.events import PaymentType


@dataclass(frozen=True, slots=True)
class FeatureVector:
    """Rolling features of one customer at ``as_of`` (event time)."""

    customer_id: str
    as_of: datetime
    history_days: float  # as_of minus the first event seen, in days
    # calls: counts and minutes, outgoing vs incoming
    calls_out_7d: float
    calls_out_30d: float
    calls_out_90d: float
    calls_in_7d: float
    calls_in_30d: float
    calls_in_90d: float
    minutes_out_7d: float
    minutes_out_30d: float
    minutes_out_90d: float
    minutes_in_7d: float
    minutes_in_30d: float
    minutes_in_90d: float
    dropped_call_share_30d: float  # 0..1 of calls in the window
    off_net_share_30d: float  # 0..1 of outgoing minutes to other or foreign networks
    distinct_contacts_30d: float  # estimate over pseudonymised counterparties
    usage_trend: float  # minutes, last 30 days vs previous 60 days: -1 = stopped, 0 = flat
    # top-ups (payments, for postpaid customers)
    topup_amount_30d: float
    topup_amount_90d: float
    topup_count_30d: float
    topup_count_90d: float
    days_since_last_topup: float | None  # None: never topped up
    usual_topup_gap_days: float | None  # None: fewer than two top-ups seen
    topup_trend: float  # amount, last 30 days vs previous 60 days
    # complaints
    complaints_30d: float
    complaints_90d: float
    complaints_network_30d: float
    complaints_billing_30d: float
    complaints_service_30d: float
    complaints_price_30d: float
    complaints_technical_30d: float
    complaints_other_30d: float
    complaint_severity_30d: float  # severity-weighted count
    unresolved_complaints_30d: float
    days_since_last_complaint: float | None
    # lifecycle
    tenure_days: float | None  # since the earliest activation seen or stated (activated_on); None: unknown
    payment_type: PaymentType | None
    churned: bool  # latest lifecycle event (by event time) is port_out or deactivated
    # who the customer is: plan facts from the latest lifecycle record naming a plan
    plan_code: int | None  # features.records.plan_code of the plan's name; None: no plan named
    commitment_months: float | None  # the contract's minimum term, 0 = none
    monthly_fee: float | None  # recurring plan price
    bundled_services: float | None  # other services on the same account
    topup_automatic_share_90d: float  # 0..1 of top-ups by auto or bank payment
    topup_digital_share_90d: float  # 0..1 of top-ups online or in the app
    topup_manual_share_90d: float  # 0..1 of top-ups in retail or by voucher
    average_topup_90d: float  # top-up amount per top-up, 0 without top-ups
    call_spend_30d: float  # call charges
    call_spend_90d: float
    night_call_share_30d: float  # 0..1 of calls 00-07 local time
    day_call_share_30d: float  # 0..1 of calls 07-18
    evening_call_share_30d: float  # 0..1 of calls 18-24
    international_share_30d: float  # 0..1 of call minutes with foreign numbers
    roaming_share_30d: float  # 0..1 of call minutes made or taken abroad
    # value
    revenue_90d: float  # 90-day decayed sum of payments, the basis of the value tier

    def numeric(self) -> dict[str, float]:
        """Model inputs: every numeric feature, with unknowns as explicit indicator pairs.

        >>> from datetime import UTC
        >>> v = FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC))
        >>> v.numeric()["days_since_last_topup_known"]
        0.0
        """
        values: dict[str, float] = {}
        for name, kind in _NUMERIC_PLAN:
            value = getattr(self, name)
            if kind is _PLAIN:
                values[name] = float(value)
            elif kind is _OPTIONAL:
                if value is None:
                    values[name] = 0.0
                    values[_KNOWN_NAMES[name]] = 0.0
                else:
                    values[name] = float(value)
                    values[_KNOWN_NAMES[name]] = 1.0
            elif kind is _FLAG:
                values[name] = 1.0 if value else 0.0
            elif kind is _PLAN:
                values["plan_bucket"] = plan_bucket(value)
            else:
                values["is_postpaid"] = 1.0 if value == PaymentType.POSTPAID else 0.0
        return values

    @classmethod
    def empty(cls, customer_id: str, as_of: datetime) -> FeatureVector:
        """A customer with no history at all (every sum zero, every 'last seen' unknown)."""
        return cls(
            customer_id=customer_id,
            as_of=as_of,
            history_days=0.0,
            calls_out_7d=0.0,
            calls_out_30d=0.0,
            calls_out_90d=0.0,
            calls_in_7d=0.0,
            calls_in_30d=0.0,
            calls_in_90d=0.0,
            minutes_out_7d=0.0,
            minutes_out_30d=0.0,
            minutes_out_90d=0.0,
            minutes_in_7d=0.0,
            minutes_in_30d=0.0,
            minutes_in_90d=0.0,
            dropped_call_share_30d=0.0,
            off_net_share_30d=0.0,
            distinct_contacts_30d=0.0,
            usage_trend=0.0,
            topup_amount_30d=0.0,
            topup_amount_90d=0.0,
            topup_count_30d=0.0,
            topup_count_90d=0.0,
            days_since_last_topup=None,
            usual_topup_gap_days=None,
            topup_trend=0.0,
            complaints_30d=0.0,
            complaints_90d=0.0,
            complaints_network_30d=0.0,
            complaints_billing_30d=0.0,
            complaints_service_30d=0.0,
            complaints_price_30d=0.0,
            complaints_technical_30d=0.0,
            complaints_other_30d=0.0,
            complaint_severity_30d=0.0,
            unresolved_complaints_30d=0.0,
            days_since_last_complaint=None,
            tenure_days=None,
            payment_type=None,
            churned=False,
            plan_code=None,
            commitment_months=None,
            monthly_fee=None,
            bundled_services=None,
            topup_automatic_share_90d=0.0,
            topup_digital_share_90d=0.0,
            topup_manual_share_90d=0.0,
            average_topup_90d=0.0,
            call_spend_30d=0.0,
            call_spend_90d=0.0,
            night_call_share_30d=0.0,
            day_call_share_30d=0.0,
            evening_call_share_30d=0.0,
            international_share_30d=0.0,
            roaming_share_30d=0.0,
            revenue_90d=0.0,
        )


PLAN_BUCKETS = 16
"""Plans are hashed into this many buckets: ``plan_bucket`` is 1 + the bucket, 0 for no plan."""

def plan_bucket(code: float | None) -> float:
    """1 + the hashed bucket of a plan code, 0 for no plan (or a code that is no number).

    >>> plan_bucket(None), plan_bucket(17), plan_bucket(float("inf"))
    (0.0, 2.0, 0.0)
    """
    if code is None or not math.isfinite(code):
        return 0.0
    return float(1 + int(code) % PLAN_BUCKETS)


_OPTIONAL_FIELDS = frozenset(
    {
        "days_since_last_topup",
        "usual_topup_gap_days",
        "days_since_last_complaint",
        "tenure_days",
        "commitment_months",
        "monthly_fee",
        "bundled_services",
    }
)

_PLAIN, _OPTIONAL, _FLAG, _PAYMENT, _PLAN = "plain", "optional", "flag", "payment", "plan"
_NUMERIC_PLAN: tuple[tuple[str, str], ...] = tuple(
    (
        field.name,
        _OPTIONAL
        if field.name in _OPTIONAL_FIELDS
        else _FLAG
        if field.name == "churned"
        else _PAYMENT
        if field.name == "payment_type"
        else _PLAN
        if field.name == "plan_code"
        else _PLAIN,
    )
    for field in fields(FeatureVector)
    if field.name not in ("customer_id", "as_of")
)
"""How ``numeric`` turns each field into model inputs, in field order (computed once)."""
_KNOWN_NAMES = {name: f"{name}_known" for name in _OPTIONAL_FIELDS}
