"""Warning quality against the simulator's ground truth: did alerts reach real churners in time?

Pure functions over ``truth.csv`` rows and the alerts of ``retention.alerts``; no I/O. A
customer's *first alert* is the earliest yellow or red alert by event time. Churners count
as warned when an alert falls within ``recall_horizon_days`` before their churn time;
precision asks, per alerted customer, whether churn followed the first alert within each
precision horizon, counting only first alerts whose horizon ended inside the simulated
history (a later alert cannot be judged yet).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from evaluation.measures.truth import WARNING_ZONES, AlertMark, TruthRow, churn_list_row

SECONDS_PER_DAY = 86_400.0
SIGNALS = ("usage", "topups", "off_net", "complaints")


class EvaluationConfig(BaseModel):
    """How far ahead a warning still counts, and over which horizons precision is judged."""

    model_config = ConfigDict(frozen=True)

    recall_horizon_days: Annotated[float, Field(gt=0)] = 60.0
    """An alert earlier than this before churn is not a warning of that churn."""
    precision_horizons_days: tuple[float, ...] = (30.0, 60.0)
    lead_targets_days: tuple[float, ...] = (7.0, 14.0, 30.0)
    """Recall is also reported for warnings at least this many days ahead of churn."""
    decoy_grace_days: Annotated[float, Field(ge=0)] = 7.0
    """An alert up to this long after a decoy window ends still counts as caused by it."""

    @model_validator(mode="after")
    def _horizons_positive(self) -> EvaluationConfig:
        if not self.precision_horizons_days or min(self.precision_horizons_days) <= 0:
            raise ValueError(f"precision_horizons_days={self.precision_horizons_days}: need positive values")
        return self


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolation quantile (numpy's default); None for no values.

    >>> quantile([1.0, 2.0, 3.0, 4.0], 0.5), quantile([5.0], 0.25), quantile([], 0.5)
    (2.5, 5.0, None)
    """
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / SECONDS_PER_DAY


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


class LeadTimeDays(BaseModel):
    """Days from the warning to the churn among warned churners."""

    model_config = ConfigDict(frozen=True)

    p25: float | None
    median: float | None
    p75: float | None

    @classmethod
    def of(cls, lead_days: Sequence[float]) -> LeadTimeDays:
        return cls(
            p25=quantile(lead_days, 0.25), median=quantile(lead_days, 0.5), p75=quantile(lead_days, 0.75)
        )


class Precision(BaseModel):
    """Share of judgeable alerted customers who churned within ``horizon_days`` of their first alert."""

    model_config = ConfigDict(frozen=True)

    horizon_days: float
    judged_customers: int
    churned_within: int
    precision: float | None


class LeadRecall(BaseModel):
    """Churners whose earliest warning came at least ``days`` before they left."""

    model_config = ConfigDict(frozen=True)

    days: float
    warned: int
    recall: float | None


class GroupRecall(BaseModel):
    """Recall and lead time for a group of churners (a segment, a signal, silent churners)."""

    model_config = ConfigDict(frozen=True)

    group: str
    customers: int
    churners: int
    warned: int
    recall: float | None
    lead_days: LeadTimeDays
    alerted_customers: int
    precision: list[Precision]


class DecoyOutcome(BaseModel):
    """How often customers of one decoy kind were alerted, and whether during their decoy window."""

    model_config = ConfigDict(frozen=True)

    decoy_kind: str
    customers: int
    churners: int
    alerted_customers: int
    alerted_share: float | None
    alerted_in_window: int
    """First alert inside [decoy_start, decoy_end + grace]: the decoy fooled the policy."""


class EvaluationReport(BaseModel):
    """Warning quality of one run; ``None`` where a share has no denominator."""

    model_config = ConfigDict(frozen=True)

    customers: int
    churners: int
    alerts: int
    alerts_unknown_customer: int
    alerted_customers: int
    churners_warned: int
    recall: float | None
    recall_horizon_days: float
    churners_alerted_early_only: int
    """Churners whose only pre-churn alerts came earlier than the recall horizon."""
    lead_days: LeadTimeDays
    recall_by_lead: list[LeadRecall]
    """Recall counting only warnings at least 7, 14, 30 days ahead (``lead_targets_days``)."""
    trajectory_elapsed_at_warning: float | None
    """Median share of the churn trajectory gone by at the first warning (0 = at its start)."""
    precision: list[Precision]
    alert_precision: list[Precision]
    """Per alert rather than per customer: every judgeable alert followed by churn in time."""
    alerts_while_churned: int
    """Alerts after churn and before any reactivation: the policy must never send them."""
    segments: list[GroupRecall]
    signals: list[GroupRecall]
    decoys: list[DecoyOutcome]


@dataclass(frozen=True, slots=True)
class _Customer:
    truth: TruthRow
    alert_times: tuple[datetime, ...]

    @property
    def first_alert(self) -> datetime | None:
        return self.alert_times[0] if self.alert_times else None


