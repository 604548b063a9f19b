"""One run measured from its parsed inputs: score quality, the offline comparison, decision dates.

Each function combines the single measures (``warnings``, ``ranking``, ``profit``,
``yardstick``, ``ceiling``, ``operating_point``, ``decision``, ``reference``) the way the
``evaluate`` and ``report`` commands show them, and says what it cannot show as an
``Omission`` rather than printing: reading the inputs and laying out the tables belong
to ``evaluation.loading`` and ``evaluation.rendering``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from evaluation.errors import YardstickUnavailableError
from evaluation.measures.ceiling import CeilingReport, Judged, ceiling_report
from evaluation.measures.decision import SCORE_USED as DECISION_SCORE_USED
from evaluation.measures.decision import DecisionReport, customers_at, decision_report
from evaluation.measures.operating_point import OperatingPoint, operating_point
from evaluation.measures.profit import ProfitConfig, ProfitReport, contacted_share, profit_report
from evaluation.measures.ranking import (
    LabelledSnapshot,
    RankingReport,
    ScoredSnapshot,
    label_snapshots,
    rank_report,
)
from evaluation.measures.reference import (
    REFERENCE_SCORE,
    ReferenceInputs,
    ReferenceSummary,
    reference_scores,
    reference_summary,
)
from evaluation.measures.truth import WARNING_ZONES, AlertMark, Truth
from evaluation.measures.warnings import EvaluationConfig
from evaluation.measures.yardstick import (
    MISSING_SCIKIT_LEARN,
    SCORE_USED,
    ExampleRow,
    Yardstick,
    build_yardstick,
    yardstick_available,
)


@dataclass(frozen=True)
class Omission:
    """A table that cannot be shown, and why."""

    table: str
    """What is missing, as the reader sees it: ``no yardstick``, ``no ceiling``, ..."""
    reason: str


@dataclass(frozen=True)
class ScoreQuality:
    """Ranking quality and money of one run's snapshots."""

    ranking: RankingReport
    profit: ProfitReport
    judged: list[LabelledSnapshot]


def score_quality(
    snapshots: list[ScoredSnapshot],
    alerts: list[AlertMark],
    truth: Truth,
    history_end: datetime,
    horizon_days: float,
    config: ProfitConfig,
) -> ScoreQuality:
    """Label the snapshots, rank them and price a campaign on them; the alert policy's share is
    its yellow/red-alerted customers over the customers scored at all."""
    labelling = label_snapshots(
        snapshots, truth.rows, history_end, horizon_days, absent_stayed=truth.absent_stayed
    )
    judged = labelling.snapshots
    share = contacted_share(
        (m.customer_id for m in alerts if m.zone in WARNING_ZONES), (s.customer_id for s in snapshots)
    )
    return ScoreQuality(
        ranking=rank_report(labelling, horizon_days),
        profit=profit_report(
            [s.score for s in judged],
            [s.churned for s in judged],
            [s.revenue_90d for s in judged],
            policy_share=share,
            config=config,
        ),
        judged=judged,
    )


@dataclass(frozen=True)
class OfflineComparison:
    """The yardstick (None without examples or scikit-learn) and the ceilings, keyed by the
    snapshots they are over (``judged_snapshots``, ``yardstick_later_half``)."""

    yardstick: Yardstick | None
    ceilings: dict[str, CeilingReport]
    omissions: list[Omission] = field(default_factory=list)

    def payload(self) -> dict[str, object]:
        """The ``yardstick`` and ``ceiling`` objects of the JSON report (absent: nothing to show)."""
        shown: dict[str, object] = {}
        if self.yardstick is not None:
            shown["yardstick"] = self.yardstick.report.model_dump(mode="json")
        if self.ceilings:
            shown["ceiling"] = {key: c.model_dump(mode="json") for key, c in self.ceilings.items()}
        return shown


