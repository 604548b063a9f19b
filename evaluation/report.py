"""``churnwatch report``: the evaluation as a Markdown page with PNG plots, for readers without a terminal.

Plots are drawn with matplotlib's object API (``Figure``, no pyplot state, no display).
matplotlib comes with the ``report`` extra, so it is imported only when a plot is drawn:
the rest of the evaluation works without it. The numbers are those of ``churnwatch
evaluate``: this module only lays them out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

from evaluation.ceiling import CeilingReport
from evaluation.decision import DecisionReport
from evaluation.operating_point import OperatingPoint
from evaluation.profit import ProfitReport, profit_lines, snapshot_values
from evaluation.ranking import LabelledSnapshot, RankingMetrics, RankingReport, ranking_curves, week_of
from evaluation.reference import ReferenceSummary
from evaluation.warnings import WARNING_ZONES, AlertMark, EvaluationReport
from evaluation.yardstick import GRADIENT_BOOSTING, ONLINE_MODEL, RULES, SCORES, YardstickReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure

REPORT_FILE = "report.md"
_DPI = 110


@dataclass(frozen=True)
class DecisionResult:
    """One decision date's per-customer ranking and, with event files, the batch reference."""

    report: DecisionReport
    reference: ReferenceSummary | None


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


def alerts_per_week(alerts: Sequence[AlertMark]) -> dict[str, int]:
    """Yellow and red alerts per event-time week (its Monday, UTC), in week order.

    >>> from datetime import UTC
    >>> from schemas.outputs import Zone
    >>> marks = [AlertMark("C1", datetime(2025, 11, 4, tzinfo=UTC), Zone.RED),
    ...          AlertMark("C2", datetime(2025, 11, 5, tzinfo=UTC), Zone.GREEN)]
    >>> alerts_per_week(marks)
    {'2025-11-03': 1}
    """
    counts = Counter(week_of(m.event_time) for m in alerts if m.zone in WARNING_ZONES)
    return dict(sorted(counts.items()))


def plotting_available() -> bool:
    """Whether matplotlib (the ``report`` extra) is installed."""
    return find_spec("matplotlib") is not None


def _figure(width_in: float, height_in: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in))


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f}%"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=_DPI)
    return path


def _roc_plot(judged: Sequence[LabelledSnapshot], overall: RankingMetrics, path: Path) -> Path | None:
    curves = ranking_curves(judged)
    if curves is None:
        return None
    figure = _figure(5, 5)
    axes = figure.subplots()
    axes.plot(
        curves.false_positive_rate, curves.true_positive_rate, label=f"scores (AUC {overall.roc_auc:.3f})"
    )
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="random (AUC 0.5)")
    axes.set(xlabel="share of stayers flagged", ylabel="share of churners flagged", title="ROC curve")
    axes.legend(loc="lower right")
    return _save(figure, path)


def _lift_plot(judged: Sequence[LabelledSnapshot], profit: ProfitReport, path: Path) -> Path | None:
    curves = ranking_curves(judged)
    if curves is None:
        return None
    figure = _figure(10, 4.5)
    lift_axes, profit_axes = figure.subplots(1, 2)
    points = [(100 * s, lift) for s, lift in zip(curves.share, curves.lift, strict=True) if lift is not None]
    lift_axes.plot([p for p, _ in points], [lift for _, lift in points])
    lift_axes.axhline(1.0, linestyle="--", color="grey", label="random")
    lift_axes.set(
        xlabel="% of snapshots contacted, highest scores first",
        ylabel="churn rate over the average churn rate",
        title="Lift",
    )
    lift_axes.legend()
    config = profit.config
    lines = profit_lines(
        [s.score for s in judged],
        [s.churned for s in judged],
        snapshot_values([s.revenue_90d for s in judged], config),
        config,
    )
    profit_axes.plot(100 * lines.shares, lines.profit(config.mean_acceptance))
    profit_axes.axvline(100 * profit.best_share, color="green", linestyle=":", label="best share (eta*)")
    if profit.policy_share is not None:
        profit_axes.axvline(100 * profit.policy_share, color="red", linestyle=":", label="alerts' share")
    profit_axes.axhline(0.0, color="grey", linewidth=0.8)
    profit_axes.set(
        xlabel="% of snapshots contacted, highest scores first",
        ylabel="expected profit per snapshot",
        title=f"Campaign profit (acceptance {config.mean_acceptance:.0%} on average)",
    )
    profit_axes.legend()
    return _save(figure, path)