def _warning(customer: _Customer, horizon: timedelta) -> datetime | None:
    """Earliest alert within ``horizon`` before churn, strictly before it."""
    churn = customer.truth.churn_time
    if churn is None:
        return None
    return next((t for t in customer.alert_times if churn - horizon <= t < churn), None)


def precision_within(
    first_alerts: Iterable[tuple[datetime, datetime | None]], horizon_days: float, history_end: datetime
) -> Precision:
    """Share of (alert time, churn time) pairs with churn within ``horizon_days`` after the
    alert, among those whose horizon ended by ``history_end``.

    >>> from datetime import UTC
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> pairs = [(t0, t0 + timedelta(days=10)), (t0, None), (t0 + timedelta(days=100), None)]
    >>> precision_within(pairs, 30.0, t0 + timedelta(days=120)).precision
    0.5
    """
    horizon = timedelta(days=horizon_days)
    judged = hits = 0
    for alert_time, churn_time in first_alerts:
        if alert_time + horizon > history_end:
            continue
        judged += 1
        hits += churn_time is not None and alert_time < churn_time <= alert_time + horizon
    return Precision(
        horizon_days=horizon_days,
        judged_customers=judged,
        churned_within=hits,
        precision=_share(hits, judged),
    )


def _group(
    name: str, customers: Sequence[_Customer], config: EvaluationConfig, history_end: datetime
) -> GroupRecall:
    horizon = timedelta(days=config.recall_horizon_days)
    churners = [c for c in customers if c.truth.churns]
    leads = [
        _days(c.truth.churn_time - warning)
        for c in churners
        if c.truth.churn_time is not None and (warning := _warning(c, horizon)) is not None
    ]
    first = [(c.first_alert, c.truth.churn_time) for c in customers if c.first_alert is not None]
    return GroupRecall(
        group=name,
        customers=len(customers),
        churners=len(churners),
        warned=len(leads),
        recall=_share(len(leads), len(churners)),
        lead_days=LeadTimeDays.of(leads),
        alerted_customers=len(first),
        precision=[precision_within(first, h, history_end) for h in config.precision_horizons_days],
    )


def _decoys(customers: Sequence[_Customer], grace: timedelta) -> list[DecoyOutcome]:
    by_kind: dict[str, list[_Customer]] = defaultdict(list)
    for customer in customers:
        by_kind[customer.truth.decoy_kind].append(customer)
    outcomes = []
    for kind in sorted(by_kind):
        members = by_kind[kind]
        alerted = [c for c in members if c.first_alert is not None]
        in_window = sum(
            1
            for c in alerted
            if c.truth.decoy_start is not None
            and c.truth.decoy_end is not None
            and any(c.truth.decoy_start <= t <= c.truth.decoy_end + grace for t in c.alert_times)
        )
        outcomes.append(
            DecoyOutcome(
                decoy_kind=kind,
                customers=len(members),
                churners=sum(c.truth.churns for c in members),
                alerted_customers=len(alerted),
                alerted_share=_share(len(alerted), len(members)),
                alerted_in_window=in_window,
            )
        )
    return outcomes


def _while_churned(truth: TruthRow, alert_time: datetime) -> bool:
    if truth.churn_time is None or alert_time < truth.churn_time:
        return False
    return truth.reactivated_time is None or alert_time < truth.reactivated_time


def warning_lead_days(
    truth: Iterable[TruthRow], alerts: Iterable[AlertMark], recall_horizon_days: float = 60.0
) -> list[float]:
    """Days from each warned churner's earliest warning to churn (what ``lead_days`` summarises),
    shortest first; alerts within ``recall_horizon_days`` before churn, yellow or red, count.

    >>> from datetime import UTC
    >>> from schemas.outputs import Zone
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> rows = [churn_list_row("C1", t0 + timedelta(days=40)), churn_list_row("C2", t0 + timedelta(days=90))]
    >>> marks = [AlertMark("C1", t0 + timedelta(days=30), Zone.YELLOW),
    ...          AlertMark("C1", t0 + timedelta(days=35), Zone.RED),
    ...          AlertMark("C2", t0 + timedelta(days=10), Zone.RED)]
    >>> warning_lead_days(rows, marks)
    [10.0]
    """
    times: dict[str, list[datetime]] = defaultdict(list)
    for mark in alerts:
        if mark.zone in WARNING_ZONES:
            times[mark.customer_id].append(mark.event_time)
    horizon = timedelta(days=recall_horizon_days)
    leads = []
    for row in truth:
        customer = _Customer(row, tuple(sorted(times.get(row.customer_id, ()))))
        warning = _warning(customer, horizon)
        if row.churn_time is not None and warning is not None:
            leads.append(_days(row.churn_time - warning))
    return sorted(leads)


