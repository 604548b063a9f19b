"""``churnwatch evaluate``'s console output: the evaluation's reports as rich tables.

Every number comes from ``evaluation.measures``; this module only lays them out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evaluation.measures.ceiling import CeilingGroup, CeilingReport
from evaluation.measures.operating_point import OperatingPoint
from evaluation.measures.ranking import LIFT_SHARES_PCT, RankingMetrics
from evaluation.measures.reference import ReferenceInputs
from evaluation.measures.run_measures import DecisionResult, OfflineComparison, Omission, ScoreQuality
from evaluation.measures.warnings import EvaluationReport, GroupRecall, LeadTimeDays, Precision
from evaluation.measures.yardstick import AUC_GAP_TARGET, SCORES, YardstickGroup, YardstickReport
from evaluation.rendering.numbers import decimal, percent

_ONE_DAY = timedelta(days=1)


def _precisions(precisions: list[Precision]) -> str:
    return "  ".join(
        f"{p.horizon_days:g}d {percent(p.precision)} (n={p.judged_customers:,})" for p in precisions
    )


def _lead(lead: LeadTimeDays) -> str:
    return f"{decimal(lead.p25, 1)} / {decimal(lead.median, 1)} / {decimal(lead.p75, 1)}"


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
            percent(g.recall),
            _lead(g.lead_days),
            f"{g.alerted_customers:,}",
            *(f"{percent(p.precision)} ({p.judged_customers:,})" for p in g.precision),
        )
    return table


def _summary_rows(report: EvaluationReport) -> Iterator[tuple[str, str]]:
    yield "customers / churners", f"{report.customers:,} / {report.churners:,}"
    yield "alerts (yellow+red) / alerted customers", f"{report.alerts:,} / {report.alerted_customers:,}"
    yield (
        f"churners warned ≤{report.recall_horizon_days:g}d ahead (recall)",
        f"{report.churners_warned:,} ({percent(report.recall)})",
    )
    yield "churners alerted only earlier than that", f"{report.churners_alerted_early_only:,}"
    yield "lead time p25 / median / p75 (days)", _lead(report.lead_days)
    yield (
        "churners warned at least "
        + " / ".join(f"{lead.days:g}" for lead in report.recall_by_lead)
        + " d ahead",
        " / ".join(percent(lead.recall) for lead in report.recall_by_lead),
    )
    yield "trajectory elapsed at warning (median)", percent(report.trajectory_elapsed_at_warning)
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
            percent(d.alerted_share),
            f"{d.alerted_in_window:,}",
        )
    console.print(decoys)


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
            percent(g.base_rate),
            decimal(g.roc_auc),
            decimal(g.pr_auc),
            *(decimal(g.lift[f"{pct:g}"], 2) for pct in LIFT_SHARES_PCT),
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
            str(index), f"{decile.snapshots:,.0f}", f"{decile.mean_score:.3f}", percent(decile.observed_rate)
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
    money.add_row("profit-maximising share to contact (eta*)", percent(profit.best_share))
    money.add_row("share the alerts contacted", percent(profit.policy_share))
    money.add_row("expected profit at that share", decimal(profit.profit_at_policy_share))
    console.print(money)


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
                decimal(m.roc_auc),
                decimal(m.pr_auc),
                decimal(m.lift["10"], 2),
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
        percent(g.share_with_signal),
        decimal(g.oracle_roc_auc),
        decimal(g.oracle_lift_10, 2),
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
            *(f"{percent(p.precision)} ({p.judged_customers:,})" for p in z.precision),
        )
    console.print(zones)
    months = Table(title="Share of the base alerted (yellow or red) per calendar month of event time")
    for column in ("month", "alerted customers", "active customers", "share"):
        months.add_column(column, justify="left" if column == "month" else "right")
    for m in point.by_month:
        months.add_row(m.month, f"{m.alerted_customers:,}", f"{m.active_customers:,}", percent(m.share))
    console.print(months)
    console.print(
        f"Customers alerted over the whole history: {point.alerted_customers:,} of {point.customers:,} "
        f"({percent(point.alerted_share)})"
    )


def render_decision(result: DecisionResult, console: Console) -> None:
    """One decision date's per-customer ranking under every score, overall and per segment."""
    r = result.report
    console.print(
        f"At decision date {r.decision_time:%Y-%m-%d %H:%M} UTC: {r.customers:,} customers ranked by their "
        f"last snapshot at or before it ({r.positives:,} churned within {r.horizon_days:g} d); left out: "
        f"churned by then {r.left_out_churned_before:,}, never scored {r.left_out_never_scored:,}, "
        f"not in truth {r.left_out_unknown_customer:,}; last snapshot age median "
        f"{decimal(r.snapshot_age_days_median, 1)} d, p90 {decimal(r.snapshot_age_days_p90, 1)} d"
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
                percent(m.base_rate),
                decimal(m.roc_auc),
                decimal(m.lift_top_10, 2),
                percent(m.precision_top_10),
                end_section=index == len(names) - 1,
            )
    console.print(table)
    ref = result.reference
    if ref is not None:
        gap = "-" if ref.roc_auc_gap is None else f"{ref.roc_auc_gap:+.3f}"
        console.print(
            f"Batch reference: gradient boosting on the customer table ({len(ref.inputs)} inputs), "
            f"{ref.folds}-fold out-of-fold scores, built in {ref.fit_seconds:.1f} s; ROC AUC "
            f"{decimal(ref.roc_auc)} against the product's {decimal(ref.score_used_roc_auc)}: gap {gap}"
        )


def render_offline_comparison(comparison: OfflineComparison, console: Console) -> None:
    """The yardstick and the ceilings, after what of them cannot be shown."""
    render_omissions(comparison.omissions, console)
    if comparison.yardstick is not None:
        render_yardstick(comparison.yardstick.report, console)
    for ceiling in comparison.ceilings.values():
        render_ceiling(ceiling, console)


def render_omissions(omissions: Sequence[Omission], console: Console) -> None:
    """What cannot be shown and why, one line each, so the other tables still print."""
    for omission in omissions:
        console.print(f"[yellow]{escape(omission.table)}:[/yellow] {escape(omission.reason)}")


def render_invalid(kind: str, invalid: Sequence[str], console: Console) -> None:
    """The first 20 records skipped for breaking their contract, and how many in all."""
    for problem in invalid[:20]:
        console.print(f"[yellow]skipped invalid {kind}[/yellow] {problem}")
    if invalid:
        console.print(f"[yellow]{len(invalid):,} invalid {kind} record(s) skipped[/yellow]")


def render_events_read(reference: ReferenceInputs, console: Console) -> None:
    """How the event files for the batch reference were read, and what was kept."""
    columns = reference.columns
    console.print(
        f"Events read for the batch reference: {columns.lines_read:,} lines in "
        f"{reference.read_s:.1f} s; {columns.events:,} kept inside the 90-day windows, "
        f"{columns.outside_windows:,} outside, {columns.other_events:,} lifecycle or other, "
        f"{columns.unknown_customer:,} of customers not in truth, {columns.unreadable:,} unreadable"
    )