def offline_comparison(
    training: Sequence[ExampleRow | None] | None, truth: Truth, quality: ScoreQuality | None
) -> OfflineComparison:
    """Fit the yardstick on the training records (None: none were read) and bound the judged
    snapshots and its later half by what the simulator's truth allows."""
    omissions = []
    yardstick = None
    if training is not None:
        if not training:
            omissions.append(Omission("no yardstick", "the training topic holds no examples"))
        elif not yardstick_available():
            omissions.append(Omission("no yardstick", MISSING_SCIKIT_LEARN))
        else:
            try:
                yardstick = build_yardstick(training, truth.rows)
            except YardstickUnavailableError as error:
                omissions.append(Omission("no yardstick", str(error)))
    ceilings: dict[str, CeilingReport] = {}
    over: list[tuple[str, str, Sequence[Judged]]] = []
    if quality is not None:
        over.append(("judged_snapshots", "judged churn.predictions snapshots", quality.judged))
    if yardstick is not None:
        later = yardstick.later[SCORE_USED]
        over.append(("yardstick_later_half", "the yardstick's later-half examples", later))
    for key, description, judged in over:
        ceiling = ceiling_report(description, judged, truth.rows)
        if ceiling is not None:
            ceilings[key] = ceiling
    if over and not ceilings:
        omissions.append(Omission("no ceiling", "the truth names no trajectories (a churn list?)"))
    return OfflineComparison(yardstick, ceilings, omissions)


def run_operating_point(
    truth: Truth,
    alerts: Sequence[AlertMark],
    scored: Sequence[ScoredSnapshot] | None,
    history_start: datetime,
    history_end: datetime,
    config: EvaluationConfig,
) -> OperatingPoint:
    """The operating point of one run's alerts; with a churn list, scored customers absent
    from it count in the base as stayers."""
    return operating_point(
        truth.rows,
        alerts,
        history_start,
        history_end,
        config,
        absent_stayed=truth.absent_stayed,
        scored_customers=() if scored is None else (s.customer_id for s in scored),
    )


@dataclass(frozen=True)
class DecisionResult:
    """One decision date's per-customer ranking and, with event files, the batch reference."""

    report: DecisionReport
    reference: ReferenceSummary | None


@dataclass(frozen=True)
class DecisionResults:
    """Every decision date's result, and what could not be shown."""

    results: list[DecisionResult]
    omissions: list[Omission]

    def payload(self) -> list[dict[str, object]]:
        """The ``decision_dates`` list of the JSON report."""
        return [
            {
                **r.report.model_dump(mode="json"),
                "reference": None if r.reference is None else r.reference.model_dump(mode="json"),
            }
            for r in self.results
        ]


def decision_results(
    snapshots: Sequence[ScoredSnapshot] | None,
    training: Iterable[ExampleRow | None] | None,
    truth: Truth,
    history_start: datetime,
    dates: Sequence[datetime],
    horizon_days: float,
    reference: ReferenceInputs | None,
) -> DecisionResults:
    """Rank the customers at each date (``snapshots`` None: none were read); with
    ``reference``, fit the batch reference beside it. The snapshot-time model and rules
    scores come from ``training`` where it holds the snapshot's example."""
    if not dates:
        return DecisionResults([], [])
    if snapshots is None:
        return DecisionResults([], [Omission("no ranking at a decision date", "no score snapshots")])
    made: dict[tuple[str, datetime], tuple[float, float]] = {}
    for row in training or ():
        if row is not None:
            made[(row.customer_id, row.event_time)] = (row.model_score, row.rules_score)
    results, omissions = [], []
    for moment in dates:
        selected = customers_at(snapshots, truth.rows, moment, horizon_days, made, truth.absent_stayed)
        fit = None
        extra: dict[str, list[float]] = {}
        if reference is not None and selected.rows:
            try:
                fit = reference_scores(
                    reference.table,
                    reference.columns,
                    reference.numbers,
                    [row.customer_id for row in selected.rows],
                    [row.churned for row in selected.rows],
                    moment,
                    history_start,
                )
            except YardstickUnavailableError as error:
                omissions.append(Omission(f"no batch reference at {moment:%Y-%m-%d}", str(error)))
            else:
                extra[REFERENCE_SCORE] = fit.scores
        report_at = decision_report(selected, extra)
        summary = None
        if fit is not None:
            overall = report_at.overall.by_score
            summary = reference_summary(
                fit, overall[REFERENCE_SCORE].roc_auc, overall[DECISION_SCORE_USED].roc_auc
            )
        results.append(DecisionResult(report_at, summary))
    return DecisionResults(results, omissions)
