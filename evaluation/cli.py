"""``churnwatch evaluate``: read truth.csv and the alerts (a file or the whole topic), print warning quality;
with the score snapshots of ``churn.predictions`` (a file or the topic) also ranking quality and money;
with the resolved examples of ``churn.training`` (a file or the topic) also the offline yardstick; with
the simulator's truth also the ceiling of what its positives allow. Always the operating point
(precision by zone, the alerted share of the base by month); with ``--decision-date`` the
per-customer ranking at each date, and with ``--events`` the batch reference beside it.

The arithmetic is in ``evaluation.warnings``, ``evaluation.ranking``, ``evaluation.profit``,
``evaluation.yardstick``, ``evaluation.ceiling``, ``evaluation.operating_point``,
``evaluation.decision``, ``evaluation.behaviour`` and ``evaluation.reference``; this module
reads inputs and renders tables.
Topics are read with ``streams.topic_reader`` (to each partition's fetch high-water mark).
"""

from __future__ import annotations

import asyncio
import csv
import json
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

import pyarrow.parquet as pq
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from evaluation.behaviour import EventColumns, customer_numbers, event_files, read_event_columns
from evaluation.ceiling import CeilingGroup, CeilingReport, Judged, ceiling_report
from evaluation.decision import SCORE_USED as DECISION_SCORE_USED
from evaluation.decision import (
    customers_at,
    decision_report,
    default_decision_date,
    parse_decision_date,
)
from evaluation.operating_point import OperatingPoint, operating_point
from evaluation.profit import ProfitConfig, ProfitReport, contacted_share, profit_report
from evaluation.ranking import (
    LIFT_SHARES_PCT,
    LabelledSnapshot,
    RankingMetrics,
    RankingReport,
    ScoredSnapshot,
    label_snapshots,
    rank_report,
)
from evaluation.reference import (
    REFERENCE_SCORE,
    CustomerTable,
    reference_scores,
    reference_summary,
)
from evaluation.report import DecisionResult, ReportInputs, plotting_available, write_report
from evaluation.warnings import (
    WARNING_ZONES,
    AlertMark,
    EvaluationConfig,
    EvaluationInputError,
    EvaluationReport,
    GroupRecall,
    LeadTimeDays,
    Precision,
    TruthRow,
    parse_churn_list_row,
    parse_truth_row,
    warning_lead_days,
)
from evaluation.warnings import evaluate as evaluate_warnings
from evaluation.yardstick import (
    AUC_GAP_TARGET,
    EVALUATION_EXTRA,
    SCORE_USED,
    SCORES,
    ExampleRow,
    Yardstick,
    YardstickGroup,
    YardstickReport,
    YardstickUnavailableError,
    build_yardstick,
    yardstick_available,
)
from pipeline.learning import parse_training
from schemas.outputs import Alert, Prediction
from sim.cli import DEFAULT_START
from streams.errors import TopicReadError
from streams.topic_reader import read_topics

_PIPED_WIDTH = 140
_ONE_DAY = timedelta(days=1)


_Record = TypeVar("_Record")
_Read = TypeVar("_Read")


@dataclass
class RecordsRead(Generic[_Record]):
    """Records read from a file or topic (alerts, snapshots), and those that failed their contract."""

    parse: Callable[[bytes | str], _Record]
    items: list[_Record] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)

    def add(self, raw: bytes | str, where: str) -> None:
        try:
            self.items.append(self.parse(raw))
        except ValidationError as error:
            self.invalid.append(f"{where}: {error.error_count()} validation error(s)")


def _alert_mark(raw: bytes | str) -> AlertMark:
    return AlertMark.from_alert(Alert.model_validate_json(raw))


def _snapshot(raw: bytes | str) -> ScoredSnapshot:
    return ScoredSnapshot.from_prediction(Prediction.model_validate_json(raw))


def _training_row(raw: bytes | str) -> ExampleRow | None:
    return ExampleRow.from_record(parse_training(raw.encode() if isinstance(raw, str) else raw))


AlertRead = RecordsRead[AlertMark]
PredictionRead = RecordsRead[ScoredSnapshot]
TrainingRead = RecordsRead[ExampleRow | None]
"""Training examples, and None for each group's end-of-day mark (``ResolvedDay``)."""


@dataclass(frozen=True)
class Truth:
    """Ground truth as read: every row, and whether customers missing from it stayed."""

    rows: list[TruthRow]
    absent_stayed: bool


def read_truth(path: Path) -> Truth:
    """The simulator's ``truth.csv`` (every customer) or an operator's churn list (CSV or Parquet
    with ``customer_id`` and ``churn_time``; customers absent from it stayed), told apart by
    the ``churns`` column. A bad row raises with its line (CSV) or row number (Parquet)."""
    if path.suffix == ".parquet":
        records: Iterator[tuple[int, Mapping[str, object]]] = enumerate(
            pq.read_table(path).to_pylist(), start=1
        )
        columns = set(pq.read_schema(path).names)
    else:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or ())
            records = iter(list(enumerate(reader, start=2)))
    simulator = "churns" in columns
    rows = []
    for line, row in records:
        try:
            if simulator:
                rows.append(parse_truth_row({k: "" if v is None else str(v) for k, v in row.items()}))
            else:
                rows.append(parse_churn_list_row(row))
        except EvaluationInputError as error:
            raise EvaluationInputError(
                f"{path.name}:{line}:{error.field}", error.value, error.reason
            ) from error
    return Truth(rows, absent_stayed=not simulator)