def evaluate(
    truth: Iterable[TruthRow],
    alerts: Iterable[AlertMark],
    history_end: datetime,
    config: EvaluationConfig | None = None,
    absent_stayed: bool = False,
) -> EvaluationReport:
    """Compare yellow/red alerts with the ground truth; ``history_end`` is the simulation's last moment.

    Alerts of other zones are left out. Customers missing from the truth are left out and
    counted, unless ``absent_stayed`` (an operator's churn list names only who left): then
    an alerted customer missing from it is one who stayed. Duplicate alerts (a replayed
    topic) change alert-level precision only.

    >>> from datetime import UTC
    >>> from schemas.outputs import Zone
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> rows = [TruthRow("C1", "family", t0 + timedelta(days=40), t0 + timedelta(days=20), ("usage",),
    ...                  "none", None, None, None),
    ...         TruthRow("C2", "family", None, None, (), "none", None, None, None)]
    >>> marks = [AlertMark("C1", t0 + timedelta(days=30), Zone.YELLOW),
    ...          AlertMark("C2", t0 + timedelta(days=10), Zone.RED)]
    >>> report = evaluate(rows, marks, history_end=t0 + timedelta(days=120))
    >>> report.recall, report.lead_days.median, [p.precision for p in report.precision]
    (1.0, 10.0, [0.5, 0.5])
    >>> [(lead.days, lead.recall) for lead in report.recall_by_lead]
    [(7.0, 1.0), (14.0, 0.0), (30.0, 0.0)]
    """
    config = config or EvaluationConfig()
    rows = list(truth)
    known = {row.customer_id for row in rows}
    times: dict[str, list[datetime]] = defaultdict(list)
    alert_count = unknown = 0
    for mark in alerts:
        if mark.zone not in WARNING_ZONES:
            continue
        alert_count += 1
        if mark.customer_id not in known:
            if not absent_stayed:
                unknown += 1
                continue
            known.add(mark.customer_id)
            rows.append(churn_list_row(mark.customer_id, None))
        times[mark.customer_id].append(mark.event_time)
    customers = [_Customer(row, tuple(sorted(times.get(row.customer_id, ())))) for row in rows]

    overall = _group("all", customers, config, history_end)
    horizon = timedelta(days=config.recall_horizon_days)
    churners = [c for c in customers if c.truth.churns]
    early_only = sum(
        1
        for c in churners
        if _warning(c, horizon) is None
        and c.first_alert is not None
        and c.truth.churn_time is not None
        and c.first_alert < c.truth.churn_time
    )
    elapsed = [
        _days(warning - c.truth.trajectory_start) / _days(c.truth.churn_time - c.truth.trajectory_start)
        for c in churners
        if c.truth.churn_time is not None
        and c.truth.trajectory_start is not None
        and c.truth.churn_time > c.truth.trajectory_start
        and (warning := _warning(c, horizon)) is not None
    ]
    leads = [
        _days(c.truth.churn_time - warning)
        for c in churners
        if c.truth.churn_time is not None and (warning := _warning(c, horizon)) is not None
    ]
    by_lead = [
        LeadRecall(days=days, warned=sum(lead >= days for lead in leads), recall=None)
        for days in config.lead_targets_days
    ]
    every_alert = [(t, c.truth.churn_time) for c in customers for t in c.alert_times]
    by_segment: dict[str, list[_Customer]] = defaultdict(list)
    for customer in customers:
        by_segment[customer.truth.segment].append(customer)
    signal_groups = [(name, [c for c in churners if name in c.truth.signals]) for name in SIGNALS] + [
        ("silent", [c for c in churners if c.truth.signals and "complaints" not in c.truth.signals]),
        ("sudden", [c for c in churners if not c.truth.signals]),
    ]

    return EvaluationReport(
        customers=len(rows),
        churners=len(churners),
        alerts=alert_count,
        alerts_unknown_customer=unknown,
        alerted_customers=overall.alerted_customers,
        churners_warned=overall.warned,
        recall=overall.recall,
        recall_horizon_days=config.recall_horizon_days,
        churners_alerted_early_only=early_only,
        lead_days=overall.lead_days,
        recall_by_lead=[
            lead.model_copy(update={"recall": _share(lead.warned, len(churners))}) for lead in by_lead
        ],
        trajectory_elapsed_at_warning=quantile(elapsed, 0.5),
        precision=overall.precision,
        alert_precision=[
            precision_within(every_alert, h, history_end) for h in config.precision_horizons_days
        ],
        alerts_while_churned=sum(_while_churned(c.truth, t) for c in customers for t in c.alert_times),
        segments=[_group(name, by_segment[name], config, history_end) for name in sorted(by_segment)],
        signals=[_group(name, members, config, history_end) for name, members in signal_groups],
        decoys=_decoys(customers, timedelta(days=config.decoy_grace_days)),
    )
