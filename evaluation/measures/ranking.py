"""Ranking quality of the scores on ``churn.predictions``: does a higher score mean churn soon?

Pure functions over ``Prediction`` snapshots and ground truth; no I/O. A snapshot scored at
event time ``t`` is *positive* if its customer churns in ``(t, t + H]`` and *negative* if
not; it is judged only once ``t + H`` has passed (``t + H <= end of history``), for
positives and negatives alike, so the last ``H`` days do not tilt the base rate. A
snapshot taken while its customer was already gone (at or after churn, before any
reactivation) is left out, as is one of a customer the truth does not know (unless the
truth is an operator's churn list: then that customer stayed).

ROC AUC, PR AUC and calibration deciles come from ``models.prequential.PrequentialMetrics``
(exact, ties counted half). Lift at the top ``k%`` is the positive rate among the ``k%``
highest-scored snapshots over the overall positive rate. The cut at ``k% * n`` snapshots
may fall inside a group of equal scores, and may be fractional: that group then counts
pro rata, i.e. with the expected positive share under random tie-breaking, so the result
never depends on input order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from evaluation.measures.truth import UNKNOWN_SEGMENT, TruthRow, churn_list_row
from models.prequential import PrequentialMetrics
from policy.config import PolicyConfig
from policy.value_tiers import value_tier
from schemas.outputs import Prediction

LIFT_SHARES_PCT = (1.0, 5.0, 10.0)
REVENUE_FEATURE = "revenue_90d"
UNKNOWN_TIER = "unknown"


@dataclass(frozen=True, slots=True)
class ScoredSnapshot:
    """A ``Prediction`` reduced to what the evaluation needs (a long topic fits in memory)."""

    customer_id: str
    event_time: datetime
    score: float
    score_source: str
    revenue_90d: float | None
    """The snapshot's own 90-day revenue; None when ``features`` does not carry it."""

    @classmethod
    def from_prediction(cls, prediction: Prediction) -> ScoredSnapshot:
        return cls(
            customer_id=prediction.customer_id,
            event_time=prediction.event_time,
            score=prediction.score,
            score_source=prediction.score_source.value,
            revenue_90d=prediction.features.get(REVENUE_FEATURE),
        )


@dataclass(frozen=True, slots=True)
class LabelledSnapshot:
    """One judged snapshot: its score, whether churn followed within the horizon, and its groups."""

    customer_id: str
    event_time: datetime
    score: float
    churned: bool
    score_source: str
    revenue_90d: float | None
    """The snapshot's own 90-day revenue; None when ``features`` does not carry it."""
    segment: str


@dataclass(frozen=True, slots=True)
class Labelling:
    """Snapshots judged and the counts of those left out, by reason."""

    snapshots: list[LabelledSnapshot]
    read: int
    horizon_open: int
    """``t + H`` after the end of history: the outcome is not known yet."""
    after_churn: int
    unknown_customer: int


def label_snapshots(
    predictions: Iterable[ScoredSnapshot],
    truth: Iterable[TruthRow],
    history_end: datetime,
    horizon_days: float = 30.0,
    absent_stayed: bool = False,
) -> Labelling:
    """Label each snapshot by whether its customer churned within ``horizon_days`` after it.

    >>> from datetime import UTC
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> def snap(customer_id: str, day: int) -> ScoredSnapshot:
    ...     return ScoredSnapshot(customer_id, t0 + timedelta(days=day), 0.5, "blend", None)
    >>> rows = [churn_list_row("C1", t0 + timedelta(days=40)), churn_list_row("C2", None)]
    >>> snaps = [snap("C1", 0), snap("C1", 20), snap("C1", 45), snap("C2", 100)]
    >>> got = label_snapshots(snaps, rows, history_end=t0 + timedelta(days=120))
    >>> [s.churned for s in got.snapshots], got.after_churn, got.horizon_open
    ([False, True], 1, 1)
    """
    rows = {row.customer_id: row for row in truth}
    horizon = timedelta(days=horizon_days)
    labelled: list[LabelledSnapshot] = []
    read = horizon_open = after_churn = unknown = 0
    for snapshot in predictions:
        read += 1
        row = rows.get(snapshot.customer_id)
        if row is None:
            if not absent_stayed:
                unknown += 1
                continue
            row = churn_list_row(snapshot.customer_id, None)
        t = snapshot.event_time
        churn = row.churn_time
        if churn is not None and churn <= t and (row.reactivated_time is None or t < row.reactivated_time):
            after_churn += 1
            continue
        if t + horizon > history_end:
            horizon_open += 1
            continue
        labelled.append(
            LabelledSnapshot(
                customer_id=snapshot.customer_id,
                event_time=t,
                score=snapshot.score,
                churned=churn is not None and t < churn <= t + horizon,
                score_source=snapshot.score_source,
                revenue_90d=snapshot.revenue_90d,
                segment=row.segment,
            )
        )
    return Labelling(labelled, read, horizon_open, after_churn, unknown)


