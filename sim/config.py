"""The simulator's parameters, for every named population, in one place.

A population is a ``SimConfig``: its segments (how members call, pay and complain, and
how their contract attributes are distributed), the effects those attributes have on the
churn hazard, the churn shares and trajectories, the decoys, outages, call prices and the
delivery disorder. ``POPULATIONS`` names the ready-made ones (``default``,
``contract_heavy``); ``SimConfig()`` is ``default``. What stays in ``sim/day.py`` is the
shape of the records themselves (voucher denominations, complaint severities and
channels, bill noise).

Rates are per customer per day unless the name says otherwise; money is in ``currency``;
"multiplier" means a factor on the churn hazard (1 = no effect). The default population
keeps 20,000 customers x 120 days at about 7M events (about 2.9 events per customer per
day, calls dominating), which a laptop replays in minutes.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.events import ComplaintCategory, TopupChannel

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Multiplier = Annotated[float, Field(gt=0.0, le=100.0)]
Mix = dict[int, float]
"""Commitment term in months -> share of customers; shares are normalised when drawn."""
ChannelMix = dict[TopupChannel, float]
"""Top-up channel -> share of customers whose usual channel it is; normalised when drawn."""

RETAIL, ONLINE, APP, VOUCHER, AUTO, BANK = (
    TopupChannel.RETAIL,
    TopupChannel.ONLINE,
    TopupChannel.APP,
    TopupChannel.VOUCHER,
    TopupChannel.AUTO,
    TopupChannel.BANK,
)


class DayRhythm(BaseModel):
    """Relative call weight of night (00-07), day (07-18) and evening (18-24) hours."""

    model_config = ConfigDict(frozen=True)

    night: Annotated[float, Field(ge=0)]
    day: Annotated[float, Field(ge=0)]
    evening: Annotated[float, Field(ge=0)]


class SegmentProfile(BaseModel):
    """One customer segment: how its members call, pay and complain, and what they signed."""

    model_config = ConfigDict(frozen=True)

    # segment name, as written in truth.csv
    name: str
    # share of the population in this segment (all segments sum to 1)
    share: Share
    # share of members who are prepaid (the rest are postpaid)
    prepaid_share: Share
    # mean calls per day before the population's call_rate_scale
    calls_per_day: Annotated[float, Field(gt=0)]
    # weekend call volume relative to weekdays
    weekend_factor: Annotated[float, Field(gt=0)]
    # weekday hour-of-day call weights
    weekday_rhythm: DayRhythm
    # weekend hour-of-day call weights
    weekend_rhythm: DayRhythm
    # mean call duration in seconds (log-normal)
    mean_call_s: Annotated[float, Field(gt=0)]
    # mean monthly top-up or bill amount (log-normal across members, value_sigma)
    monthly_spend: Annotated[float, Field(gt=0)]
    # mean days between prepaid top-ups
    topup_gap_days: Annotated[float, Field(gt=0)]
    # size of a member's circle of regular contacts
    contacts: Annotated[int, Field(ge=1, le=500)]
    # mean share of contacts on the operator's own network
    on_net_share: Share
    # share of calls to international numbers
    international_share: Share
    # share of calls made while roaming
    roaming_share: Share
    # background complaints per member per year
    complaints_per_year: Annotated[float, Field(ge=0)]
    # background complaint categories (weights)
    complaint_mix: dict[ComplaintCategory, float]
    # plan names; a member gets one at random
    plans: tuple[str, ...]
    # list price per month of each plan, in the order of ``plans``
    plan_fees: tuple[float, ...]
    # tenure at the start of history, uniform between the two bounds, in years
    tenure_years: tuple[float, float]
    # commitment terms (months) of prepaid members
    prepaid_commitment: Mix
    # commitment terms (months) of postpaid members
    postpaid_commitment: Mix
    # usual top-up channels of prepaid members
    prepaid_channels: ChannelMix
    # usual bill payment channels of postpaid members
    postpaid_channels: ChannelMix
    # share of members with 0, 1, 2, 3 bundled services
    bundles: tuple[float, float, float, float]

    @model_validator(mode="after")
    def _plans_have_fees(self) -> SegmentProfile:
        if len(self.plan_fees) != len(self.plans) or min(self.plan_fees) <= 0:
            raise ValueError(f"{self.name}: need one positive fee per plan")
        for mix in (self.prepaid_commitment, self.postpaid_commitment):
            if not mix or min(mix) < 0 or max(mix) > 60 or sum(mix.values()) <= 0:
                raise ValueError(f"{self.name}: commitment mix {mix} needs terms in 0..60 months")
        for channels in (self.prepaid_channels, self.postpaid_channels):
            if sum(channels.values()) <= 0:
                raise ValueError(f"{self.name}: channel mix {channels} is empty")
        return self


class AttributeEffects(BaseModel):
    """How a customer's attributes multiply their churn hazard (``attribute_hazard``).

    The multipliers of one customer are multiplied together; churners are then drawn
    with probability proportional to the product, so the overall churn share stays the
    configured one and only who churns (and, for the term-end spike, when) moves.
    """

    model_config = ConfigDict(frozen=True)

    # multiplier for customers without a commitment term
    no_commitment: Multiplier = 1.6
    # multiplier for committed customers (outside the end-of-term window)
    committed: Multiplier = 0.6
    # extra multiplier when the term ends inside history (scaled by how much of the window falls inside)
    term_end_spike: Multiplier = 3.0
    # the end-of-term window opens this many days before the term ends
    term_end_before_days: Annotated[float, Field(ge=0)] = 30.0
    # and closes this many days after
    term_end_after_days: Annotated[float, Field(ge=0)] = 45.0
    # multiplier of a brand-new customer (tenure 0)
    tenure_new: Multiplier = 2.0
    # multiplier a long-tenured customer tends to
    tenure_long: Multiplier = 0.6
    # years over which the tenure multiplier moves from new to long (e-folding)
    tenure_decay_years: Annotated[float, Field(gt=0)] = 1.5
    # multiplier per usual top-up channel
    channel: dict[TopupChannel, Multiplier] = Field(
        default_factory=lambda: {RETAIL: 1.3, ONLINE: 1.0, APP: 0.9, VOUCHER: 1.4, AUTO: 0.6, BANK: 0.7}
    )
    # exponent on fee / the segment's median fee (0 = no effect; paying more than peers raises the hazard)
    fee_exponent: Annotated[float, Field(ge=0, le=5)] = 0.5
    # multiplier per bundled service (each bundle binds the customer a little more)
    per_bundle: Multiplier = 0.8
    # exponent on the area's dropped-call rate / the median area's (0 = network quality has no effect)
    quality_exponent: Annotated[float, Field(ge=0, le=5)] = 0.5


NEUTRAL_EFFECTS = AttributeEffects(
    no_commitment=1.0,
    committed=1.0,
    term_end_spike=1.0,
    tenure_new=1.0,
    tenure_long=1.0,
    channel={channel: 1.0 for channel in TopupChannel},
    fee_exponent=0.0,
    per_bundle=1.0,
    quality_exponent=0.0,
)
"""Attributes without any effect: churners drawn uniformly, as before attributes existed."""


def _rhythm(night: float, day: float, evening: float) -> DayRhythm:
    return DayRhythm(night=night, day=day, evening=evening)


_PREPAID_MOSTLY_NONE: Mix = {0: 0.95, 12: 0.05}
_PREPAID_CHANNELS: ChannelMix = {RETAIL: 0.35, ONLINE: 0.15, APP: 0.3, VOUCHER: 0.2}
_POSTPAID_CHANNELS: ChannelMix = {AUTO: 0.5, BANK: 0.3, ONLINE: 0.1, APP: 0.1}

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
        plan_fees=(12.0, 8.0),
        tenure_years=(0.2, 3.0),
        prepaid_commitment=_PREPAID_MOSTLY_NONE,
        postpaid_commitment={0: 0.3, 12: 0.5, 24: 0.2},
        prepaid_channels={RETAIL: 0.2, ONLINE: 0.2, APP: 0.5, VOUCHER: 0.1},
        postpaid_channels={AUTO: 0.4, BANK: 0.1, ONLINE: 0.2, APP: 0.3},
        bundles=(0.6, 0.3, 0.08, 0.02),
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
        plan_fees=(25.0, 35.0),
        tenure_years=(1.0, 8.0),
        prepaid_commitment={0: 0.9, 12: 0.1},
        postpaid_commitment={0: 0.2, 12: 0.3, 24: 0.5},
        prepaid_channels=_PREPAID_CHANNELS,
        postpaid_channels=_POSTPAID_CHANNELS,
        bundles=(0.2, 0.35, 0.3, 0.15),
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
        plan_fees=(55.0, 80.0),
        tenure_years=(1.0, 10.0),
        prepaid_commitment=_PREPAID_MOSTLY_NONE,
        postpaid_commitment={0: 0.1, 12: 0.3, 24: 0.6},
        prepaid_channels=_PREPAID_CHANNELS,
        postpaid_channels={AUTO: 0.45, BANK: 0.5, ONLINE: 0.05},
        bundles=(0.3, 0.3, 0.25, 0.15),
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
        plan_fees=(4.0, 6.0),
        tenure_years=(0.3, 5.0),
        prepaid_commitment={0: 0.97, 12: 0.03},
        postpaid_commitment={0: 0.4, 12: 0.4, 24: 0.2},
        prepaid_channels={RETAIL: 0.5, ONLINE: 0.05, APP: 0.15, VOUCHER: 0.3},
        postpaid_channels={AUTO: 0.3, BANK: 0.3, ONLINE: 0.2, RETAIL: 0.2},
        bundles=(0.8, 0.15, 0.05, 0.0),
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
        plan_fees=(18.0, 25.0),
        tenure_years=(6.0, 20.0),
        prepaid_commitment=_PREPAID_MOSTLY_NONE,
        postpaid_commitment={0: 0.35, 12: 0.35, 24: 0.3},
        prepaid_channels={RETAIL: 0.55, ONLINE: 0.1, APP: 0.1, VOUCHER: 0.25},
        postpaid_channels={AUTO: 0.5, BANK: 0.45, RETAIL: 0.05},
        bundles=(0.3, 0.35, 0.25, 0.1),
    ),
)
"""A mixed prepaid/postpaid operator: prepaid youth and budget segments, families, business."""


class SimConfig(BaseModel):
    """Everything that shapes a simulated population; the defaults are the ``default`` population."""

    model_config = ConfigDict(frozen=True)

    # the population's name (``churnwatch simulate --population NAME``)
    name: str = "default"
    # customer segments
    segments: tuple[SegmentProfile, ...] = DEFAULT_SEGMENTS
    # global factor on every segment's calls_per_day
    call_rate_scale: Annotated[float, Field(gt=0)] = 1.25
    # log-normal spread of spend within a segment; 1.15 gives the 80/20 pattern overall
    value_sigma: Annotated[float, Field(ge=0, le=3)] = 1.15
    # currency of amounts and fees
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    # number of network areas (each with its own dropped-call rate)
    areas: Annotated[int, Field(ge=1, le=10_000)] = 40
    # median share of calls dropped in an area (log-normal across areas)
    area_drop_rate: Annotated[float, Field(gt=0, le=0.5)] = 0.012
    # log-normal spread of the dropped-call rate across areas
    area_drop_sigma: Annotated[float, Field(ge=0, le=3)] = 0.6
    # how strongly a customer's fee follows their spend (exponent on the spend factor)
    fee_value_exponent: Annotated[float, Field(ge=0, le=2)] = 0.4
    # log-normal spread of fees among customers of the same plan and spend
    fee_sigma: Annotated[float, Field(ge=0, le=2)] = 0.2
    # share of customers who join during history (the rest joined before it began)
    joiner_share: Share = 0.05
    # joiners' activation days are uniform over this leading share of history
    joiner_window: Annotated[float, Field(gt=0, le=1)] = 0.5
    # a joiner's churn trajectory starts at least this many days after activation
    joiner_settle_days: Annotated[float, Field(ge=0)] = 14.0
    # share of top-ups and bill payments made through the customer's usual channel
    usual_channel_share: Share = 0.85
    # how attributes move the churn hazard
    effects: AttributeEffects = AttributeEffects()
    # customers who port out or deactivate within the horizon (sudden heavy churners included)
    churn_share: Share = 0.12
    # share of churners whose behaviour does not change before they leave (sudden heavy churners included)
    no_warning_share: Share = 0.25
    # range of the time between the start of a churn trajectory and the churn itself, in days
    lead_days: tuple[float, float] = (14.0, 56.0)
    # churners (with a trajectory) whose usage declines
    usage_signal_share: Share = 0.75
    # churners (with a trajectory) whose top-ups stretch and shrink
    topup_signal_share: Share = 0.7
    # churners (with a trajectory) whose calls shift to off-net numbers
    off_net_signal_share: Share = 0.4
    # range of a trajectory's strength (how far behaviour falls by the churn, 0..1)
    strength: tuple[float, float] = (0.35, 0.95)
    # range of a trajectory's curvature exponent (below 1: early decline, above 1: late)
    shape: tuple[float, float] = (0.6, 2.5)
    # churners (with a trajectory) whose trajectory shows no complaint at all
    silent_share: Share = 0.35
    # churners who port out (the rest deactivate); prepaid 15 points fewer, postpaid 10 more
    port_out_share: Share = 0.7
    # churners who come back 1-4 weeks later
    reactivation_share: Share = 0.06
    # customers who stay but dip for 10-25 days and recover
    dip_recover_share: Share = 0.06
    # customers who stay but go on holiday (roaming, little usage) for 7-16 days
    holiday_share: Share = 0.06
    # heavy users who churn with one or two days of warning; counted inside churn_share
    sudden_heavy_share: Share = 0.015
    # range of an area outage's length, in days
    outage_days: tuple[float, float] = (2.0, 5.0)
    # area outages per 60 days of history
    outages_per_60_days: Annotated[float, Field(ge=0)] = 1.0
    # calendar periods (MM-DD, inclusive) when everyone's usage is multiplied by the factor
    seasonal_dips: tuple[tuple[str, str, float], ...] = (
        ("12-22", "01-02", 0.8),
        ("08-01", "08-21", 0.85),
    )
    # usage of a churned customer who came back, relative to before
    reactivated_usage: Annotated[float, Field(ge=0)] = 0.8
    # days between churn and a reactivation
    reactivation_after_days: tuple[float, float] = (7.0, 28.0)
    # days of (invisible) warning of a sudden heavy churner
    sudden_lead_days: tuple[float, float] = (0.5, 2.5)
    # categories of a churner's complaint burst (weights)
    burst_mix: dict[ComplaintCategory, float] = Field(
        default_factory=lambda: {
            ComplaintCategory.NETWORK: 0.3,
            ComplaintCategory.PRICE: 0.3,
            ComplaintCategory.BILLING: 0.2,
            ComplaintCategory.SERVICE: 0.15,
            ComplaintCategory.TECHNICAL: 0.05,
        }
    )
    # daily complaint probability of a bursting churner: base + slope x strength x progress
    burst_per_day: tuple[float, float] = (0.02, 0.12)
    # share of calls moved off-net at full progress, per unit of strength (off-net signal)
    off_net_shift: Share = 0.6
    # dropped-call factor of a churner whose burst is about the network
    network_trouble_drop_factor: Annotated[float, Field(ge=1)] = 2.5
    # how far a top-up fade stretches top-up gaps (1 = the full strength)
    topup_fade: Share = 0.85
    # range of a dip decoy's length, in days
    dip_days: tuple[float, float] = (10.0, 25.0)
    # range of a dip decoy's usage level, relative to normal
    dip_depth: tuple[float, float] = (0.25, 0.6)
    # range of a holiday decoy's length, in days
    holiday_days: tuple[float, float] = (7.0, 16.0)
    # range of a holiday decoy's usage level, relative to normal
    holiday_depth: tuple[float, float] = (0.3, 0.45)
    # share of a holiday maker's calls made while roaming
    holiday_roaming_share: Share = 0.6
    # usage level of customers in an outage area during the outage
    outage_usage: Annotated[float, Field(ge=0)] = 0.85
    # dropped-call factor in an outage area during the outage
    outage_drop_factor: Annotated[float, Field(ge=1)] = 6.0
    # daily probability of a network complaint per customer in an outage area
    outage_complaints_per_day: Share = 0.06
    # share of calls that are outgoing
    outgoing_share: Share = 0.55
    # share of calls to one-off numbers outside the customer's circle
    one_off_share: Share = 0.15
    # per-minute price of an on-net, off-net and international call (prepaid outgoing; postpaid international)
    call_rate_per_minute: tuple[float, float, float] = (0.04, 0.10, 0.45)
    # per-minute surcharge of an outgoing call while roaming
    roaming_rate_per_minute: Annotated[float, Field(ge=0)] = 0.3
    # plan changes per customer per year
    plan_change_per_year: Annotated[float, Field(ge=0)] = 0.3
    # events that arrive late but within the allowed lateness
    late_share: Share = 0.03
    # events that arrive after the allowed lateness (the worker dead-letters them)
    too_late_share: Share = 0.002
    # the worker's allowed lateness, in days
    allowed_lateness_days: Annotated[float, Field(gt=0)] = 3.0
    # mean delay of a late event (exponential, at least 5 minutes, below 90% of the lateness), in hours
    late_mean_hours: Annotated[float, Field(gt=0)] = 6.0
    # a duplicate arrives within this many hours of the original
    duplicate_within_hours: Annotated[float, Field(gt=0)] = 2.0
    # events delivered twice (same event_id, same content) within two hours
    duplicate_share: Share = 0.005

    @model_validator(mode="after")
    def _shares_add_up(self) -> SimConfig:
        total = sum(segment.share for segment in self.segments)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"segment shares sum to {total}, expected 1")
        if self.sudden_heavy_share > self.churn_share:
            raise ValueError("sudden_heavy_share must not exceed churn_share")
        if self.lead_days[0] <= 0 or self.lead_days[0] > self.lead_days[1]:
            raise ValueError(f"lead_days={self.lead_days}: need 0 < low <= high")
        if not 0 <= self.strength[0] <= self.strength[1] <= 1:
            raise ValueError(f"strength={self.strength}: need 0 <= low <= high <= 1")
        if not 0 < self.shape[0] <= self.shape[1]:
            raise ValueError(f"shape={self.shape}: need 0 < low <= high")
        return self


CONTRACT_HEAVY_SEGMENTS: tuple[SegmentProfile, ...] = (
    SegmentProfile(
        name="consumer_contract",
        share=0.40,
        prepaid_share=0.05,
        calls_per_day=2.9,
        weekend_factor=1.1,
        weekday_rhythm=_rhythm(0.04, 0.44, 0.52),
        weekend_rhythm=_rhythm(0.05, 0.48, 0.47),
        mean_call_s=140.0,
        monthly_spend=45.0,
        topup_gap_days=30.0,
        contacts=20,
        on_net_share=0.5,
        international_share=0.04,
        roaming_share=0.02,
        complaints_per_year=1.2,
        complaint_mix={
            ComplaintCategory.BILLING: 0.4,
            ComplaintCategory.NETWORK: 0.25,
            ComplaintCategory.PRICE: 0.2,
            ComplaintCategory.SERVICE: 0.15,
        },
        plans=("smart-m", "smart-l", "smart-xl"),
        plan_fees=(29.0, 39.0, 55.0),
        tenure_years=(0.5, 9.0),
        prepaid_commitment={0: 1.0},
        postpaid_commitment={0: 0.1, 12: 0.2, 24: 0.7},
        prepaid_channels={RETAIL: 0.5, APP: 0.5},
        postpaid_channels={AUTO: 0.65, BANK: 0.2, ONLINE: 0.1, RETAIL: 0.05},
        bundles=(0.25, 0.35, 0.25, 0.15),
    ),
    SegmentProfile(
        name="sim_only",
        share=0.20,
        prepaid_share=0.2,
        calls_per_day=2.5,
        weekend_factor=1.2,
        weekday_rhythm=_rhythm(0.12, 0.38, 0.50),
        weekend_rhythm=_rhythm(0.2, 0.35, 0.45),
        mean_call_s=100.0,
        monthly_spend=18.0,
        topup_gap_days=20.0,
        contacts=25,
        on_net_share=0.45,
        international_share=0.05,
        roaming_share=0.02,
        complaints_per_year=0.9,
        complaint_mix={
            ComplaintCategory.PRICE: 0.35,
            ComplaintCategory.TECHNICAL: 0.3,
            ComplaintCategory.NETWORK: 0.25,
            ComplaintCategory.OTHER: 0.1,
        },
        plans=("sim-only-10", "sim-only-20"),
        plan_fees=(10.0, 16.0),
        tenure_years=(0.1, 4.0),
        prepaid_commitment={0: 1.0},
        postpaid_commitment={0: 0.7, 12: 0.3},
        prepaid_channels={ONLINE: 0.4, APP: 0.4, VOUCHER: 0.2},
        postpaid_channels={AUTO: 0.3, ONLINE: 0.35, APP: 0.3, BANK: 0.05},
        bundles=(0.85, 0.12, 0.03, 0.0),
    ),
    SegmentProfile(
        name="enterprise",
        share=0.15,
        prepaid_share=0.0,
        calls_per_day=4.6,
        weekend_factor=0.3,
        weekday_rhythm=_rhythm(0.02, 0.82, 0.16),
        weekend_rhythm=_rhythm(0.05, 0.6, 0.35),
        mean_call_s=190.0,
        monthly_spend=120.0,
        topup_gap_days=30.0,
        contacts=60,
        on_net_share=0.55,
        international_share=0.12,
        roaming_share=0.06,
        complaints_per_year=1.6,
        complaint_mix={
            ComplaintCategory.SERVICE: 0.35,
            ComplaintCategory.BILLING: 0.3,
            ComplaintCategory.NETWORK: 0.3,
            ComplaintCategory.TECHNICAL: 0.05,
        },
        plans=("corporate-pool", "corporate-global"),
        plan_fees=(70.0, 110.0),
        tenure_years=(1.0, 12.0),
        prepaid_commitment={0: 1.0},
        postpaid_commitment={12: 0.2, 24: 0.5, 36: 0.3},
        prepaid_channels={RETAIL: 1.0},
        postpaid_channels={BANK: 0.75, AUTO: 0.25},
        bundles=(0.1, 0.3, 0.35, 0.25),
    ),
    SegmentProfile(
        name="prepaid_budget",
        share=0.15,
        prepaid_share=0.95,
        calls_per_day=2.1,
        weekend_factor=1.0,
        weekday_rhythm=_rhythm(0.06, 0.5, 0.44),
        weekend_rhythm=_rhythm(0.07, 0.5, 0.43),
        mean_call_s=75.0,
        monthly_spend=9.0,
        topup_gap_days=10.0,
        contacts=10,
        on_net_share=0.7,
        international_share=0.06,
        roaming_share=0.0,
        complaints_per_year=0.7,
        complaint_mix={
            ComplaintCategory.PRICE: 0.55,
            ComplaintCategory.NETWORK: 0.25,
            ComplaintCategory.BILLING: 0.2,
        },
        plans=("payg", "payg-bundle"),
        plan_fees=(3.0, 7.0),
        tenure_years=(0.1, 6.0),
        prepaid_commitment={0: 1.0},
        postpaid_commitment={0: 0.6, 12: 0.4},
        prepaid_channels={RETAIL: 0.45, VOUCHER: 0.45, APP: 0.1},
        postpaid_channels={BANK: 0.5, RETAIL: 0.5},
        bundles=(0.95, 0.05, 0.0, 0.0),
    ),
    SegmentProfile(
        name="premium_household",
        share=0.10,
        prepaid_share=0.0,
        calls_per_day=3.4,
        weekend_factor=1.15,
        weekday_rhythm=_rhythm(0.03, 0.45, 0.52),
        weekend_rhythm=_rhythm(0.04, 0.5, 0.46),
        mean_call_s=170.0,
        monthly_spend=85.0,
        topup_gap_days=30.0,
        contacts=25,
        on_net_share=0.6,
        international_share=0.06,
        roaming_share=0.05,
        complaints_per_year=1.1,
        complaint_mix={
            ComplaintCategory.SERVICE: 0.4,
            ComplaintCategory.BILLING: 0.35,
            ComplaintCategory.NETWORK: 0.25,
        },
        plans=("household-max", "household-unlimited"),
        plan_fees=(60.0, 85.0),
        tenure_years=(2.0, 15.0),
        prepaid_commitment={0: 1.0},
        postpaid_commitment={0: 0.05, 12: 0.15, 24: 0.8},
        prepaid_channels={RETAIL: 1.0},
        postpaid_channels={AUTO: 0.8, BANK: 0.2},
        bundles=(0.05, 0.2, 0.4, 0.35),
    ),
)
"""A postpaid-contract operator: two-year contracts, direct debit, bundles, few prepaid."""

CONTRACT_HEAVY = SimConfig(
    name="contract_heavy",
    segments=CONTRACT_HEAVY_SEGMENTS,
    call_rate_scale=1.2,
    value_sigma=0.9,
    areas=60,
    area_drop_rate=0.009,
    area_drop_sigma=0.8,
    fee_value_exponent=0.25,
    fee_sigma=0.3,
    joiner_share=0.08,
    joiner_window=0.6,
    usual_channel_share=0.92,
    effects=AttributeEffects(
        no_commitment=2.2,
        committed=0.45,
        term_end_spike=5.0,
        term_end_before_days=14.0,
        term_end_after_days=30.0,
        tenure_new=2.5,
        tenure_long=0.7,
        tenure_decay_years=0.8,
        channel={RETAIL: 1.6, ONLINE: 1.2, APP: 1.1, VOUCHER: 1.8, AUTO: 0.55, BANK: 0.8},
        fee_exponent=0.9,
        per_bundle=0.7,
        quality_exponent=0.8,
    ),
    churn_share=0.20,
    no_warning_share=0.4,
    lead_days=(10.0, 45.0),
    usage_signal_share=0.6,
    topup_signal_share=0.8,
    off_net_signal_share=0.55,
    strength=(0.3, 0.9),
    shape=(0.8, 3.0),
    silent_share=0.5,
    port_out_share=0.8,
    reactivation_share=0.03,
    dip_recover_share=0.04,
    holiday_share=0.08,
    sudden_heavy_share=0.02,
    outage_days=(1.0, 3.0),
    outages_per_60_days=2.0,
    seasonal_dips=(("12-24", "12-31", 0.85), ("07-15", "08-15", 0.9)),
    plan_change_per_year=0.5,
    late_share=0.05,
    too_late_share=0.003,
    duplicate_share=0.01,
)
"""The second population: differs from ``default`` in segments, attribute mixes and effects,
churn share (20%), no-warning share (40%) and disorder, so that whatever is fitted on one
can be judged on the other."""

POPULATIONS: dict[str, SimConfig] = {"default": SimConfig(), "contract_heavy": CONTRACT_HEAVY}
"""Ready-made populations by name."""


def population_config(name: str) -> SimConfig:
    """The named population's configuration.

    >>> population_config("contract_heavy").churn_share
    0.2
    >>> population_config("nope")
    Traceback (most recent call last):
    ...
    KeyError: "population='nope': choose one of default, contract_heavy"
    """
    try:
        return POPULATIONS[name]
    except KeyError:
        raise KeyError(f"population={name!r}: choose one of {', '.join(POPULATIONS)}") from None