def _calibration_plot(overall: RankingMetrics, path: Path) -> Path | None:
    if not overall.calibration:
        return None
    figure = _figure(6, 4.5)
    axes = figure.subplots()
    deciles = list(range(1, len(overall.calibration) + 1))
    width = 0.4
    axes.bar(
        [d - width / 2 for d in deciles],
        [b.mean_score for b in overall.calibration],
        width,
        label="mean score",
    )
    axes.bar(
        [d + width / 2 for d in deciles],
        [b.observed_rate for b in overall.calibration],
        width,
        label="share that churned",
    )
    axes.set(
        xlabel="score decile (1 = lowest scores)",
        ylabel="probability",
        title="Calibration: score against what happened",
        xticks=deciles,
    )
    axes.legend()
    return _save(figure, path)


def _lead_time_plot(lead_days: Sequence[float], horizon_days: float, path: Path) -> Path | None:
    if not lead_days:
        return None
    figure = _figure(6, 4.5)
    axes = figure.subplots()
    axes.hist(lead_days, bins=range(0, int(horizon_days) + 2, 2), color="tab:orange", edgecolor="white")
    axes.set(
        xlabel="days from the first warning to churn",
        ylabel="warned churners",
        title=f"Warning lead time ({len(lead_days):,} warned churners)",
    )
    return _save(figure, path)


def _weekly_plot(by_week: Sequence[RankingMetrics], alert_weeks: dict[str, int], path: Path) -> Path | None:
    weeks = sorted({g.group for g in by_week} | set(alert_weeks))
    if not weeks:
        return None
    auc = {g.group: g.roc_auc for g in by_week}
    figure = _figure(10, 4.5)
    alert_axes = figure.subplots()
    positions = list(range(len(weeks)))
    alert_axes.bar(positions, [alert_weeks.get(w, 0) for w in weeks], color="tab:red", alpha=0.4)
    alert_axes.set(xlabel="event-time week (Monday)", ylabel="yellow and red alerts", title="Week by week")
    alert_axes.set_xticks(positions, weeks, rotation=60, ha="right", fontsize=8)
    auc_axes = alert_axes.twinx()
    known = [(p, a) for p, w in zip(positions, weeks, strict=True) if (a := auc.get(w)) is not None]
    auc_axes.plot([p for p, _ in known], [a for _, a in known], marker="o", color="tab:blue")
    auc_axes.set_ylim(0.0, 1.05)
    auc_axes.set_ylabel("ROC AUC of the week's snapshots", color="tab:blue")
    return _save(figure, path)


def _yardstick_roc_plot(later: Mapping[str, Sequence[LabelledSnapshot]], path: Path) -> Path | None:
    curves = {name: ranking_curves(later[name]) for name in (GRADIENT_BOOSTING, ONLINE_MODEL, RULES)}
    if any(c is None for c in curves.values()):
        return None
    figure = _figure(5, 5)
    axes = figure.subplots()
    for name, c in curves.items():
        if c is not None:
            axes.plot(c.false_positive_rate, c.true_positive_rate, label=name.replace("_", " "))
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="random")
    axes.set(
        xlabel="share of stayers flagged",
        ylabel="share of churners flagged",
        title="ROC on the later half of the examples",
    )
    axes.legend(loc="lower right")
    return _save(figure, path)


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
                f"| {group.group if index == 0 else ''} | {name.replace('_', ' ')} | {_num(m.roc_auc)} "
                f"| {_num(m.pr_auc)} | {_num(m.lift['10'], 2)} | {gap if index == 0 else ''} |"
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
            f"| {g.positives_sudden:,} | {g.positives_before_trajectory:,} | {_pct(g.share_with_signal)} "
            f"| {_num(g.oracle_roc_auc)} | {_num(g.oracle_lift_10, 2)} |"
            for g in [ceiling.overall, *ceiling.by_segment]
        ]
        lines.append("")
    return lines


