"""The ceiling: which positive snapshots carry a signal, and the trajectory oracle's ROC AUC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evaluation.loading.truth import parse_truth_row
from evaluation.measures.ceiling import ceiling_report
from evaluation.measures.ranking import LabelledSnapshot
from evaluation.measures.truth import TruthRow, churn_list_row

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SNAPSHOT_DAY = 20


def at(day: float) -> str:
    return (T0 + timedelta(days=day)).isoformat()


def churner(
    customer_id: str, segment: str, trajectory_day: float, churn_day: float, signals: str
) -> TruthRow:
    return parse_truth_row(
        {
            "customer_id": customer_id,
            "segment": segment,
            "churns": "1",
            "churn_time": at(churn_day),
            "trajectory_start": at(trajectory_day),
            "signals": signals,
        }
    )


def stayer(customer_id: str, segment: str) -> TruthRow:
    return parse_truth_row({"customer_id": customer_id, "segment": segment, "churns": "0"})


def judged(row: TruthRow, churned: bool) -> LabelledSnapshot:
    """The customer's snapshot of day 20, labelled as label_snapshots would with H = 30 days."""
    return LabelledSnapshot(
        row.customer_id, T0 + timedelta(days=SNAPSHOT_DAY), 0.5, churned, "blend", None, row.segment
    )


class TestCeiling:
    def test_half_the_positives_before_their_trajectory_give_half_the_share_and_auc_075(self) -> None:
        """Two positives in trajectory (oracle 1), two whose trajectory starts after the snapshot and
        four stayers (oracle 0): share 2/4; AUC (2*4*1 + 2*4*0.5) / (4*4) = 0.75, in each segment too."""
        rows = [
            churner("A1", "family", 10, 40, "usage"),
            churner("A2", "business", 10, 40, "topups"),
            churner("B1", "family", 30, 40, "usage"),
            churner("B2", "business", 30, 40, "complaints:price"),
            *(stayer(f"S{i}", "family" if i < 2 else "business") for i in range(4)),
        ]
        snapshots = [judged(row, row.churns) for row in rows]
        report = ceiling_report("crafted", snapshots, rows)
        assert report is not None
        overall = report.overall
        assert (overall.snapshots, overall.positives) == (8, 4)
        assert (overall.positives_in_trajectory, overall.positives_before_trajectory) == (2, 2)
        assert overall.share_with_signal == 0.5
        assert overall.oracle_roc_auc == pytest.approx(0.75)
        assert [(g.group, g.share_with_signal, g.oracle_roc_auc) for g in report.by_segment] == [
            ("business", 0.5, pytest.approx(0.75)),
            ("family", 0.5, pytest.approx(0.75)),
        ]

    def test_sudden_churners_carry_no_signal_and_long_trajectories_flag_negatives(self) -> None:
        """A sudden churner's positive scores 0; a churner more than H days from churn is a negative
        the oracle scores 1: pairs 1 + 0.5 + 0.5 + 0 over 4 give AUC 0.5."""
        rows = [
            churner("A", "family", 10, 40, "usage"),
            churner("SUDDEN", "family", 38.5, 40, ""),
            churner("LONG", "family", 10, 70, "usage"),
            stayer("S", "family"),
        ]
        snapshots = [
            judged(rows[0], True),
            judged(rows[1], True),
            judged(rows[2], False),
            judged(rows[3], False),
        ]
        report = ceiling_report("crafted", snapshots, rows)
        assert report is not None
        overall = report.overall
        assert (overall.positives_in_trajectory, overall.positives_sudden) == (1, 1)
        assert overall.negatives_in_trajectory == 1
        assert overall.oracle_roc_auc == pytest.approx(0.5)

    def test_customers_missing_from_the_truth_are_counted_and_left_out(self) -> None:
        """A snapshot of a customer the truth does not know is not judged."""
        rows = [churner("A", "family", 10, 40, "usage"), stayer("S", "family")]
        snapshots = [judged(rows[0], True), judged(rows[1], False), judged(stayer("X", "family"), False)]
        report = ceiling_report("crafted", snapshots, rows)
        assert report is not None
        assert (report.overall.snapshots, report.left_out_unknown_customer) == (2, 1)

    def test_a_churn_list_has_no_ceiling(self) -> None:
        """Without trajectories nothing says when a churner's behaviour began to change."""
        rows = [churn_list_row("A", T0 + timedelta(days=40)), churn_list_row("S", None)]
        assert ceiling_report("crafted", [judged(rows[0], True), judged(rows[1], False)], rows) is None

    def test_a_positive_the_truth_calls_a_stayer_is_counted_apart(self) -> None:
        """A label the truth disagrees with is neither sudden nor before a trajectory."""
        rows = [churner("A", "family", 10, 40, "usage"), stayer("S", "family")]
        report = ceiling_report("crafted", [judged(rows[0], True), judged(rows[1], True)], rows)
        assert report is not None
        overall = report.overall
        assert (overall.positives, overall.positives_truth_stayed, overall.positives_sudden) == (2, 1, 0)