def _read_lines(path: Path, read: RecordsRead[_Record]) -> RecordsRead[_Record]:
    """Every non-blank JSON Lines record of ``path`` into ``read``, its place as ``file:line``."""
    with path.open("rb") as handle:
        for line, raw in enumerate(handle, start=1):
            if raw.strip():
                read.add(raw, f"{path.name}:{line}")
    return read


async def _read_topic(
    bootstrap: str, topic: str, timeout_s: float, read: RecordsRead[_Record]
) -> RecordsRead[_Record]:
    """Every record of ``topic`` from the beginning, up to each partition's fetch high-water mark."""
    try:
        records = await read_topics(bootstrap, [topic], timeout_s)
    except TopicReadError as error:
        raise EvaluationInputError("topic", topic, error.reason) from error
    for record in records:
        read.add(record.value or b"", f"{record.topic}[{record.partition}]@{record.offset}")
    return read


def read_alerts_file(path: Path) -> AlertRead:
    """Alerts from JSON Lines (one ``Alert`` per line, as published to the topic)."""
    return _read_lines(path, AlertRead(_alert_mark))


async def read_alerts_topic(bootstrap: str, topic: str, timeout_s: float) -> AlertRead:
    """Every alert of ``topic``, read to its end."""
    return await _read_topic(bootstrap, topic, timeout_s, AlertRead(_alert_mark))


def read_predictions_file(path: Path) -> PredictionRead:
    """Score snapshots from JSON Lines (one ``Prediction`` per line, as published to the topic)."""
    return _read_lines(path, PredictionRead(_snapshot))


async def read_predictions_topic(bootstrap: str, topic: str, timeout_s: float) -> PredictionRead:
    """Every snapshot of ``topic``, read to its end."""
    return await _read_topic(bootstrap, topic, timeout_s, PredictionRead(_snapshot))


def read_training_file(path: Path) -> TrainingRead:
    """Training records from JSON Lines (examples and end-of-day marks, as on ``churn.training``)."""
    return _read_lines(path, TrainingRead(_training_row))


async def read_training_topic(bootstrap: str, topic: str, timeout_s: float) -> TrainingRead:
    """Every record of the training topic, read to its end."""
    return await _read_topic(bootstrap, topic, timeout_s, TrainingRead(_training_row))


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


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _precisions(precisions: list[Precision]) -> str:
    return "  ".join(
        f"{p.horizon_days:g}d {_pct(p.precision)} (n={p.judged_customers:,})" for p in precisions
    )


def _lead(lead: LeadTimeDays) -> str:
    return f"{_num(lead.p25)} / {_num(lead.median)} / {_num(lead.p75)}"


def _group_table(title: str, groups: list[GroupRecall]) -> Table:
    table = Table(title=title)
    table.add_column("group")
    for column in ("customers", "churners", "warned", "recall", "lead p25/med/p75 d", "alerted"):
        table.add_column(column, justify="right")
    horizons = [p.horizon_days for p in groups[0].precision] if groups else []
    for horizon in horizons:
        table.add_column(f"precision {horizon:g}d", justify="right")
    for g in groups:
        table.add_row(
            g.group,
            f"{g.customers:,}",
            f"{g.churners:,}",
            f"{g.warned:,}",
            _pct(g.recall),
            _lead(g.lead_days),
            f"{g.alerted_customers:,}",
            *(f"{_pct(p.precision)} ({p.judged_customers:,})" for p in g.precision),
        )
    return table


def _summary_rows(report: EvaluationReport) -> Iterator[tuple[str, str]]:
    yield "customers / churners", f"{report.customers:,} / {report.churners:,}"
    yield "alerts (yellow+red) / alerted customers", f"{report.alerts:,} / {report.alerted_customers:,}"
    yield (
        f"churners warned ≤{report.recall_horizon_days:g}d ahead (recall)",
        f"{report.churners_warned:,} ({_pct(report.recall)})",
    )
    yield "churners alerted only earlier than that", f"{report.churners_alerted_early_only:,}"
    yield "lead time p25 / median / p75 (days)", _lead(report.lead_days)
    yield (
        "churners warned at least "
        + " / ".join(f"{lead.days:g}" for lead in report.recall_by_lead)
        + " d ahead",
        " / ".join(_pct(lead.recall) for lead in report.recall_by_lead),
    )
    yield "trajectory elapsed at warning (median)", _pct(report.trajectory_elapsed_at_warning)
    yield "precision per customer (first alert)", _precisions(report.precision)
    yield "precision per alert", _precisions(report.alert_precision)
    yield "alerts while churned (must be 0)", f"{report.alerts_while_churned:,}"
    yield "alerts for customers not in truth", f"{report.alerts_unknown_customer:,}"