def lift_at(scores: Sequence[float], labels: Sequence[bool], share: float) -> float | None:
    """Positive rate among the top ``share`` of snapshots by score over the overall rate.

    A tie group cut by the boundary counts pro rata (random tie-breaking in expectation).
    None without positives or snapshots.

    >>> lift_at([0.9, 0.8, 0.1, 0.0], [True, False, False, False], 0.25)
    4.0
    >>> lift_at([0.5, 0.5, 0.5, 0.5], [True, False, False, False], 0.25)
    1.0
    """
    if not scores or not 0.0 < share <= 1.0:
        return None
    positives_total = sum(labels)
    if positives_total == 0:
        return None
    groups: dict[float, list[int]] = defaultdict(lambda: [0, 0])
    for score, label in zip(scores, labels, strict=True):
        group = groups[score]
        group[0] += 1
        group[1] += label
    room = share * len(scores)
    taken_positives = 0.0
    for score in sorted(groups, reverse=True):
        count, positives = groups[score]
        taken = min(room, count)
        taken_positives += positives * taken / count
        room -= taken
        if room <= 0:
            break
    top_rate = taken_positives / (share * len(scores))
    return top_rate / (positives_total / len(scores))


class Decile(BaseModel):
    """One of ten equal-count score groups, lowest scores first."""

    model_config = ConfigDict(frozen=True)

    snapshots: float
    mean_score: float
    observed_rate: float


class RankingMetrics(BaseModel):
    """Ranking quality of one group of judged snapshots; None where a metric has no meaning."""

    model_config = ConfigDict(frozen=True)

    group: str
    snapshots: int
    positives: int
    base_rate: float | None
    roc_auc: float | None
    pr_auc: float | None
    lift: dict[str, float | None]
    """Keyed by the top share in percent (``"1"``, ``"5"``, ``"10"``)."""
    calibration: list[Decile]


def ranking_metrics(group: str, snapshots: Sequence[LabelledSnapshot]) -> RankingMetrics:
    """ROC AUC, PR AUC, lift at the top 1/5/10% and calibration deciles of these snapshots.

    >>> from datetime import UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> snaps = [LabelledSnapshot("C", t, s, y, "blend", None, "x")
    ...          for s, y in [(0.9, True), (0.2, False), (0.4, True), (0.4, False)]]
    >>> m = ranking_metrics("all", snaps)
    >>> m.roc_auc, m.lift["1"]
    (0.875, 2.0)
    """
    metrics = PrequentialMetrics()
    for snapshot in snapshots:
        metrics.update(snapshot.score, snapshot.churned)
    summary = metrics.snapshot()
    scores = [s.score for s in snapshots]
    labels = [s.churned for s in snapshots]
    return RankingMetrics(
        group=group,
        snapshots=len(snapshots),
        positives=sum(labels),
        base_rate=summary.base_rate,
        roc_auc=summary.roc_auc,
        pr_auc=summary.pr_auc,
        lift={f"{pct:g}": lift_at(scores, labels, pct / 100) for pct in LIFT_SHARES_PCT},
        calibration=[
            Decile(snapshots=b.weight, mean_score=b.mean_score, observed_rate=b.observed_rate)
            for b in summary.calibration
        ],
    )


def week_of(moment: datetime) -> str:
    """The Monday (UTC date) of the event-time week, as ISO text.

    >>> from datetime import UTC
    >>> week_of(datetime(2025, 11, 9, 23, 59, tzinfo=UTC))
    '2025-11-03'
    """
    day = moment.astimezone(UTC).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def tier_of(snapshot: LabelledSnapshot, config: PolicyConfig) -> str:
    """The policy's value tier from the snapshot's own revenue, or ``unknown`` without one."""
    if snapshot.revenue_90d is None:
        return UNKNOWN_TIER
    return value_tier(snapshot.revenue_90d, config).value


