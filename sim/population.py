"""The simulated customer base: static traits, churn fates and decoys, one numpy array each.

Everything a customer will do is decided here, up front and from the seed, so the ground
truth (``truth.csv``) is known before the first event and memory grows with the number of
customers only (about 120 bytes per customer).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from schemas.events import ComplaintCategory
from sim.config import SimConfig
from sim.errors import SimulationError

SECONDS_PER_DAY = 86_400

CATEGORIES: tuple[ComplaintCategory, ...] = tuple(ComplaintCategory)
"""Complaint category codes used in the event table (index = code)."""


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


_BURST_CATEGORIES = (
    ComplaintCategory.NETWORK,
    ComplaintCategory.PRICE,
    ComplaintCategory.BILLING,
    ComplaintCategory.SERVICE,
    ComplaintCategory.TECHNICAL,
)
_BURST_WEIGHTS = (0.3, 0.3, 0.2, 0.15, 0.05)

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Outage:
    """A network outage: every customer of ``area`` sees dropped calls between the days."""

    area: int
    start_day: float
    end_day: float


@dataclass(slots=True)
class Population:
    """Per-customer traits (index = customer number) plus the area-level network state."""

    config: SimConfig
    days: int
    start: datetime
    segment: npt.NDArray[np.int8]
    prepaid: npt.NDArray[np.bool_]
    plan: npt.NDArray[np.int16]
    area: npt.NDArray[np.int16]
    tenure_years: npt.NDArray[np.float32]
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

    def write_truth(self, path: Path) -> None:
        """Write the ground truth, one row per customer, as CSV (times RFC 3339, UTC)."""
        segment_names = [segment.name for segment in self.config.segments]
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(TRUTH_COLUMNS)
            for index in range(self.size):
                writer.writerow(self._truth_row(index, segment_names))

    def _truth_row(self, index: int, segment_names: list[str]) -> list[Any]:
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
        ]

    def _iso(self, day: float) -> str:
        moment = self.start + timedelta(seconds=int(float(day) * SECONDS_PER_DAY))
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

    fates = _draw_churn(rng, config, n, days, call_rate, prepaid)
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
    area_drop_rate = np.clip(rng.lognormal(np.log(0.012), 0.6, config.areas), 0.002, 0.08)

    return Population(
        config=config,
        days=days,
        start=start,
        segment=segment,
        prepaid=prepaid,
        plan=plan,
        area=area,
        tenure_years=tenure_years,
        monthly_spend=monthly_spend,
        call_rate=call_rate,
        on_net_permille=(on_net * 1000).astype(np.int32),
        complaint_rate=complaint_rate,
        topup_gap_days=usual_gap,
        area_drop_rate=area_drop_rate,
        outages=outages,
        plans=plans,
        **fates,
        **decoys,
    )


def _draw_churn(
    rng: np.random.Generator,
    config: SimConfig,
    n: int,
    days: int,
    call_rate: Floats,
    prepaid: npt.NDArray[np.bool_],
) -> dict[str, Any]:
    """Who churns, when, how visibly; sudden churners come from the heaviest callers."""
    churn_day = np.full(n, np.inf)
    trajectory_start_day = np.full(n, np.inf)
    strength = np.zeros(n)
    shape = np.ones(n)
    signals = np.zeros(n, dtype=np.uint8)
    burst_category = np.zeros(n, dtype=np.int8)
    decoy = np.zeros(n, dtype=np.int8)

    order = rng.permutation(n)
    heavy_cut = np.quantile(call_rate, 0.9)
    heavy = order[call_rate[order] >= heavy_cut]
    n_sudden = min(round(config.sudden_heavy_share * n), heavy.shape[0])
    sudden = heavy[:n_sudden]
    rest = np.setdiff1d(order, sudden, assume_unique=True)
    rest = rest[rng.permutation(rest.shape[0])]
    n_churn = max(round(config.churn_share * n) - n_sudden, 0)
    regular = rest[:n_churn]

    lead = rng.uniform(config.lead_days[0], config.lead_days[1], n_churn)
    low = np.minimum(np.maximum(lead + 21.0, 0.25 * days), 0.6 * days)
    churn_day[regular] = low + rng.random(n_churn) * (days - 0.05 - low)
    trajectory_start_day[regular] = churn_day[regular] - lead
    strength[regular] = rng.uniform(0.35, 0.95, n_churn)
    shape[regular] = rng.uniform(0.6, 2.5, n_churn)
    bits = (
        (rng.random(n_churn) < 0.75) * Signal.USAGE
        + (rng.random(n_churn) < 0.7) * Signal.TOPUPS
        + (rng.random(n_churn) < 0.4) * Signal.OFF_NET
        + (rng.random(n_churn) >= config.silent_share) * Signal.COMPLAINTS
    ).astype(np.uint8)
    bits[bits == 0] = Signal.USAGE
    signals[regular] = bits
    category_codes = np.asarray([CATEGORIES.index(c) for c in _BURST_CATEGORIES])
    burst_category[regular] = category_codes[
        rng.choice(len(_BURST_CATEGORIES), size=n_churn, p=_BURST_WEIGHTS)
    ]

    sudden_lead = rng.uniform(0.5, 2.5, n_sudden)
    churn_day[sudden] = rng.uniform(0.3 * days, days - 0.05, n_sudden)
    trajectory_start_day[sudden] = churn_day[sudden] - sudden_lead
    decoy[sudden] = Decoy.SUDDEN_HEAVY

    churners = np.isfinite(churn_day)
    port_share = np.where(prepaid, config.port_out_share - 0.15, config.port_out_share + 0.1)
    port_out = rng.random(n) < port_share
    reactivation_day = np.full(n, np.inf)
    comes_back = churners & (rng.random(n) < config.reactivation_share)
    reactivation_day[comes_back] = churn_day[comes_back] + rng.uniform(7.0, 28.0, n)[comes_back]
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
    }


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
        (dip, Decoy.DIP_RECOVER, (10.0, 25.0), (0.25, 0.6)),
        (holiday, Decoy.HOLIDAY, (7.0, 16.0), (0.3, 0.45)),
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