def render(report: EvaluationReport, console: Console) -> None:
    """The report as rich tables: summary, segments, signals, decoys."""
    summary = Table(title="Warning quality", show_header=False)
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    for name, value in _summary_rows(report):
        summary.add_row(name, value)
    console.print(summary)
    console.print(_group_table("By segment", report.segments))
    title = "Churners by signal (silent: no complaint burst; sudden: no trajectory)"
    console.print(_group_table(title, report.signals))
    decoys = Table(title="By decoy kind (none = no decoy)")
    for column in ("decoy kind", "customers", "churners", "alerted", "alerted share", "alerted in window"):
        decoys.add_column(column, justify="left" if column == "decoy kind" else "right")
    for d in report.decoys:
        decoys.add_row(
            d.decoy_kind,
            f"{d.customers:,}",
            f"{d.churners:,}",
            f"{d.alerted_customers:,}",
            _pct(d.alerted_share),
            f"{d.alerted_in_window:,}",
        )
    console.print(decoys)


def _ratio(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ranking_table(title: str, groups: list[RankingMetrics]) -> Table:
    table = Table(title=title)
    table.add_column("group")
    for column in ("snapshots", "churned", "base rate", "ROC AUC", "PR AUC"):
        table.add_column(column, justify="right")
    for pct in LIFT_SHARES_PCT:
        table.add_column(f"lift top {pct:g}%", justify="right")
    for g in groups:
        table.add_row(
            g.group,
            f"{g.snapshots:,}",
            f"{g.positives:,}",
            _pct(g.base_rate),
            _ratio(g.roc_auc),
            _ratio(g.pr_auc),
            *(_ratio(g.lift[f"{pct:g}"], 2) for pct in LIFT_SHARES_PCT),
        )
    return table


def render_score_quality(quality: ScoreQuality, console: Console) -> None:
    """Ranking tables (overall and by source, value tier, segment, week), calibration and money."""
    ranking, profit = quality.ranking, quality.profit
    horizon = f"churn within {ranking.horizon_days:g} d"
    console.print(
        f"Snapshots read {ranking.snapshots_read:,}; judged {ranking.snapshots_judged:,}; left out: "
        f"horizon not over {ranking.left_out_horizon_open:,}, after churn {ranking.left_out_after_churn:,}, "
        f"customer not in truth {ranking.left_out_unknown_customer:,}"
    )
    console.print(_ranking_table(f"Score ranking ({horizon})", [ranking.overall, *ranking.by_score_source]))
    console.print(_ranking_table("By value tier", ranking.by_value_tier))
    if ranking.by_segment:
        console.print(_ranking_table("By segment", ranking.by_segment))
    console.print(_ranking_table("By event-time week (Monday)", ranking.by_week))
    calibration = Table(title=f"Calibration by score decile ({horizon})")
    for column in ("decile", "snapshots", "mean score", "churned share"):
        calibration.add_column(column, justify="right")
    for index, decile in enumerate(ranking.overall.calibration, start=1):
        calibration.add_row(
            str(index), f"{decile.snapshots:,.0f}", f"{decile.mean_score:.3f}", _pct(decile.observed_rate)
        )
    console.print(calibration)
    money = Table(title="Campaign money per judged snapshot (EMPC, Verbraken et al. 2013)", show_header=False)
    money.add_column("metric")
    money.add_column("value", justify="right")
    c = profit.config
    money.add_row(
        "offer d / contact f / acceptance",
        f"{c.offer_cost:g} / {c.contact_cost:g} / Beta({c.acceptance_alpha:g}, {c.acceptance_beta:g})",
    )
    money.add_row(
        "snapshots valued at the default value", f"{profit.values_defaulted:,} ({c.default_value:g})"
    )
    money.add_row("EMPC", f"{profit.empc:.3f}")
    money.add_row("profit-maximising share to contact (eta*)", _pct(profit.best_share))
    money.add_row("share the alerts contacted", _pct(profit.policy_share))
    money.add_row("expected profit at that share", _ratio(profit.profit_at_policy_share))
    console.print(money)


@dataclass(frozen=True)
class OfflineComparison:
    """The yardstick (None without examples or scikit-learn) and the ceilings, keyed by the
    snapshots they are over (``judged_snapshots``, ``yardstick_later_half``)."""

    yardstick: Yardstick | None
    ceilings: dict[str, CeilingReport]

    def payload(self) -> dict[str, object]:
        """The ``yardstick`` and ``ceiling`` objects of the JSON report (absent: nothing to show)."""
        shown: dict[str, object] = {}
        if self.yardstick is not None:
            shown["yardstick"] = self.yardstick.report.model_dump(mode="json")
        if self.ceilings:
            shown["ceiling"] = {key: c.model_dump(mode="json") for key, c in self.ceilings.items()}
        return shown


def offline_comparison(
    training: TrainingRead | None, truth: Truth, quality: ScoreQuality | None, console: Console
) -> OfflineComparison:
    """Fit the yardstick on the training records and bound the judged snapshots and its later
    half by what the simulator's truth allows; notes on the console what cannot be shown."""
    yardstick = None
    if training is not None:
        if not training.items:
            console.print("[yellow]no yardstick:[/yellow] the training topic holds no examples")
        elif not yardstick_available():
            console.print(f"[yellow]no yardstick:[/yellow] {_MISSING_SCIKIT_LEARN}")
        else:
            try:
                yardstick = build_yardstick(training.items, truth.rows)
            except YardstickUnavailableError as error:
                console.print(f"[yellow]no yardstick:[/yellow] {error}")
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
        console.print("[yellow]no ceiling:[/yellow] the truth names no trajectories (a churn list?)")
    return OfflineComparison(yardstick, ceilings)


_MISSING_SCIKIT_LEARN = f"scikit-learn is missing; pip install 'churnwatch\\[{EVALUATION_EXTRA}]'"


def render_yardstick(yardstick: YardstickReport, console: Console) -> None:
    """The later half's ranking under every score, overall and per segment, with the gap."""
    y = yardstick
    console.print(
        f"Yardstick: gradient boosting fitted on snapshot days {y.first_day} .. {y.split_day - _ONE_DAY} "
        f"({y.earlier_examples:,} examples, {y.earlier_positives:,} churned), scored on {y.split_day} .. "
        f"{y.last_day} ({y.later_examples:,} examples, {y.later_positives:,} churned); "
        f"{y.repeats_dropped:,} repeated examples dropped"
    )
    table = Table(title=f"Yardstick on the later half (ROC AUC gap target <= {AUC_GAP_TARGET:g})")
    table.add_column("group")
    table.add_column("score")
    for column in ("examples", "churned", "ROC AUC", "PR AUC", "lift top 10%", "gap (GBM - online)"):
        table.add_column(column, justify="right")
    for group in [y.overall, *y.by_segment]:
        for index, name in enumerate(SCORES):
            m = group.by_score[name]
            table.add_row(
                group.group if index == 0 else "",
                name,
                f"{m.snapshots:,}" if index == 0 else "",
                f"{m.positives:,}" if index == 0 else "",
                _ratio(m.roc_auc),
                _ratio(m.pr_auc),
                _ratio(m.lift["10"], 2),
                _gap(group) if index == 0 else "",
                end_section=index == len(SCORES) - 1,
            )
    console.print(table)


def _gap(group: YardstickGroup) -> str:
    if group.roc_auc_gap is None:
        return "-"
    return f"{group.roc_auc_gap:+.3f} ({'within' if group.within_target else 'outside'} target)"


def render_ceiling(ceiling: CeilingReport, console: Console) -> None:
    """Positives by what they could show, and the trajectory oracle, overall and per segment."""
    table = Table(title=f"Ceiling: what the simulator allows, over {ceiling.over}")
    table.add_column("group")
    for column in (
        "snapshots",
        "positives",
        "in trajectory",
        "sudden",
        "before trajectory",
        "with signal",
        "oracle ROC AUC",
        "oracle lift 10%",
    ):
        table.add_column(column, justify="right")
    for g in [ceiling.overall, *ceiling.by_segment]:
        table.add_row(*_ceiling_cells(g))
    console.print(table)
    if ceiling.left_out_unknown_customer:
        console.print(f"{ceiling.left_out_unknown_customer:,} snapshot(s) of customers not in truth left out")


def _ceiling_cells(g: CeilingGroup) -> list[str]:
    return [
        g.group,
        f"{g.snapshots:,}",
        f"{g.positives:,}",
        f"{g.positives_in_trajectory:,}",
        f"{g.positives_sudden:,}",
        f"{g.positives_before_trajectory:,}",
        _pct(g.share_with_signal),
        _ratio(g.oracle_roc_auc),
        _ratio(g.oracle_lift_10, 2),
    ]


def render_operating_point(point: OperatingPoint, console: Console) -> None:
    """Precision by zone, and the share of the base alerted per month and overall."""
    zones = Table(title="Operating point: alerts by zone (precision of each customer's first alert there)")
    for column in ("zone", "alerts", "alerted customers"):
        zones.add_column(column, justify="left" if column == "zone" else "right")
    horizons = [p.horizon_days for p in point.by_zone[0].precision] if point.by_zone else []
    for horizon in horizons:
        zones.add_column(f"precision {horizon:g}d", justify="right")
    for z in point.by_zone:
        zones.add_row(
            z.zone,
            f"{z.alerts:,}",
            f"{z.alerted_customers:,}",
            *(f"{_pct(p.precision)} ({p.judged_customers:,})" for p in z.precision),
        )
    console.print(zones)
    months = Table(title="Share of the base alerted (yellow or red) per calendar month of event time")
    for column in ("month", "alerted customers", "active customers", "share"):
        months.add_column(column, justify="left" if column == "month" else "right")
    for m in point.by_month:
        months.add_row(m.month, f"{m.alerted_customers:,}", f"{m.active_customers:,}", _pct(m.share))
    console.print(months)
    console.print(
        f"Customers alerted over the whole history: {point.alerted_customers:,} of {point.customers:,} "
        f"({_pct(point.alerted_share)})"
    )


def run_operating_point(run: RunInputs, config: EvaluationConfig) -> OperatingPoint:
    """The operating point of one run's alerts; with a churn list, scored customers absent
    from it count in the base as stayers."""
    scored = () if run.predictions is None else (s.customer_id for s in run.predictions.items)
    return operating_point(
        run.truth.rows,
        run.alerts.items,
        run.history_start,
        run.history_end,
        config,
        absent_stayed=run.truth.absent_stayed,
        scored_customers=scored,
    )


def render_decision(result: DecisionResult, console: Console) -> None:
    """One decision date's per-customer ranking under every score, overall and per segment."""
    r = result.report
    console.print(
        f"At decision date {r.decision_time:%Y-%m-%d %H:%M} UTC: {r.customers:,} customers ranked by their "
        f"last snapshot at or before it ({r.positives:,} churned within {r.horizon_days:g} d); left out: "
        f"churned by then {r.left_out_churned_before:,}, never scored {r.left_out_never_scored:,}, "
        f"not in truth {r.left_out_unknown_customer:,}; last snapshot age median "
        f"{_num(r.snapshot_age_days_median)} d, p90 {_num(r.snapshot_age_days_p90)} d"
    )
    table = Table(title=f"Ranking at {r.decision_time:%Y-%m-%d} (one row per customer)")
    table.add_column("group")
    table.add_column("score")
    for column in ("customers", "churned", "base rate", "ROC AUC", "lift top 10%", "precision top 10%"):
        table.add_column(column, justify="right")
    for group in [r.overall, *r.by_segment]:
        names = list(group.by_score)
        for index, name in enumerate(names):
            m = group.by_score[name]
            table.add_row(
                group.group if index == 0 else "",
                name,
                f"{m.customers:,}",
                f"{m.positives:,}",
                _pct(m.base_rate),
                _ratio(m.roc_auc),
                _ratio(m.lift_top_10, 2),
                _pct(m.precision_top_10),
                end_section=index == len(names) - 1,
            )
    console.print(table)
    ref = result.reference
    if ref is not None:
        gap = "-" if ref.roc_auc_gap is None else f"{ref.roc_auc_gap:+.3f}"
        console.print(
            f"Batch reference: gradient boosting on the customer table ({len(ref.inputs)} inputs), "
            f"{ref.folds}-fold out-of-fold scores, built in {ref.fit_seconds:.1f} s; ROC AUC "
            f"{_ratio(ref.roc_auc)} against the product's {_ratio(ref.score_used_roc_auc)}: gap {gap}"
        )


def read_customer_table(path: Path) -> CustomerTable:
    """The truth file's rows as text (CSV, or Parquet), for the batch reference's attributes."""
    if path.suffix == ".parquet":
        records = pq.read_table(path).to_pylist()
        rows = [{k: None if v is None else str(v) for k, v in row.items()} for row in records]
        return CustomerTable.from_rows(rows)
    with path.open(newline="", encoding="utf-8") as handle:
        return CustomerTable.from_rows(list(csv.DictReader(handle)))


def decision_dates(
    given: Sequence[str], history_start: datetime, history_end: datetime, horizon_days: float, default: bool
) -> list[datetime]:
    """The decision dates asked for (sorted, repeats dropped), or the default one when none
    is given and ``default``; a date whose horizon ends after history is refused."""
    dates = sorted({parse_decision_date(text) for text in given})
    if not dates and default:
        dates = [default_decision_date(history_start, history_end, horizon_days)]
    for moment in dates:
        if moment + timedelta(days=horizon_days) > history_end:
            raise EvaluationInputError(
                "decision_date",
                moment.isoformat(),
                f"its {horizon_days:g}-day horizon ends after history ({history_end.isoformat()})",
            )
    return dates


def decision_results(
    run: RunInputs,
    dates: Sequence[datetime],
    horizon_days: float,
    truth_path: Path,
    events: Path | None,
    console: Console,
) -> list[DecisionResult]:
    """Rank the customers at each date; with ``events``, fit the batch reference beside it.
    Says on the console what cannot be shown."""
    if not dates:
        return []
    if run.predictions is None:
        console.print("[yellow]no ranking at a decision date:[/yellow] no score snapshots")
        return []
    made: dict[tuple[str, datetime], tuple[float, float]] = {}
    if run.training is not None:
        for row in run.training.items:
            if row is not None:
                made[(row.customer_id, row.event_time)] = (row.model_score, row.rules_score)
    reference = _reference_inputs(truth_path, events, dates, console)
    results = []
    for moment in dates:
        selected = customers_at(
            run.predictions.items, run.truth.rows, moment, horizon_days, made, run.truth.absent_stayed
        )
        summary_of = None
        extra: dict[str, list[float]] = {}
        if reference is not None and selected.rows:
            table, columns, numbers = reference
            try:
                fit = reference_scores(
                    table,
                    columns,
                    numbers,
                    [row.customer_id for row in selected.rows],
                    [row.churned for row in selected.rows],
                    moment,
                    run.history_start,
                )
            except YardstickUnavailableError as error:
                console.print(f"[yellow]no batch reference at {moment:%Y-%m-%d}:[/yellow] {error}")
            else:
                extra[REFERENCE_SCORE] = fit.scores
                summary_of = fit
        report_at = decision_report(selected, extra)
        summary = None
        if summary_of is not None:
            overall = report_at.overall.by_score
            summary = reference_summary(
                summary_of, overall[REFERENCE_SCORE].roc_auc, overall[DECISION_SCORE_USED].roc_auc
            )
        results.append(DecisionResult(report_at, summary))
    return results


def _reference_inputs(
    truth_path: Path, events: Path | None, dates: Sequence[datetime], console: Console
) -> tuple[CustomerTable, EventColumns, dict[str, int]] | None:
    """The customer table and the event columns for every date, read once; None without
    events or scikit-learn."""
    if events is None:
        return None
    if not yardstick_available():
        console.print(f"[yellow]no batch reference:[/yellow] {_MISSING_SCIKIT_LEARN}")
        return None
    table = read_customer_table(truth_path)
    numbers = customer_numbers(table.customer_ids)
    began = time.perf_counter()
    columns = read_event_columns(event_files(events), numbers, dates)
    console.print(
        f"Events read for the batch reference: {columns.lines_read:,} lines in "
        f"{time.perf_counter() - began:.1f} s; {columns.events:,} kept inside the 90-day windows, "
        f"{columns.outside_windows:,} outside, {columns.other_events:,} lifecycle or other, "
        f"{columns.unknown_customer:,} of customers not in truth, {columns.unreadable:,} unreadable"
    )
    return table, columns, numbers


def decisions_payload(results: Sequence[DecisionResult]) -> list[dict[str, object]]:
    """The ``decision_dates`` list of the JSON report."""
    return [
        {
            **r.report.model_dump(mode="json"),
            "reference": None if r.reference is None else r.reference.model_dump(mode="json"),
        }
        for r in results
    ]


# options evaluate and report share
PredictionsFileOption = Annotated[
    Path | None,
    typer.Option(exists=True, dir_okay=False, help="Score snapshots as JSON Lines, one Prediction per line."),
]
DecisionDateOption = Annotated[
    list[str] | None,
    typer.Option(
        "--decision-date",
        help="Rank each customer by their last snapshot at or before this date (RFC 3339; a bare date "
        "is its start, UTC); repeat for more dates.",
    ),
]
HorizonDaysOption = Annotated[
    float,
    typer.Option(min=0.001, help="At a decision date, a customer is positive if churn follows within this."),
]
EventsOption = Annotated[
    Path | None,
    typer.Option(
        exists=True,
        help="The simulator's event files (a directory of JSON Lines, or one file): fit the batch "
        "reference on the customer table at each decision date.",
    ),
]
TrainingFileOption = Annotated[
    Path | None,
    typer.Option(
        exists=True,
        dir_okay=False,
        help="Resolved training examples as JSON Lines (as on churn.training), for the yardstick.",
    ),
]


def render_offline_comparison(comparison: OfflineComparison, console: Console) -> None:
    if comparison.yardstick is not None:
        render_yardstick(comparison.yardstick.report, console)
    for ceiling in comparison.ceilings.values():
        render_ceiling(ceiling, console)


def evaluate(
    truth: Annotated[
        Path,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="The simulator's truth.csv, or a churn list (CSV or .parquet: customer_id, churn_time; "
            "customers absent from it stayed).",
        ),
    ],
    alerts_file: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Alerts as JSON Lines, one per line.")
    ] = None,
    bootstrap: Annotated[
        str | None, typer.Option(help="Read the alerts topic from this broker instead of a file.")
    ] = None,
    topic: Annotated[str, typer.Option(help="Alerts topic.")] = "retention.alerts",
    predictions_file: PredictionsFileOption = None,
    predictions_topic: Annotated[
        str, typer.Option(help="Snapshots topic, read with --bootstrap when no --predictions-file.")
    ] = "churn.predictions",
    training_file: TrainingFileOption = None,
    training_topic: Annotated[
        str, typer.Option(help="Training topic, read with --bootstrap when no --training-file.")
    ] = "churn.training",
    label_horizon_days: Annotated[
        float, typer.Option(min=0.001, help="A snapshot is positive if churn follows within this many days.")
    ] = 30.0,
    offer_cost: Annotated[float, typer.Option(min=0.0, help="Retention offer cost d.")] = 10.0,
    contact_cost: Annotated[float, typer.Option(min=0.0, help="Contact cost f.")] = 1.0,
    default_value: Annotated[
        float, typer.Option(min=0.0, help="Customer value of a snapshot without revenue_90d.")
    ] = 200.0,
    acceptance_alpha: Annotated[
        float, typer.Option(min=0.001, help="Acceptance rate ~ Beta(alpha, beta).")
    ] = 6.0,
    acceptance_beta: Annotated[
        float, typer.Option(min=0.001, help="Acceptance rate ~ Beta(alpha, beta).")
    ] = 14.0,
    start: Annotated[str, typer.Option(help="First moment of the simulated history.")] = DEFAULT_START,
    days: Annotated[int, typer.Option(min=1, help="Days of simulated history (as given to simulate).")] = 120,
    recall_horizon_days: Annotated[
        float, typer.Option(min=0.001, help="A warning counts if at most this many days before churn.")
    ] = 60.0,
    timeout_s: Annotated[float, typer.Option(min=0.1, help="Give up reading the topic after this.")] = 120.0,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the report as JSON.")] = None,
    decision_date: DecisionDateOption = None,
    horizon_days: HorizonDaysOption = 30.0,
    events: EventsOption = None,
) -> None:
    """Measure whether alerts warned real churners ahead of time, against ground truth."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=_PIPED_WIDTH)
    run = _load_run(
        truth,
        alerts_file,
        bootstrap,
        topic,
        predictions_file,
        predictions_topic,
        training_file,
        training_topic,
        start,
        days,
        timeout_s,
        console,
    )
    read, known, history_end, predictions = run.alerts, run.truth, run.history_end, run.predictions
    if events is not None and not decision_date:
        raise typer.BadParameter("--events needs at least one --decision-date")
    try:
        given = decision_date or []
        dates = decision_dates(given, run.history_start, history_end, horizon_days, default=False)
    except EvaluationInputError as error:
        console.print(f"[red]cannot evaluate:[/red] {error}")
        raise typer.Exit(1) from error
    config = EvaluationConfig(recall_horizon_days=recall_horizon_days)
    report = evaluate_warnings(
        known.rows, read.items, history_end=history_end, config=config, absent_stayed=known.absent_stayed
    )
    render(report, console)
    payload = report.model_dump(mode="json")
    point = run_operating_point(run, config)
    render_operating_point(point, console)
    payload["operating_point"] = point.model_dump(mode="json")
    quality = None
    if predictions is not None:
        profit_config = ProfitConfig(
            offer_cost=offer_cost,
            contact_cost=contact_cost,
            default_value=default_value,
            acceptance_alpha=acceptance_alpha,
            acceptance_beta=acceptance_beta,
        )
        quality = score_quality(
            predictions.items, read.items, known, history_end, label_horizon_days, profit_config
        )
        render_score_quality(quality, console)
        payload["ranking"] = quality.ranking.model_dump(mode="json")
        payload["profit"] = quality.profit.model_dump(mode="json")
    comparison = offline_comparison(run.training, known, quality, console)
    render_offline_comparison(comparison, console)
    payload.update(comparison.payload())
    results = decision_results(run, dates, horizon_days, truth, events, console)
    for result in results:
        render_decision(result, console)
    if results:
        payload["decision_dates"] = decisions_payload(results)
    if json_path is not None:
        json_path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        console.print(f"report written to {json_path}")


@dataclass(frozen=True)
class RunInputs:
    """One run's inputs as read: truth, alerts, score snapshots (None without any) and its span."""

    history_start: datetime
    history_end: datetime
    truth: Truth
    alerts: AlertRead
    predictions: PredictionRead | None
    training: TrainingRead | None


