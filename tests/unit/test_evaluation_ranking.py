"""Ranking metrics of ``churn.predictions`` snapshots against scikit-learn and hand-made cases."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from evaluation.measures.ranking import (
    LabelledSnapshot,
    ScoredSnapshot,
    label_snapshots,
    lift_at,
    rank_report,
    ranking_curves,
    ranking_metrics,
    week_of,
)
from evaluation.measures.truth import TruthRow, churn_list_row
from schemas.outputs import Prediction, ScoreSource

T0 = datetime(2025, 11, 3, tzinfo=UTC)
END = T0 + timedelta(days=120)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def prediction(
    customer_id: str,
    at_day: float,
    score: float,
    *,
    source: ScoreSource = ScoreSource.COLD_START_RULES,
    revenue_90d: float | None = None,
) -> ScoredSnapshot:
    features = {} if revenue_90d is None else {"revenue_90d": revenue_90d, "calls_7d": 3.0}
    record = Prediction(
        snapshot_id=f"{customer_id}-{at_day}",
        customer_id=customer_id,
        event_time=day(at_day),
        features=features,
        score=score,
        model_version="m1",
        score_source=source,
    )
    return ScoredSnapshot.from_prediction(Prediction.model_validate_json(record.model_dump_json()))


def truth_row(customer_id: str, churn_day: float | None, segment: str = "family") -> TruthRow:
    churn = None if churn_day is None else day(churn_day)
    return TruthRow(customer_id, segment, churn, None, (), "none", None, None, None)


def labelled(score: float, churned: bool, at_day: float = 0.0) -> LabelledSnapshot:
    return LabelledSnapshot("C", day(at_day), score, churned, "blend", None, "family")


class TestLabelling:
    def test_churn_within_the_horizon_is_positive_and_later_churn_negative(self) -> None:
        """A snapshot is positive only if churn falls in (t, t + H]."""
        rows = [truth_row("C1", 50.0)]
        snaps = [prediction("C1", 10, 0.1), prediction("C1", 20, 0.2), prediction("C1", 19.5, 0.3)]
        got = label_snapshots(snaps, rows, END, horizon_days=30)
        assert [(s.score, s.churned) for s in got.snapshots] == [(0.1, False), (0.2, True), (0.3, False)]

    def test_churn_exactly_at_the_horizon_end_is_positive(self) -> None:
        """The horizon is closed on the right: churn at t + H counts."""
        got = label_snapshots([prediction("C1", 20, 0.5)], [truth_row("C1", 50.0)], END, horizon_days=30)
        assert got.snapshots[0].churned

    def test_snapshot_whose_horizon_is_not_over_is_left_out(self) -> None:
        """A stayer's snapshot with t + H after the end of history is not judged, nor a churner's."""
        rows = [truth_row("S", None), truth_row("C", 115.0)]
        got = label_snapshots([prediction("S", 95, 0.1), prediction("C", 100, 0.9)], rows, END, 30)
        assert (got.snapshots, got.horizon_open) == ([], 2)

    def test_snapshot_after_churn_is_left_out(self) -> None:
        """A customer already gone is not at risk: their snapshot is not judged."""
        got = label_snapshots([prediction("C1", 60, 0.5)], [truth_row("C1", 50.0)], END)
        assert (got.snapshots, got.after_churn) == ([], 1)

    def test_unknown_customer_is_counted_unless_absent_means_stayed(self) -> None:
        """With the simulator's truth an unknown customer is left out; with a churn list they stayed."""
        snaps = [prediction("X", 10, 0.5)]
        strict = label_snapshots(snaps, [truth_row("C1", 50.0)], END)
        churn_list = label_snapshots(snaps, [churn_list_row("C1", day(50))], END, absent_stayed=True)
        assert (strict.unknown_customer, len(strict.snapshots)) == (1, 0)
        assert [s.churned for s in churn_list.snapshots] == [False]

    def test_revenue_comes_from_the_snapshot_features(self) -> None:
        """The value estimate is the snapshot's own revenue_90d, None when absent."""
        snaps = [prediction("S", 10, 0.5, revenue_90d=150.0), prediction("S", 11, 0.5)]
        got = label_snapshots(snaps, [truth_row("S", None)], END)
        assert [s.revenue_90d for s in got.snapshots] == [150.0, None]


class TestLift:
    def test_lift_matches_a_sorted_count_for_distinct_scores(self) -> None:
        """With distinct scores, lift at 10% of 1,000 is the top 100's positive rate over the base rate."""
        rng = random.Random(3)
        scores = [rng.random() for _ in range(1000)]
        labels = [rng.random() < s * 0.3 for s in scores]
        top = sorted(zip(scores, labels, strict=True), reverse=True)[:100]
        expected = (sum(y for _, y in top) / 100) / (sum(labels) / 1000)
        assert lift_at(scores, labels, 0.10) == pytest.approx(expected)

    def test_tie_at_the_cut_counts_pro_rata(self) -> None:
        """Top 2 of 4 where three tie below a clear top: the tie group adds a third of its positives."""
        scores = [0.9, 0.5, 0.5, 0.5]
        labels = [False, True, False, False]
        # top-2 positives expected: 0 + 1 * (1/3); rate 1/6; base rate 1/4
        assert lift_at(scores, labels, 0.5) == pytest.approx((1 / 6) / (1 / 4))

    def test_lift_does_not_depend_on_input_order(self) -> None:
        """Shuffling ties does not change the lift."""
        scores = [0.5] * 6 + [0.2] * 4
        labels = [True, False, False, True, False, False, False, True, False, False]
        order = list(range(10))
        random.Random(1).shuffle(order)
        shuffled = lift_at([scores[i] for i in order], [labels[i] for i in order], 0.3)
        assert shuffled == pytest.approx(lift_at(scores, labels, 0.3) or 0.0)

    def test_perfect_ranking_lifts_by_the_inverse_base_rate(self) -> None:
        """All positives on top: lift at a share not above the base rate is 1 / base rate."""
        scores = [i / 100 for i in range(100)]
        labels = [i >= 90 for i in range(100)]
        assert lift_at(scores, labels, 0.05) == pytest.approx(10.0)

    def test_no_positive_gives_no_lift(self) -> None:
        """Lift is undefined without positives."""
        assert lift_at([0.3, 0.2], [False, False], 0.1) is None


