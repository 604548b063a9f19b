"""The per-customer ranking at a decision date: which snapshot, which customers, which label."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from evaluation.errors import EvaluationInputError
from evaluation.measures.decision import (
    MODEL_SCORE,
    RULES_SCORE,
    SCORE_USED,
    customers_at,
    decision_metrics,
    decision_report,
    default_decision_date,
    parse_decision_date,
    roc_auc,
)
from evaluation.measures.ranking import ScoredSnapshot
from evaluation.measures.truth import TruthRow

D = datetime(2026, 2, 1, tzinfo=UTC)
H = 30.0


def at(days: float) -> datetime:
    return D + timedelta(days=days)


def truth(customer_id: str, churn: datetime | None, segment: str = "family") -> TruthRow:
    return TruthRow(customer_id, segment, churn, None, (), "none", None, None, None)


def snap(customer_id: str, moment: datetime, score: float) -> ScoredSnapshot:
    return ScoredSnapshot(customer_id, moment, score, "online_model", None)


class TestSnapshotSelection:
    def test_the_last_snapshot_at_or_before_the_date_is_the_customers_row(self) -> None:
        """Of snapshots at D-5, D-1 and D+1 the one at D-1 ranks the customer."""
        rows = customers_at(
            [snap("A", at(-5), 0.1), snap("A", at(1), 0.9), snap("A", at(-1), 0.4)], [truth("A", None)], D, H
        )
        assert [(r.customer_id, r.scores[SCORE_USED], r.snapshot_time) for r in rows.rows] == [
            ("A", 0.4, at(-1))
        ]

    def test_a_snapshot_exactly_at_the_date_counts(self) -> None:
        """A snapshot stamped at D itself is at or before D."""
        rows = customers_at([snap("A", at(-3), 0.1), snap("A", D, 0.7)], [truth("A", None)], D, H)
        assert rows.rows[0].scores[SCORE_USED] == 0.7

    def test_a_customer_scored_only_after_the_date_is_never_scored(self) -> None:
        """No snapshot at or before D: left out and counted."""
        rows = customers_at([snap("A", at(2), 0.5)], [truth("A", None), truth("B", None)], D, H)
        assert rows.rows == []
        assert rows.never_scored == 2

    def test_a_customer_who_joins_after_the_date_is_not_counted_as_never_scored(self) -> None:
        """activated_on after D: not yet a customer, so not a customer the product missed."""
        late = TruthRow("L", "family", None, None, (), "none", None, None, None, at(5))
        rows = customers_at([], [late, truth("A", None)], D, H)
        assert rows.never_scored == 1

    def test_one_row_per_customer_in_customer_id_order(self) -> None:
        """Daily snapshots of three customers give three rows, sorted by id."""
        snapshots = [snap(c, at(-d), 0.5) for d in range(10) for c in ("C", "A", "B")]
        rows = customers_at(snapshots, [truth(c, None) for c in "ABC"], D, H)
        assert [r.customer_id for r in rows.rows] == ["A", "B", "C"]


class TestWhoIsLeftOut:
    def test_customers_who_churned_at_or_before_the_date_are_left_out(self) -> None:
        """Churn before D and churn exactly at D both remove the customer; churn after D keeps them."""
        rows = customers_at(
            [snap(c, at(-2), 0.5) for c in "ABC"],
            [truth("A", at(-1)), truth("B", D), truth("C", at(0.5))],
            D,
            H,
        )
        assert [r.customer_id for r in rows.rows] == ["C"]
        assert rows.churned_before == 2

    def test_customers_unknown_to_the_simulators_truth_are_counted_not_ranked(self) -> None:
        """A snapshot of a customer the truth lacks is left out as unknown."""
        rows = customers_at([snap("X", at(-1), 0.5)], [truth("A", None)], D, H)
        assert rows.rows == []
        assert rows.unknown_customer == 1

    def test_with_a_churn_list_an_absent_customer_stayed(self) -> None:
        """With absent_stayed a customer missing from the churn list is a negative row."""
        rows = customers_at([snap("X", at(-1), 0.5)], [], D, H, absent_stayed=True)
        assert [(r.customer_id, r.churned) for r in rows.rows] == [("X", False)]


class TestLabelWindow:
    @pytest.mark.parametrize(
        ("churn_day", "positive"),
        [(0.001, True), (15.0, True), (30.0, True), (30.001, False), (60.0, False), (None, False)],
    )
    def test_positive_exactly_when_churn_falls_in_the_horizon_after_the_date(
        self, churn_day: float | None, positive: bool
    ) -> None:
        """Churn in (D, D + 30 d] is positive; later churn and no churn are negative."""
        churn = None if churn_day is None else at(churn_day)
        rows = customers_at([snap("A", at(-1), 0.5)], [truth("A", churn)], D, H)
        assert rows.rows[0].churned is positive

    def test_the_label_counts_from_the_date_not_from_the_snapshot(self) -> None:
        """A snapshot 20 days old with churn 25 days after D is positive (D + 30 d), though 45 days
        after the snapshot."""
        rows = customers_at([snap("A", at(-20), 0.5)], [truth("A", at(25))], D, H)
        assert rows.rows[0].churned is True


class TestScores:
    def test_model_and_rules_scores_join_by_customer_and_snapshot_time(self) -> None:
        """A training example of the chosen snapshot adds its model and rules scores; others not."""
        made = {("A", at(-1)): (0.6, 0.2), ("A", at(-2)): (0.9, 0.9)}
        rows = customers_at(
            [snap("A", at(-1), 0.55), snap("B", at(-1), 0.3)],
            [truth("A", None), truth("B", None)],
            D,
            H,
            made,
        )
        assert rows.rows[0].scores == {SCORE_USED: 0.55, MODEL_SCORE: 0.6, RULES_SCORE: 0.2}
        assert rows.rows[1].scores == {SCORE_USED: 0.3}

    def test_each_score_is_ranked_on_the_customers_that_carry_it(self) -> None:
        """Four customers, the model score known for two: the model's row counts two customers."""
        made = {("A", at(-1)): (0.9, 0.1), ("B", at(-1)): (0.1, 0.9)}
        snapshots = [snap(c, at(-1), s) for c, s in [("A", 0.8), ("B", 0.2), ("C", 0.7), ("D", 0.1)]]
        fates = [truth("A", at(3)), truth("B", None), truth("C", at(4)), truth("D", None)]
        report = decision_report(customers_at(snapshots, fates, D, H, made))
        by_score = report.overall.by_score
        assert by_score[SCORE_USED].customers == 4
        assert by_score[SCORE_USED].roc_auc == 1.0
        assert by_score[MODEL_SCORE].customers == 2
        assert by_score[MODEL_SCORE].roc_auc == 1.0
        assert by_score[RULES_SCORE].roc_auc == 0.0

    def test_extra_scores_rank_the_same_rows_per_segment(self) -> None:
        """A reference score given per row is split by segment with the rows."""
        snapshots = [snap(c, at(-1), 0.5) for c in "ABCD"]
        fates = [
            truth("A", at(3), "x"),
            truth("B", None, "x"),
            truth("C", at(3), "y"),
            truth("D", None, "y"),
        ]
        report = decision_report(customers_at(snapshots, fates, D, H), {"reference": [0.9, 0.1, 0.2, 0.8]})
        assert report.overall.by_score["reference"].roc_auc == 0.75
        assert [(g.group, g.by_score["reference"].roc_auc) for g in report.by_segment] == [
            ("x", 1.0),
            ("y", 0.0),
        ]
        assert report.overall.by_score[SCORE_USED].roc_auc == 0.5