def _operating_point_lines(point: OperatingPoint) -> list[str]:
    horizons = [p.horizon_days for p in point.by_zone[0].precision] if point.by_zone else []
    lines = [
        "## The operating point",
        "",
        f"{point.alerted_customers:,} of {point.customers:,} customers ({_pct(point.alerted_share)}) "
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
        + " | ".join(f"{_pct(p.precision)} ({p.judged_customers:,})" for p in z.precision)
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
        f"| {m.month} | {m.alerted_customers:,} | {m.active_customers:,} | {_pct(m.share)} |"
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
        f"(median age {_num(r.snapshot_age_days_median, 1)} days, p90 {_num(r.snapshot_age_days_p90, 1)}), "
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
                f"| {m.positives:,} | {_pct(m.base_rate)} | {_num(m.roc_auc)} | {_num(m.lift_top_10, 2)} "
                f"| {_pct(m.precision_top_10)} |"
            )
    ref = result.reference
    if ref is not None:
        gap = "-" if ref.roc_auc_gap is None else f"{ref.roc_auc_gap:+.3f}"
        lines += [
            "",
            f"Batch reference: a gradient boosting fitted on the customer table ({len(ref.inputs)} "
            f"inputs: the truth's attributes and 90-day behaviour before the date), scored "
            f"{ref.folds}-fold out of fold. ROC AUC {_num(ref.roc_auc)} against the product's "
            f"{_num(ref.score_used_roc_auc)}: gap {gap}.",
        ]
    return [*lines, ""]


def _group_rows(groups: Sequence[RankingMetrics]) -> list[str]:
    rows = [
        "| group | snapshots | churned | base rate | ROC AUC | PR AUC | lift top 1% | lift top 5% "
        "| lift top 10% |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows += [
        f"| {g.group} | {g.snapshots:,} | {g.positives:,} | {_pct(g.base_rate)} | {_num(g.roc_auc)} "
        f"| {_num(g.pr_auc)} | {_num(g.lift['1'], 2)} | {_num(g.lift['5'], 2)} | {_num(g.lift['10'], 2)} |"
        for g in groups
    ]
    return rows


def _image(path: Path | None, alt: str, caption: str) -> list[str]:
    return [] if path is None else [f"![{alt}]({path.name})", "", caption, ""]


def _summary(inputs: ReportInputs) -> list[str]:
    w = inputs.warnings
    precision = ", ".join(f"{_pct(p.precision)} within {p.horizon_days:g} days" for p in w.precision)
    rows = [
        "| measure | value |",
        "|---|---|",
        f"| customers / of whom churned | {w.customers:,} / {w.churners:,} |",
        f"| alerts (yellow and red) / customers alerted | {w.alerts:,} / {w.alerted_customers:,} |",
        f"| churners warned at most {w.recall_horizon_days:g} days ahead | "
        f"{w.churners_warned:,} ({_pct(w.recall)}) |",
        f"| median warning lead time | {_num(w.lead_days.median, 1)} days |",
        "| churners warned at least "
        + " / ".join(f"{lead.days:g}" for lead in w.recall_by_lead)
        + " days ahead | "
        + " / ".join(_pct(lead.recall) for lead in w.recall_by_lead)
        + " |",
        f"| alerted customers who then churned | {precision} |",
        f"| alerts to customers already gone (must be 0) | {w.alerts_while_churned:,} |",
    ]
    if inputs.ranking is not None and inputs.profit is not None:
        r, p = inputs.ranking.overall, inputs.profit
        rows += [
            f"| score ranking: ROC AUC / PR AUC (churn within {inputs.ranking.horizon_days:g} days) | "
            f"{_num(r.roc_auc)} / {_num(r.pr_auc)} |",
            f"| churn rate in the top 10% of scores over the average | {_num(r.lift['10'], 2)} times |",
            f"| expected maximum profit per snapshot (EMPC) | {_num(p.empc, 2)} |",
            f"| share worth contacting (eta*) / share the alerts contacted | "
            f"{_pct(p.best_share)} / {_pct(p.policy_share)} |",
            f"| expected profit per snapshot at the alerts' share | {_num(p.profit_at_policy_share, 2)} |",
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
        roc = _roc_plot(inputs.judged, ranking.overall, out_dir / "roc.png")
        lift = _lift_plot(inputs.judged, profit, out_dir / "lift.png")
        calibration = _calibration_plot(ranking.overall, out_dir / "calibration.png")
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
        roc_later = _yardstick_roc_plot(inputs.yardstick_later, out_dir / "yardstick_roc.png")
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
    lead = _lead_time_plot(inputs.lead_days, inputs.warnings.recall_horizon_days, out_dir / "lead_time.png")
    weeks = _weekly_plot(
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
