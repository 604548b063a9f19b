"""Simulator settings: segment profiles from the operators' playbooks and population shares.

Rates are per customer per day unless the name says otherwise; money is in ``currency``.
The defaults keep 20,000 customers x 120 days at about 7M events (about 2.9 events per
customer per day, calls dominating), which a laptop replays in minutes.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.events import ComplaintCategory

Share = Annotated[float, Field(ge=0.0, le=1.0)]


class DayRhythm(BaseModel):
    """Relative call weight of night (00-07), day (07-18) and evening (18-24) hours."""

    model_config = ConfigDict(frozen=True)

    night: Annotated[float, Field(ge=0)]
    day: Annotated[float, Field(ge=0)]
    evening: Annotated[float, Field(ge=0)]


class SegmentProfile(BaseModel):
    """One customer segment: how its members call, pay and complain."""

    model_config = ConfigDict(frozen=True)

    name: str
    share: Share
    prepaid_share: Share
    calls_per_day: Annotated[float, Field(gt=0)]
    weekend_factor: Annotated[float, Field(gt=0)]
    weekday_rhythm: DayRhythm
    weekend_rhythm: DayRhythm
    mean_call_s: Annotated[float, Field(gt=0)]
    monthly_spend: Annotated[float, Field(gt=0)]
    topup_gap_days: Annotated[float, Field(gt=0)]
    contacts: Annotated[int, Field(ge=1, le=500)]
    on_net_share: Share
    international_share: Share
    roaming_share: Share
    complaints_per_year: Annotated[float, Field(ge=0)]
    complaint_mix: dict[ComplaintCategory, float]
    plans: tuple[str, ...]
    tenure_years: tuple[float, float]


def _rhythm(night: float, day: float, evening: float) -> DayRhythm:
    return DayRhythm(night=night, day=day, evening=evening)


DEFAULT_SEGMENTS: tuple[SegmentProfile, ...] = (
    SegmentProfile(
        name="young_data_prepaid",
        share=0.25,
        prepaid_share=0.92,
        calls_per_day=2.2,
        weekend_factor=1.2,
        weekday_rhythm=_rhythm(0.15, 0.35, 0.50),
        weekend_rhythm=_rhythm(0.25, 0.30, 0.45),
        mean_call_s=95.0,
        monthly_spend=14.0,
        topup_gap_days=7.0,
        contacts=30,
        on_net_share=0.55,
        international_share=0.02,
        roaming_share=0.01,
        complaints_per_year=0.8,
        complaint_mix={
            ComplaintCategory.TECHNICAL: 0.35,
            ComplaintCategory.NETWORK: 0.35,
            ComplaintCategory.PRICE: 0.2,
            ComplaintCategory.OTHER: 0.1,
        },
        plans=("prepaid-data-max", "prepaid-social"),
        tenure_years=(0.2, 3.0),
    ),
    SegmentProfile(
        name="family",
        share=0.25,
        prepaid_share=0.35,
        calls_per_day=3.2,
        weekend_factor=1.1,
        weekday_rhythm=_rhythm(0.04, 0.46, 0.50),
        weekend_rhythm=_rhythm(0.04, 0.50, 0.46),
        mean_call_s=150.0,
        monthly_spend=38.0,
        topup_gap_days=14.0,
        contacts=15,
        on_net_share=0.7,
        international_share=0.03,
        roaming_share=0.01,
        complaints_per_year=1.0,
        complaint_mix={
            ComplaintCategory.BILLING: 0.35,
            ComplaintCategory.SERVICE: 0.25,
            ComplaintCategory.NETWORK: 0.25,
            ComplaintCategory.PRICE: 0.15,
        },
        plans=("family-share-2", "family-share-4"),
        tenure_years=(1.0, 8.0),
    ),
    SegmentProfile(
        name="business_postpaid",
        share=0.10,
        prepaid_share=0.0,
        calls_per_day=5.0,
        weekend_factor=0.35,
        weekday_rhythm=_rhythm(0.02, 0.80, 0.18),
        weekend_rhythm=_rhythm(0.05, 0.55, 0.40),
        mean_call_s=210.0,
        monthly_spend=95.0,
        topup_gap_days=30.0,
        contacts=45,
        on_net_share=0.6,
        international_share=0.08,
        roaming_share=0.04,
        complaints_per_year=1.4,
        complaint_mix={
            ComplaintCategory.BILLING: 0.35,
            ComplaintCategory.SERVICE: 0.3,
            ComplaintCategory.NETWORK: 0.25,
            ComplaintCategory.TECHNICAL: 0.1,
        },
        plans=("business-pro", "business-unlimited"),
        tenure_years=(1.0, 10.0),
    ),
    SegmentProfile(
        name="price_sensitive",
        share=0.25,
        prepaid_share=0.9,
        calls_per_day=2.0,
        weekend_factor=1.0,
        weekday_rhythm=_rhythm(0.05, 0.50, 0.45),
        weekend_rhythm=_rhythm(0.06, 0.50, 0.44),
        mean_call_s=80.0,
        monthly_spend=7.0,
        topup_gap_days=12.0,
        contacts=10,
        on_net_share=0.75,
        international_share=0.02,
        roaming_share=0.0,
        complaints_per_year=0.9,
        complaint_mix={
            ComplaintCategory.PRICE: 0.5,
            ComplaintCategory.BILLING: 0.25,
            ComplaintCategory.NETWORK: 0.15,
            ComplaintCategory.OTHER: 0.1,
        },
        plans=("prepaid-basic", "prepaid-minutes"),
        tenure_years=(0.3, 5.0),
    ),
    SegmentProfile(
        name="long_tenure_loyal",
        share=0.15,
        prepaid_share=0.4,
        calls_per_day=2.8,
        weekend_factor=1.0,
        weekday_rhythm=_rhythm(0.02, 0.60, 0.38),
        weekend_rhythm=_rhythm(0.02, 0.60, 0.38),
        mean_call_s=170.0,
        monthly_spend=30.0,
        topup_gap_days=20.0,
        contacts=12,
        on_net_share=0.8,
        international_share=0.02,
        roaming_share=0.01,
        complaints_per_year=0.5,
        complaint_mix={
            ComplaintCategory.SERVICE: 0.4,
            ComplaintCategory.BILLING: 0.3,
            ComplaintCategory.NETWORK: 0.3,
        },
        plans=("classic", "classic-plus"),
        tenure_years=(6.0, 20.0),
    ),
)


class SimConfig(BaseModel):
    """Everything that shapes a simulated population; the defaults are the demo population."""

    model_config = ConfigDict(frozen=True)

    segments: tuple[SegmentProfile, ...] = DEFAULT_SEGMENTS
    call_rate_scale: Annotated[float, Field(gt=0)] = 1.25
    value_sigma: Annotated[float, Field(ge=0, le=3)] = 1.15
    """Log-normal spread of spend within a segment; 1.15 gives the 80/20 pattern overall."""
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    areas: Annotated[int, Field(ge=1, le=10_000)] = 40
    churn_share: Share = 0.12
    """Customers who port out or deactivate within the horizon (sudden heavy churners included)."""
    lead_days: tuple[float, float] = (14.0, 56.0)
    """Range of the time between the start of a churn trajectory and the churn itself."""
    silent_share: Share = 0.35
    """Churners whose trajectory shows no complaint at all."""
    port_out_share: Share = 0.7
    reactivation_share: Share = 0.06
    """Churners who come back 1-4 weeks later."""
    dip_recover_share: Share = 0.06
    holiday_share: Share = 0.06
    sudden_heavy_share: Share = 0.015
    """Heavy users who churn with one or two days of warning; counted inside ``churn_share``."""
    outage_days: tuple[float, float] = (2.0, 5.0)
    outages_per_60_days: Annotated[float, Field(ge=0)] = 1.0
    seasonal_dips: tuple[tuple[str, str, float], ...] = (
        ("12-22", "01-02", 0.8),
        ("08-01", "08-21", 0.85),
    )
    """Calendar periods (MM-DD, inclusive) when everyone's usage is multiplied by the factor."""
    plan_change_per_year: Annotated[float, Field(ge=0)] = 0.3
    late_share: Share = 0.03
    """Events that arrive late but within the allowed lateness."""
    too_late_share: Share = 0.002
    """Events that arrive after the allowed lateness (the worker dead-letters them)."""
    allowed_lateness_days: Annotated[float, Field(gt=0)] = 3.0
    duplicate_share: Share = 0.005
    """Events delivered twice (same ``event_id``, same content) within two hours."""

    @model_validator(mode="after")
    def _shares_add_up(self) -> SimConfig:
        total = sum(segment.share for segment in self.segments)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"segment shares sum to {total}, expected 1")
        if self.sudden_heavy_share > self.churn_share:
            raise ValueError("sudden_heavy_share must not exceed churn_share")
        if self.lead_days[0] <= 0 or self.lead_days[0] > self.lead_days[1]:
            raise ValueError(f"lead_days={self.lead_days}: need 0 < low <= high")
        return self
