"""The simulated customer base: static traits, contract attributes, churn fates and decoys.

Everything a customer will do is decided here, up front and from the seed, so the ground
truth (``truth.csv``) is known before the first event and memory grows with the number of
customers only (about 160 bytes per customer).

Who churns depends on the customer: each one's attributes (commitment and where its term
stands, tenure, usual payment channel, fee against the segment's, bundles, the area's
network quality) give a hazard multiplier, and churners are drawn with probabilities
rising with it (``attribute_hazard``). How they churn (a trajectory of declining
behaviour, or none at all) is drawn independently of who they are.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from schemas.events import ComplaintCategory, TopupChannel
from sim.config import AttributeEffects, SimConfig
from sim.errors import SimulationError

SECONDS_PER_DAY = 86_400

CATEGORIES: tuple[ComplaintCategory, ...] = tuple(ComplaintCategory)
"""Complaint category codes used in the event table (index = code)."""

CHANNELS: tuple[TopupChannel, ...] = tuple(TopupChannel)
"""Top-up channel codes used in the population and the event table (index = code)."""

DAYS_PER_MONTH = 30.44
DAYS_PER_YEAR = 365.25


class Signal(IntEnum):
    """Churn signals a trajectory may show; a churner shows a random subset."""

    USAGE = 1
    TOPUPS = 2
    OFF_NET = 4
    COMPLAINTS = 8


class Decoy(IntEnum):
    """Patterns that look like churn, or churn that does not look like it."""

    NONE = 0
    DIP_RECOVER = 1
    HOLIDAY = 2
    OUTAGE = 3
    SUDDEN_HEAVY = 4


Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Outage:
    """A network outage: every customer of ``area`` sees dropped calls between the days."""

    area: int
    start_day: float
    end_day: float


@dataclass(slots=True)
class Population:
    """Per-customer traits (index = customer number) plus the area-level network state.

    Days are counted from the start of history: ``activation_day`` is negative for
    customers who joined before it, ``inf`` means never.
    """

    config: SimConfig
    days: int
    start: datetime
    segment: npt.NDArray[np.int8]
    prepaid: npt.NDArray[np.bool_]
    plan: npt.NDArray[np.int16]
    area: npt.NDArray[np.int16]
    tenure_years: npt.NDArray[np.float32]  # at the start of history; 0 for joiners
    activation_day: Floats
    commitment_months: npt.NDArray[np.int8]
    term_end_day: Floats  # inf: no commitment
    topup_channel: npt.NDArray[np.int8]  # usual channel, index into CHANNELS
    fee_factor: Floats  # the customer's fee relative to the plan's list price
    monthly_fee: Floats  # at the start of history (or activation)
    bundled_services: npt.NDArray[np.int8]
    attribute_hazard: Floats
    no_warning: npt.NDArray[np.bool_]
    monthly_spend: Floats
    call_rate: Floats
    on_net_permille: npt.NDArray[np.int32]
    complaint_rate: Floats
    topup_gap_days: Floats
    churn_day: Floats  # inf: never churns
    trajectory_start_day: Floats
    strength: Floats
    shape: Floats
    signals: npt.NDArray[np.uint8]
    burst_category: npt.NDArray[np.int8]
    port_out: npt.NDArray[np.bool_]
    reactivation_day: Floats  # inf: no reactivation
    decoy: npt.NDArray[np.int8]
    decoy_start_day: Floats
    decoy_end_day: Floats
    decoy_depth: Floats
    area_drop_rate: Floats
    outages: tuple[Outage, ...]
    plans: tuple[str, ...]
    plan_fees: Floats  # list price per plan index

    @property
    def size(self) -> int:
        return int(self.segment.shape[0])

    def customer_id(self, index: int) -> str:
        """Stable id of customer ``index``.

        >>> pop = build_population(10, days=30, seed=1, start=datetime(2026, 1, 1))
        >>> pop.customer_id(3)
        'C0000003'
        """
        return f"C{index:07d}"

    def churns(self) -> npt.NDArray[np.bool_]:
        """Customers who churn within the horizon."""
        return np.isfinite(self.churn_day)

    def joins_during_history(self) -> npt.NDArray[np.bool_]:
        """Customers activated after the start of history (the rest get a profile at go-live)."""
        joined: npt.NDArray[np.bool_] = self.activation_day >= 0
        return joined

    def write_truth(self, path: Path) -> None:
        """Write the ground truth, one row per customer, as CSV (times RFC 3339, UTC)."""
        segment_names = [segment.name for segment in self.config.segments]
        # one vectorised conversion: a datetime per customer would double the file's writing time
        start = self.start.astimezone(UTC).replace(tzinfo=None) if self.start.tzinfo else self.start
        offset_s = np.floor(self.activation_day * SECONDS_PER_DAY).astype("timedelta64[s]")
        activated_on = np.datetime_as_string(np.datetime64(start, "s") + offset_s, unit="s").tolist()
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(TRUTH_COLUMNS)
            for index in range(self.size):
                writer.writerow(self._truth_row(index, segment_names, f"{activated_on[index]}Z"))

    def _truth_row(self, index: int, segment_names: list[str], activated_on: str) -> list[Any]:
        churns = bool(np.isfinite(self.churn_day[index]))
        decoy = Decoy(int(self.decoy[index]))
        signals = int(self.signals[index])
        signal_names = [s.name.lower() for s in Signal if signals & s]
        if churns and signals & Signal.COMPLAINTS:
            category = CATEGORIES[int(self.burst_category[index])].value
            signal_names[-1] = f"complaints:{category}"
        return [
            self.customer_id(index),
            segment_names[int(self.segment[index])],
            "prepaid" if self.prepaid[index] else "postpaid",
            self.plans[int(self.plan[index])],
            int(self.area[index]),
            round(float(self.tenure_years[index]), 2),
            round(float(self.monthly_spend[index]), 2),
            int(churns),
            ("port_out" if self.port_out[index] else "deactivated") if churns else "",
            self._iso(self.churn_day[index]) if churns else "",
            self._iso(self.trajectory_start_day[index]) if churns else "",
            round(float(self.churn_day[index] - self.trajectory_start_day[index]), 2) if churns else "",
            "|".join(signal_names) if churns else "",
            round(float(self.strength[index]), 3) if churns else "",
            decoy.name.lower() if decoy != Decoy.NONE else "",
            self._iso(self.decoy_start_day[index]) if decoy != Decoy.NONE else "",
            self._iso(self.decoy_end_day[index]) if decoy != Decoy.NONE else "",
            self._iso(self.reactivation_day[index])
            if np.isfinite(self.reactivation_day[index]) and self.reactivation_day[index] < self.days
            else "",
            int(self.commitment_months[index]),
            round(float(self.monthly_fee[index]), 2),
            int(self.bundled_services[index]),
            CHANNELS[int(self.topup_channel[index])].value,
            activated_on,
            int(self.no_warning[index]),
            round(float(self.attribute_hazard[index]), 4),
        ]

    def _iso(self, day: float) -> str:
        moment = self.start + timedelta(seconds=int(np.floor(float(day) * SECONDS_PER_DAY)))
        return moment.isoformat().replace("+00:00", "Z")


TRUTH_COLUMNS = (
    "customer_id",
    "segment",
    "payment_type",
    "plan",
    "area",
    "tenure_years",
    "monthly_value",
    "churns",
    "churn_kind",
    "churn_time",
    "trajectory_start",
    "lead_days",
    "signals",
    "strength",
    "decoy_kind",
    "decoy_start",
    "decoy_end",
    "reactivated_time",
    "commitment_months",
    "monthly_fee",
    "bundled_services",
    "topup_channel",
    "activated_on",
    "no_warning",
    "attribute_hazard",
)


def build_population(
    customers: int, *, days: int, seed: int, start: datetime, config: SimConfig | None = None
) -> Population:
    """Draw a population from ``seed``; the same arguments always give the same population."""
    config = config or SimConfig()
    if customers < 1 or days < 1:
        raise SimulationError(f"customers={customers}, days={days}: both must be at least 1")
    rng = np.random.default_rng([seed, 0x505])
    segments = config.segments
    n = customers
    segment = rng.choice(len(segments), size=n, p=[s.share for s in segments]).astype(np.int8)

    def per_segment(values: list[float]) -> Floats:
        return np.asarray(values, dtype=np.float64)[segment]

    prepaid = rng.random(n) < per_segment([s.prepaid_share for s in segments])
    plans = tuple(plan for s in segments for plan in s.plans)
    plan_fees = np.asarray([fee for s in segments for fee in s.plan_fees], dtype=np.float64)
    plan_offset = np.cumsum([0] + [len(s.plans) for s in segments[:-1]])
    plan_count = np.asarray([len(s.plans) for s in segments])[segment]
    plan = (plan_offset[segment] + rng.integers(0, 1 << 30, n) % plan_count).astype(np.int16)
    area = rng.integers(0, config.areas, n).astype(np.int16)
    tenure_low = per_segment([s.tenure_years[0] for s in segments])
    tenure_high = per_segment([s.tenure_years[1] for s in segments])
    tenure_years = (tenure_low + rng.random(n) * (tenure_high - tenure_low)).astype(np.float32)
    sigma = config.value_sigma
    value_factor = rng.lognormal(-sigma * sigma / 2, sigma, n)
    monthly_spend = np.minimum(per_segment([s.monthly_spend for s in segments]) * value_factor, 5e4)
    call_rate = (
        per_segment([s.calls_per_day for s in segments])
        * config.call_rate_scale
        * value_factor**0.3
        * rng.lognormal(-0.08, 0.4, n)
    )
    on_net = np.clip(per_segment([s.on_net_share for s in segments]) + rng.normal(0, 0.1, n), 0, 1)
    complaint_rate = (
        per_segment([s.complaints_per_year for s in segments]) / 365.0 * rng.lognormal(-0.3, 0.8, n)
    )
    usual_gap = per_segment([s.topup_gap_days for s in segments]) * rng.uniform(0.7, 1.4, n)
    # a prepaid customer buys at least a 5-unit voucher, so small spenders top up less often
    usual_gap = np.where(prepaid, np.clip(np.maximum(usual_gap, 150.0 / monthly_spend), 3.0, 60.0), 30.0)

    attributes = _draw_attributes(
        np.random.default_rng([seed, 0xA77]), config, days, segment, prepaid, tenure_years, value_factor
    )
    tenure_years = np.where(attributes["activation_day"] >= 0, 0.0, tenure_years).astype(np.float32)
    fee_factor = attributes.pop("fee_factor")
    monthly_fee = np.round(plan_fees[plan] * fee_factor, 2)
    area_drop_rate = np.clip(
        rng.lognormal(np.log(config.area_drop_rate), config.area_drop_sigma, config.areas), 0.002, 0.08
    )
    hazard = attribute_hazard(
        config.effects,
        commitment_months=attributes["commitment_months"],
        term_end_day=attributes["term_end_day"],
        days=days,
        tenure_years=tenure_years,
        channel=attributes["topup_channel"],
        fee_ratio=monthly_fee / _group_median(monthly_fee, segment),
        bundles=attributes["bundled_services"],
        drop_ratio=area_drop_rate[area] / np.median(area_drop_rate),
    )

    fates = _draw_churn(rng, config, n, days, call_rate, prepaid, hazard, attributes)
    decoys = _draw_decoys(rng, config, n, days, fates["churn_day"])
    kinds = decoys.pop("decoy_kinds")
    decoy = np.where(kinds != Decoy.NONE, kinds, fates["decoy"]).astype(np.int8)
    fates["decoy"] = decoy
    sudden = decoy == Decoy.SUDDEN_HEAVY
    decoys["decoy_start_day"][sudden] = fates["trajectory_start_day"][sudden]
    decoys["decoy_end_day"][sudden] = fates["churn_day"][sudden]
    outages = _draw_outages(rng, config, days)
    for outage in outages:
        hit = (area == outage.area) & (decoy == Decoy.NONE) & ~np.isfinite(fates["churn_day"])
        decoy[hit] = Decoy.OUTAGE
        decoys["decoy_start_day"][hit] = outage.start_day
        decoys["decoy_end_day"][hit] = outage.end_day

    return Population(
        config=config,
        days=days,
        start=start,
        segment=segment,
        prepaid=prepaid,
        plan=plan,
        area=area,
        tenure_years=tenure_years,
        fee_factor=fee_factor,
        monthly_fee=monthly_fee,
        attribute_hazard=hazard,
        monthly_spend=monthly_spend,
        call_rate=call_rate,
        on_net_permille=(on_net * 1000).astype(np.int32),
        complaint_rate=complaint_rate,
        topup_gap_days=usual_gap,
        area_drop_rate=area_drop_rate,
        outages=outages,
        plans=plans,
        plan_fees=plan_fees,
        **attributes,
        **fates,
        **decoys,
    )


def _group_median(values: Floats, group: npt.NDArray[np.int8]) -> Floats:
    """Each element's group median (the norm a customer is compared with).

    >>> _group_median(np.asarray([1.0, 3.0, 10.0]), np.asarray([0, 0, 1], dtype=np.int8)).tolist()
    [2.0, 2.0, 10.0]
    """
    medians = np.ones(int(group.max()) + 1)
    for code in np.unique(group):
        medians[code] = np.median(values[group == code])
    norm: Floats = medians[group]
    return norm


def _draw_attributes(
    rng: np.random.Generator,
    config: SimConfig,
    days: int,
    segment: npt.NDArray[np.int8],
    prepaid: npt.NDArray[np.bool_],
    tenure_years: npt.NDArray[np.float32],
    value_factor: Floats,
) -> dict[str, Any]:
    """Contract attributes per segment and payment type, from their own random stream.

    A committed customer sits somewhere in their current term (renewed terms start again),
    but no term starts before the customer joined.
    """
    n = segment.shape[0]
    commitment = np.zeros(n, dtype=np.int8)
    channel = np.zeros(n, dtype=np.int8)
    bundles = np.zeros(n, dtype=np.int8)
    for code, profile in enumerate(config.segments):
        members = segment == code
        for is_prepaid, terms, channels in (
            (True, profile.prepaid_commitment, profile.prepaid_channels),
            (False, profile.postpaid_commitment, profile.postpaid_channels),
        ):
            chosen = np.flatnonzero(members & (prepaid == is_prepaid))
            commitment[chosen] = _choose(rng, list(terms), list(terms.values()), chosen.shape[0])
            codes = [CHANNELS.index(c) for c in channels]
            channel[chosen] = _choose(rng, codes, list(channels.values()), chosen.shape[0])
        chosen = np.flatnonzero(members)
        bundles[chosen] = _choose(rng, [0, 1, 2, 3], list(profile.bundles), chosen.shape[0])

    activation_day = -tenure_years.astype(np.float64) * DAYS_PER_YEAR
    joins = np.flatnonzero(rng.random(n) < config.joiner_share)
    activation_day[joins] = rng.uniform(0.0, config.joiner_window * days, joins.shape[0])
    term_days = commitment * DAYS_PER_MONTH
    term_start = np.maximum(-rng.random(n) * term_days, activation_day)
    term_end_day = np.where(commitment > 0, term_start + term_days, np.inf)
    sigma = config.fee_sigma
    fee_factor = value_factor**config.fee_value_exponent * rng.lognormal(-sigma * sigma / 2, sigma, n)
    return {
        "commitment_months": commitment,
        "term_end_day": term_end_day,
        "topup_channel": channel,
        "bundled_services": bundles,
        "activation_day": activation_day,
        "fee_factor": fee_factor,
    }


def _choose(rng: np.random.Generator, values: list[int], weights: list[float], size: int) -> Any:
    """``size`` draws of ``values`` with probabilities proportional to ``weights``."""
    p = np.asarray(weights, dtype=np.float64)
    return np.asarray(values)[rng.choice(len(values), size=size, p=p / p.sum())]


def term_end_overlap(term_end_day: Floats, days: int, effects: AttributeEffects) -> Floats:
    """Share of each customer's end-of-term window inside the churnable part of history.

    Churn falls in the last three quarters of history (``_draw_churn``), so that is where
    a term ending can show; 0 for customers without a commitment.

    >>> from sim.config import AttributeEffects
    >>> effects = AttributeEffects(term_end_before_days=10.0, term_end_after_days=10.0)
    >>> term_end_overlap(np.asarray([np.inf, 50.0, 96.0, 300.0]), 100, effects).tolist()
    [0.0, 1.0, 0.7, 0.0]
    """
    width = effects.term_end_before_days + effects.term_end_after_days
    finite = np.isfinite(term_end_day)
    end = np.where(finite, term_end_day, 0.0)
    first = np.maximum(end - effects.term_end_before_days, 0.25 * days)
    last = np.minimum(end + effects.term_end_after_days, float(days))
    overlap: Floats = np.where(finite, np.clip(last - first, 0.0, None) / max(width, 1e-9), 0.0)
    return overlap


def attribute_hazard(
    effects: AttributeEffects,
    *,
    commitment_months: npt.NDArray[np.int8],
    term_end_day: Floats,
    days: int,
    tenure_years: npt.NDArray[np.float32],
    channel: npt.NDArray[np.int8],
    fee_ratio: Floats,
    bundles: npt.NDArray[np.int8],
    drop_ratio: Floats,
) -> Floats:
    """The churn hazard multiplier each customer's attributes give (1 = no effect).

    ``fee_ratio`` is the fee over the segment's median fee, ``drop_ratio`` the area's
    dropped-call rate over the median area's; both are clipped to 1/4..4 before the
    exponent so one outlier cannot dominate the draw.

    >>> from sim.config import NEUTRAL_EFFECTS
    >>> one = np.ones(1)
    >>> args = dict(commitment_months=np.asarray([0], dtype=np.int8), term_end_day=np.full(1, np.inf),
    ...     days=100, tenure_years=np.zeros(1, dtype=np.float32), channel=np.zeros(1, dtype=np.int8),
    ...     fee_ratio=one * 2.0, bundles=np.asarray([1], dtype=np.int8), drop_ratio=one)
    >>> attribute_hazard(NEUTRAL_EFFECTS, **args).tolist()
    [1.0]
    >>> round(float(attribute_hazard(NEUTRAL_EFFECTS.model_copy(update={"fee_exponent": 1.0}), **args)[0]), 3)
    2.0
    """
    committed = commitment_months > 0
    spike = 1.0 + (effects.term_end_spike - 1.0) * term_end_overlap(term_end_day, days, effects)
    commitment = np.where(committed, effects.committed * spike, effects.no_commitment)
    tenure = effects.tenure_long + (effects.tenure_new - effects.tenure_long) * np.exp(
        -np.maximum(tenure_years.astype(np.float64), 0.0) / effects.tenure_decay_years
    )
    by_channel = np.asarray([effects.channel.get(c, 1.0) for c in CHANNELS])[channel]
    fee = np.clip(fee_ratio, 0.25, 4.0) ** effects.fee_exponent
    bundled = effects.per_bundle ** bundles.astype(np.float64)
    quality = np.clip(drop_ratio, 0.25, 4.0) ** effects.quality_exponent
    hazard: Floats = commitment * tenure * by_channel * fee * bundled * quality
    return hazard


def _draw_churn(
    rng: np.random.Generator,
    config: SimConfig,
    n: int,
    days: int,
    call_rate: Floats,
    prepaid: npt.NDArray[np.bool_],
    hazard: Floats,
    attributes: dict[str, Any],
) -> dict[str, Any]:
    """Who churns (weighted by ``hazard``), when, how visibly.

    Churners are the ``churn_share`` customers with the smallest exponential race times
    ``E / hazard``, so a customer churns with probability ``1 - exp(-hazard * t)``, ``t``
    set by the share: close to proportional to the hazard while churn is rare. Sudden
    churners come from the heaviest callers; joiners churn only after settling in.
    """
    churn_day = np.full(n, np.inf)
    trajectory_start_day = np.full(n, np.inf)
    strength = np.zeros(n)
    shape = np.ones(n)
    signals = np.zeros(n, dtype=np.uint8)
    burst_category = np.zeros(n, dtype=np.int8)
    decoy = np.zeros(n, dtype=np.int8)
    no_warning = np.zeros(n, dtype=bool)

    activation_day: Floats = attributes["activation_day"]
    joiner = activation_day >= 0
    earliest_start = np.where(joiner, activation_day + config.joiner_settle_days, -np.inf)
    feasible = earliest_start + 1.0 < days - 0.05
    weight = np.where(feasible, hazard, 0.0)
    with np.errstate(divide="ignore"):
        race = rng.exponential(1.0, n) / weight

    heavy_cut = np.quantile(call_rate, 0.9)
    heavy = np.flatnonzero((call_rate >= heavy_cut) & ~joiner & feasible)
    n_sudden = min(round(config.sudden_heavy_share * n), heavy.shape[0])
    sudden = heavy[np.argsort(race[heavy], kind="stable")[:n_sudden]]
    race[sudden] = np.inf
    n_churn = min(max(round(config.churn_share * n) - n_sudden, 0), int(np.isfinite(race).sum()))
    regular = np.argsort(race, kind="stable")[:n_churn]
    regular = regular[rng.permutation(n_churn)]
    n_quiet = min(max(round(config.no_warning_share * (n_churn + n_sudden)) - n_sudden, 0), n_churn)
    quiet = regular[:n_quiet]

    lead = rng.uniform(config.lead_days[0], config.lead_days[1], n_churn)
    room = days - 0.05 - earliest_start[regular]
    lead = np.where(joiner[regular], np.minimum(lead, 0.8 * room), lead)
    low = np.minimum(np.maximum(lead + 21.0, 0.25 * days), 0.6 * days)
    low = np.minimum(np.maximum(low, earliest_start[regular] + lead), days - 0.06)
    day = low + rng.random(n_churn) * (days - 0.05 - low)
    day = _at_term_end(rng, config.effects, day, low, days, attributes["term_end_day"][regular])
    churn_day[regular] = day
    trajectory_start_day[regular] = day - lead
    strength[regular] = rng.uniform(config.strength[0], config.strength[1], n_churn)
    shape[regular] = rng.uniform(config.shape[0], config.shape[1], n_churn)
    bits = (
        (rng.random(n_churn) < config.usage_signal_share) * Signal.USAGE
        + (rng.random(n_churn) < config.topup_signal_share) * Signal.TOPUPS
        + (rng.random(n_churn) < config.off_net_signal_share) * Signal.OFF_NET
        + (rng.random(n_churn) >= config.silent_share) * Signal.COMPLAINTS
    ).astype(np.uint8)
    bits[bits == 0] = Signal.USAGE
    signals[regular] = bits
    category_codes = [CATEGORIES.index(c) for c in config.burst_mix]
    burst_category[regular] = _choose(rng, category_codes, list(config.burst_mix.values()), n_churn)
    # no-warning churners keep their habits to the end: no trajectory at all
    signals[quiet] = 0
    strength[quiet] = 0.0
    trajectory_start_day[quiet] = churn_day[quiet]
    no_warning[quiet] = True

    sudden_lead = rng.uniform(config.sudden_lead_days[0], config.sudden_lead_days[1], n_sudden)
    churn_day[sudden] = rng.uniform(0.3 * days, days - 0.05, n_sudden)
    trajectory_start_day[sudden] = churn_day[sudden] - sudden_lead
    decoy[sudden] = Decoy.SUDDEN_HEAVY
    no_warning[sudden] = True  # no signal bits, no strength: nothing changes before they leave

    churners = np.isfinite(churn_day)
    port_share = np.where(prepaid, config.port_out_share - 0.15, config.port_out_share + 0.1)
    port_out = rng.random(n) < port_share
    reactivation_day = np.full(n, np.inf)
    comes_back = churners & (rng.random(n) < config.reactivation_share)
    back_after = rng.uniform(config.reactivation_after_days[0], config.reactivation_after_days[1], n)
    reactivation_day[comes_back] = churn_day[comes_back] + back_after[comes_back]
    return {
        "churn_day": churn_day,
        "trajectory_start_day": trajectory_start_day,
        "strength": strength,
        "shape": shape,
        "signals": signals,
        "burst_category": burst_category,
        "port_out": port_out,
        "reactivation_day": reactivation_day,
        "decoy": decoy,
        "no_warning": no_warning,
    }


def _at_term_end(
    rng: np.random.Generator,
    effects: AttributeEffects,
    day: Floats,
    low: Floats,
    days: int,
    term_end_day: Floats,
) -> Floats:
    """Move the churn of customers drawn for their term's end into the end-of-term window.

    A churner's hazard is the spike's ``1 + (spike - 1) * overlap`` times the rest, so the
    spike's part, ``(m - 1) / m`` of it, churns inside the window; the rest anywhere.
    """
    overlap = term_end_overlap(term_end_day, days, effects)
    spike = 1.0 + (effects.term_end_spike - 1.0) * overlap
    moved = rng.random(day.shape[0]) < (spike - 1.0) / spike
    end = np.where(np.isfinite(term_end_day), term_end_day, 0.0)
    first = np.maximum(end - effects.term_end_before_days, low)
    last = np.minimum(end + effects.term_end_after_days, days - 0.05)
    moved &= last > first
    placed: Floats = np.where(moved, first + rng.random(day.shape[0]) * (last - first), day)
    return placed


def _draw_decoys(
    rng: np.random.Generator, config: SimConfig, n: int, days: int, churn_day: Floats
) -> dict[str, Any]:
    """Dip-and-recover and holiday customers, chosen among those who do not churn."""
    decoy_start_day = np.full(n, np.inf)
    decoy_end_day = np.full(n, np.inf)
    decoy_depth = np.ones(n)
    stayers = np.flatnonzero(~np.isfinite(churn_day))
    stayers = stayers[rng.permutation(stayers.shape[0])]
    n_dip = round(config.dip_recover_share * n)
    n_holiday = round(config.holiday_share * n)
    dip = stayers[:n_dip]
    holiday = stayers[n_dip : n_dip + n_holiday]
    kinds = np.zeros(n, dtype=np.int8)
    for chosen, kind, length, depth in (
        (dip, Decoy.DIP_RECOVER, config.dip_days, config.dip_depth),
        (holiday, Decoy.HOLIDAY, config.holiday_days, config.holiday_depth),
    ):
        count = chosen.shape[0]
        span = rng.uniform(length[0], length[1], count)
        begin = rng.random(count) * np.maximum(days - span - 7.0, 0.0)
        kinds[chosen] = kind
        decoy_start_day[chosen] = begin
        decoy_end_day[chosen] = begin + span
        decoy_depth[chosen] = rng.uniform(depth[0], depth[1], count)
    return {
        "decoy_kinds": kinds,
        "decoy_start_day": decoy_start_day,
        "decoy_end_day": decoy_end_day,
        "decoy_depth": decoy_depth,
    }


def _draw_outages(rng: np.random.Generator, config: SimConfig, days: int) -> tuple[Outage, ...]:
    """Area outages spread over the horizon, each in a different area where possible."""
    count = round(days / 60.0 * config.outages_per_60_days)
    if config.outages_per_60_days > 0 and days >= 10:
        count = max(count, 1)
    areas = rng.permutation(config.areas)
    outages = []
    for index in range(count):
        length = rng.uniform(config.outage_days[0], config.outage_days[1])
        begin = rng.uniform(0.2 * days, max(0.2 * days, 0.9 * days - length))
        outages.append(Outage(int(areas[index % config.areas]), begin, begin + length))
    return tuple(outages)
