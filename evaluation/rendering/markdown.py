"""``churnwatch report``: the evaluation as a Markdown page with PNG plots, for readers without a terminal.

The numbers are those of ``churnwatch evaluate``; the plots are ``evaluation.rendering.plots``.
This module only lays them out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from evaluation.measures.ceiling import CeilingReport
from evaluation.measures.operating_point import OperatingPoint, alerts_per_week
from evaluation.measures.profit import ProfitReport
from evaluation.measures.ranking import LabelledSnapshot, RankingMetrics, RankingReport
from evaluation.measures.run_measures import DecisionResult
from evaluation.measures.truth import AlertMark
from evaluation.measures.warnings import EvaluationReport
from evaluation.measures.yardstick import SCORES, YardstickReport
from evaluation.rendering.numbers import decimal, percent
from evaluation.rendering.plots import (
    calibration_plot,
    lead_time_plot,
    lift_plot,
    roc_plot,
    weekly_plot,
    yardstick_roc_plot,
)

REPORT_FILE = "report.md"


@dataclass(frozen=True)
class ReportInputs:
    """Everything the page shows; ``ranking``/``profit`` are None without score snapshots."""

    history_start: datetime
    history_end: datetime
    warnings: EvaluationReport
    lead_days: Sequence[float]
    alerts: Sequence[AlertMark]
    ranking: RankingReport | None
    profit: ProfitReport | None
    judged: Sequence[LabelledSnapshot]
    yardstick: YardstickReport | None = None
    yardstick_later: Mapping[str, Sequence[LabelledSnapshot]] = field(default_factory=dict)
    """Per score, the later half's labelled examples (the ROC plot's curves)."""
    ceilings: Mapping[str, CeilingReport] = field(default_factory=dict)
    operating_point: OperatingPoint | None = None
    decisions: Sequence[DecisionResult] = ()


def _yardstick_lines(y: YardstickReport) -> list[str]:
    lines = [
        "## The offline yardstick",
        "",
        f"Gradient boosting fitted on the examples of snapshot days {y.first_day} to the day before "
        f"{y.split_day} ({y.earlier_examples:,}, {y.earlier_positives:,} churned) and scored on "
        f"{y.split_day} to {y.last_day} ({y.later_examples:,}, {y.later_positives:,} churned), beside "
        "the scores made at snapshot time. The ROC AUC gap, boosting minus the online model, is "
        f"the price of learning online (target: at most {y.auc_gap_target:g}).",
        "",
        "| group | score | ROC AUC | PR AUC | lift top 10% | gap (boosting - online) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for group in [y.overall, *y.by_segment]:
        gap = "-" if group.roc_auc_gap is None else f"{group.roc_auc_gap:+.3f}"
        for index, name in enumerate(SCORES):
            m = group.by_score[name]
            lines.append(
                f"| {group.group if index == 0 else ''} | {name.replace('_', ' ')} | {decimal(m.roc_auc)} "
                f"| {decimal(m.pr_auc)} | {decimal(m.lift['10'], 2)} | {gap if index == 0 else ''} |"
            )
    return [*lines, ""]


def _ceiling_lines(ceilings: Mapping[str, CeilingReport]) -> list[str]:
    lines = [
        "## What the simulator allows",
        "",
        "A positive snapshot can show a signal only if its churner has signals and their trajectory "
        "had started by then; sudden churners (no signal, 1-2 days' warning) and trajectories that "
        "start later look like stayers. The oracle scores 1 inside a visible trajectory, 0 elsewhere.",
        "",
    ]
    for ceiling in ceilings.values():
        lines += [
            f"Over {ceiling.over}:",
            "",
            "| group | snapshots | positives | in trajectory | sudden | before trajectory | with signal "
            "| oracle ROC AUC | oracle lift top 10% |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {g.group} | {g.snapshots:,} | {g.positives:,} | {g.positives_in_trajectory:,} "
            f"| {g.positives_sudden:,} | {g.positives_before_trajectory:,} | {percent(g.share_with_signal)} "
            f"| {decimal(g.oracle_roc_auc)} | {decimal(g.oracle_lift_10, 2)} |"
            for g in [ceiling.overall, *ceiling.by_segment]
        ]
        lines.append("")
    return lines


def _operating_point_lines(point: OperatingPoint) -> list[str]:
    horizons = [p.horizon_days for p in point.by_zone[0].precision] if point.by_zone else []
    lines = [
        "## The operating point",
        "",
        f"{point.alerted_customers:,} of {point.customers:,} customers ({percent(point.alerted_share)}) "
        "had a yellow or red alert over the whole history.",
        "",
        "Alerts by zone; precision is the share of customers whose first alert in the zone was "
        "followed by churn within the horizon (customers judged in brackets).",
        "",
        "| zone | alerts | alerted customers | "
        + " | ".join(f"precision {h:g} days" for h in horizons)
        + " |",
        "|---|---:|---:|" + "---:|" * len(horizons),
    ]
    lines += [
        f"| {z.zone} | {z.alerts:,} | {z.alerted_customers:,} | "
        + " | ".join(f"{percent(p.precision)} ({p.judged_customers:,})" for p in z.precision)
        + " |"
        for z in point.by_zone
    ]
    lines += [
        "",
        "Customers alerted (yellow or red) per calendar month of event time, over the customers "
        "active that month:",
        "",
        "| month | alerted customers | active customers | share |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {m.month} | {m.alerted_customers:,} | {m.active_customers:,} | {percent(m.share)} |"
        for m in point.by_month
    ]
    return [*lines, ""]


def _decision_lines(result: DecisionResult) -> list[str]:
    r = result.report
    lines = [
        f"## At the decision date {r.decision_time:%Y-%m-%d}",
        "",
        f"What a retention team working from the list on {r.decision_time:%Y-%m-%d %H:%M} UTC gets: "
        f"each of {r.customers:,} customers ranked once, by their last snapshot at or before then "
        f"(median age {decimal(r.snapshot_age_days_median, 1)} days, "
        f"p90 {decimal(r.snapshot_age_days_p90, 1)}), "
        f"{r.positives:,} of whom churned within {r.horizon_days:g} days. Left out: "
        f"{r.left_out_churned_before:,} already churned, {r.left_out_never_scored:,} never scored, "
        f"{r.left_out_unknown_customer:,} not in the truth.",
        "",
        "| group | score | customers | churned | base rate | ROC AUC | lift top 10% | precision top 10% |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for group in [r.overall, *r.by_segment]:
        for index, (name, m) in enumerate(group.by_score.items()):
            lines.append(
                f"| {group.group if index == 0 else ''} | {name.replace('_', ' ')} | {m.customers:,} "
                f"| {m.positives:,} | {percent(m.base_rate)} | {decimal(m.roc_auc)} "
                f"| {decimal(m.lift_top_10, 2)} | {percent(m.precision_top_10)} |"
            )
    ref = result.reference
    if ref is not None:
        gap = "-" if ref.roc_auc_gap is None else f"{ref.roc_auc_gap:+.3f}"
        lines += [
            "",
            f"Batch reference: a gradient boosting fitted on the customer table ({len(ref.inputs)} "
            f"inputs: the truth's attributes and 90-day behaviour before the date), scored "
            f"{ref.folds}-fold out of fold. ROC AUC {decimal(ref.roc_auc)} against the product's "
            f"{decimal(ref.score_used_roc_auc)}: gap {gap}.",
        ]
    return [*lines, ""]


def _group_rows(groups: Sequence[RankingMetrics]) -> list[str]:
    rows = [
        "| group | snapshots | churned | base rate | ROC AUC | PR AUC | lift top 1% | lift top 5% "
        "| lift top 10% |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows += [
        f"| {g.group} | {g.snapshots:,} | {g.positives:,} | {percent(g.base_rate)} | {decimal(g.roc_auc)} "
        f"| {decimal(g.pr_auc)} | {decimal(g.lift['1'], 2)} | {decimal(g.lift['5'], 2)} "
        f"| {decimal(g.lift['10'], 2)} |"
        for g in groups
    ]
    return rows


def _image(path: Path | None, alt: str, caption: str) -> list[str]:
    return [] if path is None else [f"![{alt}]({path.name})", "", caption, ""]


def _summary(inputs: ReportInputs) -> list[str]:
    w = inputs.warnings
    precision = ", ".join(f"{percent(p.precision)} within {p.horizon_days:g} days" for p in w.precision)
    rows = [
        "| measure | value |",
        "|---|---|",
        f"| customers / of whom churned | {w.customers:,} / {w.churners:,} |",
        f"| alerts (yellow and red) / customers alerted | {w.alerts:,} / {w.alerted_customers:,} |",
        f"| churners warned at most {w.recall_horizon_days:g} days ahead | "
        f"{w.churners_warned:,} ({percent(w.recall)}) |",
        f"| median warning lead time | {decimal(w.lead_days.median, 1)} days |",
        "| churners warned at least "
        + " / ".join(f"{lead.days:g}" for lead in w.recall_by_lead)
        + " days ahead | "
        + " / ".join(percent(lead.recall) for lead in w.recall_by_lead)
        + " |",
        f"| alerted customers who then churned | {precision} |",
        f"| alerts to customers already gone (must be 0) | {w.alerts_while_churned:,} |",
    ]
    if inputs.ranking is not None and inputs.profit is not None:
        r, p = inputs.ranking.overall, inputs.profit
        rows += [
            f"| score ranking: ROC AUC / PR AUC (churn within {inputs.ranking.horizon_days:g} days) | "
            f"{decimal(r.roc_auc)} / {decimal(r.pr_auc)} |",
            f"| churn rate in the top 10% of scores over the average | {decimal(r.lift['10'], 2)} times |",
            f"| expected maximum profit per snapshot (EMPC) | {decimal(p.empc, 2)} |",
            f"| share worth contacting (eta*) / share the alerts contacted | "
            f"{percent(p.best_share)} / {percent(p.policy_share)} |",
            f"| expected profit per snapshot at the alerts' share | {decimal(p.profit_at_policy_share, 2)} |",
        ]
    return rows


def write_report(inputs: ReportInputs, out_dir: Path) -> list[Path]:
    """Write ``report.md`` and its PNG plots into ``out_dir`` (created if missing); returns the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Churn warnings: how good were they?",
        "",
        f"Event time {inputs.history_start:%Y-%m-%d} to {inputs.history_end:%Y-%m-%d}. "
        "Definitions: docs/evaluation.md.",
        "",
        "## Summary",
        "",
        *_summary(inputs),
        "",
    ]
    written: list[Path] = []
    ranking, profit = inputs.ranking, inputs.profit
    if ranking is not None and profit is not None:
        roc = roc_plot(inputs.judged, ranking.overall, out_dir / "roc.png")
        lift = lift_plot(inputs.judged, profit, out_dir / "lift.png")
        calibration = calibration_plot(ranking.overall, out_dir / "calibration.png")
        written += [p for p in (roc, lift, calibration) if p is not None]
        lines += [
            "## How well the scores rank customers",
            "",
            f"Each daily score snapshot counts as right when the customer churned within "
            f"{ranking.horizon_days:g} days of it ({ranking.snapshots_judged:,} snapshots judged; "
            f"{ranking.left_out_horizon_open:,} too recent to judge).",
            "",
            *_image(
                roc,
                "ROC curve",
                "The higher the curve above the diagonal, the better the scores "
                "separate customers who leave from those who stay.",
            ),
            *_image(
                lift,
                "Lift and profit",
                "Left: how much more often the highest-scored customers "
                "churn than average. Right: expected campaign profit by how many are contacted.",
            ),
            *_image(
                calibration,
                "Calibration",
                "Where the bars of a decile match, its score can be read as a probability of churning.",
            ),
            "### By score source",
            "",
            *_group_rows([ranking.overall, *ranking.by_score_source]),
            "",
            "### By value tier",
            "",
            *_group_rows(ranking.by_value_tier),
            "",
        ]
        if ranking.by_segment:
            lines += ["### By segment", "", *_group_rows(ranking.by_segment), ""]
    if inputs.yardstick is not None:
        roc_later = yardstick_roc_plot(inputs.yardstick_later, out_dir / "yardstick_roc.png")
        written += [roc_later] if roc_later is not None else []
        lines += [
            *_yardstick_lines(inputs.yardstick),
            *_image(
                roc_later,
                "ROC on the later half",
                "The same later-half examples ranked by the gradient boosting, the online model "
                "and the rules.",
            ),
        ]
    if inputs.ceilings:
        lines += _ceiling_lines(inputs.ceilings)
    for result in inputs.decisions:
        lines += _decision_lines(result)
    if inputs.operating_point is not None:
        lines += _operating_point_lines(inputs.operating_point)
    lead = lead_time_plot(inputs.lead_days, inputs.warnings.recall_horizon_days, out_dir / "lead_time.png")
    weeks = weekly_plot(
        ranking.by_week if ranking is not None else [], alerts_per_week(inputs.alerts), out_dir / "weekly.png"
    )
    written += [p for p in (lead, weeks) if p is not None]
    lines += [
        "## Warning lead time",
        "",
        *(
            _image(lead, "Lead time", "How long before leaving each warned churner was first warned.")
            or ["No churner was warned.", ""]
        ),
        "## Week by week",
        "",
        *_image(
            weeks,
            "Weekly",
            "Bars: alerts sent in the week. Line: how well that week's scores ranked "
            "customers (missing where nobody in the week churned in time).",
        ),
    ]
    if ranking is not None:
        lines += [*_group_rows(ranking.by_week), ""]
    report = out_dir / REPORT_FILE
    report.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return [report, *written]