class RankingReport(BaseModel):
    """Ranking quality overall and per score source, value tier, segment and event-time week."""

    model_config = ConfigDict(frozen=True)

    horizon_days: float
    snapshots_read: int
    snapshots_judged: int
    left_out_horizon_open: int
    left_out_after_churn: int
    left_out_unknown_customer: int
    overall: RankingMetrics
    by_score_source: list[RankingMetrics]
    by_value_tier: list[RankingMetrics]
    by_segment: list[RankingMetrics]
    """Empty when the truth names no segments (an operator's churn list)."""
    by_week: list[RankingMetrics]
    """Keyed by the Monday of the event-time week (UTC)."""


def _grouped(
    snapshots: Sequence[LabelledSnapshot], key: Callable[[LabelledSnapshot], str]
) -> list[RankingMetrics]:
    groups: dict[str, list[LabelledSnapshot]] = defaultdict(list)
    for snapshot in snapshots:
        groups[key(snapshot)].append(snapshot)
    return [ranking_metrics(name, groups[name]) for name in sorted(groups)]


def rank_report(
    labelling: Labelling, horizon_days: float, policy: PolicyConfig | None = None
) -> RankingReport:
    """Every ranking table of one run; value tiers use the policy's revenue thresholds."""
    policy = policy or PolicyConfig()
    snapshots = labelling.snapshots
    segments_known = any(s.segment != UNKNOWN_SEGMENT for s in snapshots)
    return RankingReport(
        horizon_days=horizon_days,
        snapshots_read=labelling.read,
        snapshots_judged=len(snapshots),
        left_out_horizon_open=labelling.horizon_open,
        left_out_after_churn=labelling.after_churn,
        left_out_unknown_customer=labelling.unknown_customer,
        overall=ranking_metrics("all", snapshots),
        by_score_source=_grouped(snapshots, lambda s: s.score_source),
        by_value_tier=_grouped(snapshots, lambda s: tier_of(s, policy)),
        by_segment=_grouped(snapshots, lambda s: s.segment) if segments_known else [],
        by_week=_grouped(snapshots, lambda s: week_of(s.event_time)),
    )


@dataclass(frozen=True, slots=True)
class RankingCurves:
    """ROC and cumulative lift at every distinct score, highest first, for plotting.

    Index 0 is contacting nobody; a point per distinct score after it (ties are one step).
    """

    false_positive_rate: list[float]
    true_positive_rate: list[float]
    share: list[float]
    """Share of snapshots with a score at or above each distinct score."""
    lift: list[float | None]
    """Positive rate among that share over the base rate; None at share 0."""


def ranking_curves(snapshots: Sequence[LabelledSnapshot]) -> RankingCurves | None:
    """The ROC curve and the cumulative lift curve; None unless both classes are present.

    >>> from datetime import UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> snaps = [LabelledSnapshot("C", t, s, y, "blend", None, "x")
    ...          for s, y in [(0.9, True), (0.5, False), (0.5, True), (0.1, False)]]
    >>> curves = ranking_curves(snaps)
    >>> curves.true_positive_rate, curves.false_positive_rate, curves.lift
    ([0.0, 0.5, 1.0, 1.0], [0.0, 0.0, 0.5, 1.0], [None, 2.0, 1.3333333333333333, 1.0])
    """
    positives_total = sum(s.churned for s in snapshots)
    negatives_total = len(snapshots) - positives_total
    if positives_total == 0 or negatives_total == 0:
        return None
    groups: dict[float, list[int]] = defaultdict(lambda: [0, 0])
    for snapshot in snapshots:
        groups[snapshot.score][0 if snapshot.churned else 1] += 1
    base_rate = positives_total / len(snapshots)
    curves = RankingCurves([0.0], [0.0], [0.0], [None])
    positives = negatives = 0
    for score in sorted(groups, reverse=True):
        positives += groups[score][0]
        negatives += groups[score][1]
        curves.false_positive_rate.append(negatives / negatives_total)
        curves.true_positive_rate.append(positives / positives_total)
        curves.share.append((positives + negatives) / len(snapshots))
        curves.lift.append(positives / (positives + negatives) / base_rate)
    return curves