def _load_run(
    truth: Path,
    alerts_file: Path | None,
    bootstrap: str | None,
    topic: str,
    predictions_file: Path | None,
    predictions_topic: str,
    training_file: Path | None,
    training_topic: str,
    start: str,
    days: int,
    timeout_s: float,
    console: Console,
) -> RunInputs:
    """Read every input, naming skipped records; exit 1 with the reason if one cannot be read."""
    if (alerts_file is None) == (bootstrap is None):
        raise typer.BadParameter("give exactly one of --alerts-file and --bootstrap")
    if training_file is not None and not yardstick_available():
        console.print(f"[red]cannot fit the yardstick:[/red] {_MISSING_SCIKIT_LEARN}")
        raise typer.Exit(1)
    try:
        history_start = datetime.fromisoformat(start)
        if history_start.tzinfo is None:
            raise EvaluationInputError("start", start, "needs a UTC offset")
        known = read_truth(truth)
        read = (
            read_alerts_file(alerts_file)
            if alerts_file is not None
            else asyncio.run(read_alerts_topic(str(bootstrap), topic, timeout_s))
        )
        predictions = _read_predictions(predictions_file, bootstrap, predictions_topic, timeout_s, console)
        training = _read_training(training_file, bootstrap, training_topic, timeout_s, console)
    except (EvaluationInputError, ValueError) as error:
        console.print(f"[red]cannot evaluate:[/red] {error}")
        raise typer.Exit(1) from error
    _report_invalid("alert", read.invalid, console)
    if predictions is not None:
        _report_invalid("prediction", predictions.invalid, console)
    if training is not None:
        _report_invalid("training", training.invalid, console)
    history_end = history_start + timedelta(days=days)
    return RunInputs(history_start, history_end, known, read, predictions, training)