class TestMetrics:
    def test_roc_auc_matches_scikit_learn_with_ties(self) -> None:
        """On 2,000 random scores rounded to create ties the exact AUC is scikit-learn's."""
        metrics = pytest.importorskip("sklearn.metrics")
        rng = random.Random(5)
        scores = [round(rng.random(), 2) for _ in range(2000)]
        labels = [rng.random() < 0.2 + 0.3 * s for s in scores]
        assert roc_auc(scores, labels) == pytest.approx(metrics.roc_auc_score(labels, scores), abs=1e-12)

    def test_precision_of_the_top_decile_is_its_churned_share(self) -> None:
        """20 customers, the top two by score are one churner and one stayer: precision 50%, lift 5."""
        scores = [1.0 - i / 20 for i in range(20)]
        labels = [True, False, False, True] + [False] * 16
        m = decision_metrics("x", scores, labels)
        assert m.precision_top_10 == pytest.approx(0.5)
        assert m.lift_top_10 == pytest.approx(5.0)
        assert m.base_rate == pytest.approx(0.1)

    def test_snapshot_age_is_reported_from_the_date(self) -> None:
        """Last snapshots 1 and 11 days old: median age 6 days."""
        rows = customers_at(
            [snap("A", at(-1), 0.5), snap("B", at(-11), 0.5)], [truth("A", None), truth("B", None)], D, H
        )
        assert decision_report(rows).snapshot_age_days_median == pytest.approx(6.0)


class TestDates:
    def test_a_bare_date_is_the_start_of_that_day_utc(self) -> None:
        """2026-02-01 means 2026-02-01T00:00Z."""
        assert parse_decision_date("2026-02-01") == D

    def test_a_time_without_offset_is_refused(self) -> None:
        """A naive time names the field."""
        with pytest.raises(EvaluationInputError, match="decision_date"):
            parse_decision_date("2026-02-01T10:00:00")

    def test_default_date_leaves_the_horizon_inside_history(self) -> None:
        """For 120 days the later half's midpoint (day 90) plus 30 days ends exactly at the end."""
        start = datetime(2025, 11, 3, tzinfo=UTC)
        chosen = default_decision_date(start, start + timedelta(days=120), 30.0)
        assert chosen == start + timedelta(days=90)