class TestRankingMetrics:
    def test_auc_and_average_precision_match_scikit_learn(self) -> None:
        """ROC AUC and PR AUC agree with scikit-learn on a random set with ties."""
        rng = random.Random(7)
        scores = [round(rng.random(), 2) for _ in range(2000)]
        labels = [rng.random() < 0.05 + 0.2 * s for s in scores]
        metrics = ranking_metrics("all", [labelled(s, y) for s, y in zip(scores, labels, strict=True)])
        assert metrics.roc_auc == pytest.approx(roc_auc_score(labels, scores), abs=1e-9)
        assert metrics.pr_auc == pytest.approx(average_precision_score(labels, scores), abs=1e-9)
        assert metrics.positives == sum(labels)

    def test_perfect_ranking_scores_one(self) -> None:
        """Every positive above every negative: ROC AUC and PR AUC are 1."""
        metrics = ranking_metrics("all", [labelled(0.9, True), labelled(0.8, True), labelled(0.1, False)])
        assert (metrics.roc_auc, metrics.pr_auc) == (1.0, 1.0)

    def test_all_tied_scores_give_half(self) -> None:
        """One score for everybody ranks nobody: ROC AUC 0.5, lift 1."""
        metrics = ranking_metrics("all", [labelled(0.4, i % 4 == 0) for i in range(40)])
        assert (metrics.roc_auc, metrics.lift["10"]) == (0.5, pytest.approx(1.0))

    def test_calibration_has_ten_deciles_lowest_first(self) -> None:
        """Deciles of equal count, with their mean score and observed rate, lowest scores first."""
        snaps = [labelled(i / 100, i >= 90) for i in range(100)]
        deciles = ranking_metrics("all", snaps).calibration
        assert [d.snapshots for d in deciles] == [10.0] * 10
        assert deciles[-1].observed_rate == 1.0
        assert deciles[0].mean_score == pytest.approx(0.045)


class TestRankReport:
    def test_groups_by_source_tier_segment_and_week(self) -> None:
        """The report splits judged snapshots by score source, value tier, segment and Monday of the week."""
        rows = [truth_row("C1", 30.0, "family"), truth_row("S1", None, "business_postpaid")]
        snaps = [
            prediction("C1", 1, 0.8, revenue_90d=500.0),
            prediction("S1", 1, 0.2, source=ScoreSource.ONLINE_MODEL),
            prediction("S1", 8, 0.3, revenue_90d=20.0),
        ]
        report = rank_report(label_snapshots(snaps, rows, END, 30), horizon_days=30)
        assert [g.group for g in report.by_score_source] == ["cold_start_rules", "online_model"]
        assert [g.group for g in report.by_value_tier] == ["key", "low", "unknown"]
        assert [g.group for g in report.by_segment] == ["business_postpaid", "family"]
        assert [(g.group, g.snapshots) for g in report.by_week] == [("2025-11-03", 2), ("2025-11-10", 1)]
        assert report.overall.roc_auc == 1.0

    def test_churn_list_has_no_segment_table(self) -> None:
        """An operator's churn list names no segments, so the segment table is empty."""
        snaps = [prediction("C1", 1, 0.8), prediction("S1", 1, 0.2)]
        labelling = label_snapshots(snaps, [churn_list_row("C1", day(20))], END, absent_stayed=True)
        assert rank_report(labelling, 30).by_segment == []

    def test_week_starts_on_monday_in_utc(self) -> None:
        """A Sunday-evening snapshot belongs to the week that began the Monday before."""
        assert week_of(datetime(2025, 11, 16, 23, 59, 59, tzinfo=UTC)) == "2025-11-10"


class TestRankingCurves:
    def test_roc_points_match_scikit_learn(self) -> None:
        """One ROC point per distinct score, the same as scikit-learn's without dropped points."""
        rng = random.Random(11)
        scores = [round(rng.random(), 2) for _ in range(500)]
        labels = [rng.random() < 0.1 + 0.3 * s for s in scores]
        curves = ranking_curves([labelled(s, y) for s, y in zip(scores, labels, strict=True)])
        assert curves is not None
        fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
        assert curves.false_positive_rate == pytest.approx(list(fpr))
        assert curves.true_positive_rate == pytest.approx(list(tpr))

    def test_lift_curve_ends_at_one_and_agrees_with_lift_at(self) -> None:
        """Contacting everybody lifts by 1; at a tie boundary the curve equals lift_at."""
        snaps = [labelled(i / 20, i % 3 == 0) for i in range(20)]
        curves = ranking_curves(snaps)
        assert curves is not None
        assert curves.lift[-1] == pytest.approx(1.0)
        assert curves.lift[5] == pytest.approx(
            lift_at([s.score for s in snaps], [s.churned for s in snaps], curves.share[5]) or 0.0
        )

    def test_one_class_has_no_curves(self) -> None:
        """Without positives there is no ROC curve."""
        assert ranking_curves([labelled(0.2, False), labelled(0.3, False)]) is None