def _report_invalid(kind: str, invalid: list[str], console: Console) -> None:
    for problem in invalid[:20]:
        console.print(f"[yellow]skipped invalid {kind}[/yellow] {problem}")
    if invalid:
        console.print(f"[yellow]{len(invalid):,} invalid {kind} record(s) skipped[/yellow]")


def _file_or_topic(
    path: Path | None,
    read_file: Callable[[Path], _Read],
    read_topic: Callable[[], Coroutine[Any, Any, _Read]] | None,
    missing: str,
    console: Console,
) -> _Read | None:
    """The records from the file, else from the topic (``read_topic``: None without a broker);
    None, said on the console after ``missing``, when the topic cannot be read, so the other
    tables still print."""
    if path is not None:
        return read_file(path)
    if read_topic is None:
        return None
    try:
        return asyncio.run(read_topic())
    except EvaluationInputError as error:
        console.print(f"[yellow]{missing}:[/yellow] {error}")
        return None


def _read_predictions(
    path: Path | None, bootstrap: str | None, topic: str, timeout_s: float, console: Console
) -> PredictionRead | None:
    """The snapshots, for the score ranking."""
    read_topic = None if bootstrap is None else lambda: read_predictions_topic(bootstrap, topic, timeout_s)
    return _file_or_topic(path, read_predictions_file, read_topic, "no score ranking", console)


