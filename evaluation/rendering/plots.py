"""The report's PNG plots, drawn with matplotlib's object API (``Figure``, no pyplot state, no display).

matplotlib comes with the ``report`` extra, so it is imported only when a plot is drawn:
the rest of the evaluation works without it. Each function returns the file written, or
None when there is nothing to draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

from evaluation.measures.profit import ProfitReport, profit_lines, snapshot_values
from evaluation.measures.ranking import LabelledSnapshot, RankingMetrics, ranking_curves
from evaluation.measures.yardstick import GRADIENT_BOOSTING, ONLINE_MODEL, RULES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_DPI = 110


def plotting_available() -> bool:
    """Whether matplotlib (the ``report`` extra) is installed."""
    return find_spec("matplotlib") is not None


def _figure(width_in: float, height_in: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in))


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=_DPI)
    return path


def roc_plot(judged: Sequence[LabelledSnapshot], overall: RankingMetrics, path: Path) -> Path | None:
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


def lift_plot(judged: Sequence[LabelledSnapshot], profit: ProfitReport, path: Path) -> Path | None:
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


def calibration_plot(overall: RankingMetrics, path: Path) -> Path | None:
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


def lead_time_plot(lead_days: Sequence[float], horizon_days: float, path: Path) -> Path | None:
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


def weekly_plot(by_week: Sequence[RankingMetrics], alert_weeks: dict[str, int], path: Path) -> Path | None:
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


def yardstick_roc_plot(later: Mapping[str, Sequence[LabelledSnapshot]], path: Path) -> Path | None:
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