def _read_training(
    path: Path | None, bootstrap: str | None, topic: str, timeout_s: float, console: Console
) -> TrainingRead | None:
    """The training records, for the yardstick; from the topic only with scikit-learn there."""
    if path is None and bootstrap is not None and not yardstick_available():
        console.print(f"[yellow]no yardstick:[/yellow] {_MISSING_SCIKIT_LEARN}")
        return None
    read_topic = None if bootstrap is None else lambda: read_training_topic(bootstrap, topic, timeout_s)
    return _file_or_topic(path, read_training_file, read_topic, "no yardstick", console)


def report(
    truth: Annotated[
        Path,
        typer.Option(
            exists=True, dir_okay=False, help="The simulator's truth.csv, or a churn list (see evaluate)."
        ),
    ],
    out: Annotated[Path, typer.Option(file_okay=False, help="Directory for report.md and its PNG plots.")],
    alerts_file: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Alerts as JSON Lines, one per line.")
    ] = None,
    predictions_file: PredictionsFileOption = None,
    bootstrap: Annotated[
        str | None, typer.Option(help="Read the alerts (and snapshots, without a file) from this broker.")
    ] = None,
    topic: Annotated[str, typer.Option(help="Alerts topic.")] = "retention.alerts",
    predictions_topic: Annotated[str, typer.Option(help="Snapshots topic.")] = "churn.predictions",
    training_file: TrainingFileOption = None,
    training_topic: Annotated[str, typer.Option(help="Training topic.")] = "churn.training",
    start: Annotated[str, typer.Option(help="First moment of the simulated history.")] = DEFAULT_START,
    days: Annotated[int, typer.Option(min=1, help="Days of simulated history (as given to simulate).")] = 120,
    recall_horizon_days: Annotated[
        float, typer.Option(min=0.001, help="A warning counts if at most this many days before churn.")
    ] = 60.0,
    label_horizon_days: Annotated[
        float, typer.Option(min=0.001, help="A snapshot is positive if churn follows within this many days.")
    ] = 30.0,
    timeout_s: Annotated[float, typer.Option(min=0.1, help="Give up reading a topic after this.")] = 120.0,
    decision_date: DecisionDateOption = None,
    horizon_days: HorizonDaysOption = 30.0,
    events: EventsOption = None,
) -> None:
    """Write the evaluation as Markdown with plots (ROC, lift and profit, calibration, lead time, weeks)."""
    console = Console()
    if not plotting_available():
        console.print(
            "[red]cannot draw plots:[/red] matplotlib is missing; pip install 'churnwatch\\[report]'"
        )
        raise typer.Exit(1)
    run = _load_run(
        truth,
        alerts_file,
        bootstrap,
        topic,
        predictions_file,
        predictions_topic,
        training_file,
        training_topic,
        start,
        days,
        timeout_s,
        console,
    )
    try:
        dates = decision_dates(
            decision_date or [],
            run.history_start,
            run.history_end,
            horizon_days,
            default=run.predictions is not None,
        )
    except EvaluationInputError as error:
        console.print(f"[red]cannot report:[/red] {error}")
        raise typer.Exit(1) from error
    config = EvaluationConfig(recall_horizon_days=recall_horizon_days)
    warnings = evaluate_warnings(
        run.truth.rows, run.alerts.items, run.history_end, config, absent_stayed=run.truth.absent_stayed
    )
    quality = (
        None
        if run.predictions is None
        else score_quality(
            run.predictions.items,
            run.alerts.items,
            run.truth,
            run.history_end,
            label_horizon_days,
            ProfitConfig(),
        )
    )
    comparison = offline_comparison(run.training, run.truth, quality, console)
    inputs = ReportInputs(
        history_start=run.history_start,
        history_end=run.history_end,
        warnings=warnings,
        lead_days=warning_lead_days(run.truth.rows, run.alerts.items, recall_horizon_days),
        alerts=run.alerts.items,
        ranking=None if quality is None else quality.ranking,
        profit=None if quality is None else quality.profit,
        judged=[] if quality is None else quality.judged,
        yardstick=None if comparison.yardstick is None else comparison.yardstick.report,
        yardstick_later={} if comparison.yardstick is None else comparison.yardstick.later,
        ceilings=comparison.ceilings,
        operating_point=run_operating_point(run, config),
        decisions=decision_results(run, dates, horizon_days, truth, events, console),
    )
    for path in write_report(inputs, out):
        console.print(f"wrote {path}")
