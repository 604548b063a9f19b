"""Prequential metrics: exact against scikit-learn, windowed, serialisable, bounded."""

from __future__ import annotations

import json
import pickle
import random

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

from models.errors import InvalidMetricsArgumentError, InvalidScoreError
from models.prequential import MetricsSnapshot, PrequentialMetrics

Example = tuple[float, bool, float]

# Scores on a 1e-3 grid: many ties, and quantisation at 1e-6 loses nothing.
grid_scores = st.integers(0, 1000).map(lambda k: k / 1000)
weights = st.floats(0.1, 10.0, allow_nan=False)
weighted_examples = st.lists(st.tuples(grid_scores, st.booleans(), weights), min_size=2, max_size=300)


def both_classes(examples: list[Example]) -> bool:
    labels = {label for _, label, _ in examples}
    return labels == {True, False}


def fed(examples: list[Example], window: int | None = None) -> PrequentialMetrics:
    metrics = PrequentialMetrics(window=window)
    for score, label, weight in examples:
        metrics.update(score, label, weight)
    return metrics


def columns(examples: list[Example]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scores, labels, sample_weight = zip(*examples, strict=True)
    return np.array(labels, dtype=int), np.array(scores), np.array(sample_weight)


def rare_positive_sample(
    n: int, base_rate: float, seed: int, decimals: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels at ``base_rate``, informative scores rounded to ``decimals``, random weights."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < base_rate).astype(int)
    logits = rng.normal(-3.0 + 1.5 * labels, 1.0)
    scores = np.round(1.0 / (1.0 + np.exp(-logits)), decimals)
    return labels, scores, rng.uniform(0.5, 3.0, n)


class TestAgainstScikitLearn:
    @given(weighted_examples)
    def test_roc_auc_equals_roc_auc_score_with_ties_and_weights(self, examples: list[Example]) -> None:
        """Weighted ROC AUC with tied scores matches scikit-learn's roc_auc_score."""
        assume(both_classes(examples))
        y, s, w = columns(examples)
        expected = roc_auc_score(y, s, sample_weight=w)
        assert fed(examples).snapshot().roc_auc == pytest.approx(expected, rel=1e-9, abs=1e-12)

    @given(weighted_examples)
    def test_pr_auc_equals_average_precision_score(self, examples: list[Example]) -> None:
        """Weighted average precision with tied scores matches scikit-learn's average_precision_score."""
        assume(both_classes(examples))
        y, s, w = columns(examples)
        expected = average_precision_score(y, s, sample_weight=w)
        assert fed(examples).snapshot().pr_auc == pytest.approx(expected, rel=1e-9, abs=1e-12)

    @given(st.lists(st.tuples(st.floats(0.001, 0.999), st.booleans(), weights), min_size=2, max_size=300))
    def test_log_loss_equals_log_loss(self, examples: list[Example]) -> None:
        """Weighted log loss matches scikit-learn's log_loss on unquantised scores."""
        assume(both_classes(examples))
        y, s, w = columns(examples)
        expected = log_loss(y, s, sample_weight=w, labels=[0, 1])
        assert fed(examples).snapshot().log_loss == pytest.approx(expected, rel=1e-9)

    @pytest.mark.parametrize("decimals", [3, 6])
    def test_rare_positives_match_scikit_learn(self, decimals: int) -> None:
        """At a 4% base rate over 20,000 weighted examples all three metrics match scikit-learn."""
        y, s, w = rare_positive_sample(20_000, 0.04, seed=decimals, decimals=decimals)
        metrics = PrequentialMetrics()
        for score, label, weight in zip(s.tolist(), y.tolist(), w.tolist(), strict=True):
            metrics.update(score, bool(label), weight)
        snap = metrics.snapshot()
        assert snap.roc_auc == pytest.approx(roc_auc_score(y, s, sample_weight=w), rel=1e-9)
        assert snap.pr_auc == pytest.approx(average_precision_score(y, s, sample_weight=w), rel=1e-9)
        assert snap.log_loss == pytest.approx(log_loss(y, s, sample_weight=w), rel=1e-9)
        assert snap.base_rate == pytest.approx(np.average(y, weights=w), rel=1e-9)


class TestDeciles:
    def test_lift_is_the_top_tenth_positive_rate_over_the_base_rate(self) -> None:
        """With distinct scores and unit weights the top decile is exactly the top n/10 examples."""
        rng = np.random.default_rng(3)
        s = rng.permutation(np.arange(1, 5001)) / 5000
        y = rng.random(5000) < 0.02 + 0.2 * (s > 0.9)
        metrics = fed([(float(a), bool(b), 1.0) for a, b in zip(s, y, strict=True)])
        top = y[np.argsort(-s)][:500]
        assert metrics.snapshot().lift_top_decile == pytest.approx(top.mean() / y.mean(), rel=1e-9)

    def test_calibration_reports_each_deciles_mean_score_and_observed_rate(self) -> None:
        """Deciles of sorted unit-weight examples: mean score and positive rate of each tenth."""
        rng = np.random.default_rng(5)
        s = rng.permutation(np.arange(1, 1001)) / 1000
        y = rng.random(1000) < s * 0.2
        calibration = (
            fed([(float(a), bool(b), 1.0) for a, b in zip(s, y, strict=True)]).snapshot().calibration
        )
        order = np.argsort(s)
        for decile, group in zip(calibration, np.split(order, 10), strict=True):
            assert decile.weight == pytest.approx(100.0)
            assert decile.mean_score == pytest.approx(s[group].mean(), abs=1e-9)
            assert decile.observed_rate == pytest.approx(y[group].mean(), abs=1e-12)

    def test_one_tied_score_spreads_pro_rata_over_every_decile(self) -> None:
        """When every score ties, each decile holds a tenth of the weight at the overall rate."""
        snap = fed([(0.3, i % 4 == 0, 1.0) for i in range(50)]).snapshot()
        assert [b.observed_rate for b in snap.calibration] == pytest.approx([13 / 50] * 10)
        assert snap.lift_top_decile == pytest.approx(1.0)


class TestWindow:
    @given(
        st.lists(st.tuples(grid_scores, st.booleans(), weights), min_size=1, max_size=200), st.integers(1, 50)
    )
    def test_window_counts_exactly_the_last_n_examples(self, examples: list[Example], window: int) -> None:
        """A window of N reports what fresh metrics over the last N examples report."""
        windowed = fed(examples, window=window).snapshot()
        fresh = fed(examples[-window:]).snapshot()
        assert windowed.examples == fresh.examples
        for name in ("weight", "positive_weight", "roc_auc", "pr_auc", "log_loss", "lift_top_decile"):
            got, expected = getattr(windowed, name), getattr(fresh, name)
            assert (got is None) == (expected is None), name
            if expected is not None:
                assert got == pytest.approx(expected, rel=1e-9, abs=1e-9), name

    def test_a_class_that_leaves_the_window_leaves_no_weight_behind(self) -> None:
        """Negatives sharing a bin with the positives left behind leave exactly zero weight."""
        metrics = PrequentialMetrics(window=2)
        for score, label, weight in [
            (0.0, False, 0.1),
            (0.0, False, 0.7),
            (0.0, True, 1.3),
            (0.0, True, 2.9),
        ]:
            metrics.update(score, label, weight)
        snap = metrics.snapshot()
        assert snap.weight - snap.positive_weight == 0.0
        assert snap.roc_auc is None

    def test_window_holds_no_more_bins_than_examples(self) -> None:
        """Memory of a window is bounded by its length, however many distinct scores went through."""
        metrics = PrequentialMetrics(window=100)
        rng = random.Random(1)
        for _ in range(5_000):
            metrics.update(rng.random(), rng.random() < 0.04)
        assert metrics.examples == 100
        assert metrics.distinct_scores <= 100


class TestState:
    @given(weighted_examples, st.randoms())
    def test_arrival_order_does_not_change_rank_metrics(
        self, examples: list[Example], rnd: random.Random
    ) -> None:
        """The same examples in another order give the same AUCs, lift and log loss."""
        shuffled = list(examples)
        rnd.shuffle(shuffled)
        a, b = fed(examples).snapshot(), fed(shuffled).snapshot()
        for name in ("roc_auc", "pr_auc", "lift_top_decile", "log_loss"):
            got, expected = getattr(b, name), getattr(a, name)
            assert (got is None) == (expected is None), name
            if expected is not None:
                assert got == pytest.approx(expected, rel=1e-12), name

    def test_scores_closer_than_the_resolution_share_one_bin(self) -> None:
        """Memory grows with distinct quantised scores: 0.5 and 0.5 + 1e-9 are one bin, and tie."""
        metrics = PrequentialMetrics()
        metrics.update(0.5, True)
        metrics.update(0.5 + 1e-9, False)
        assert metrics.distinct_scores == 1
        assert metrics.snapshot().roc_auc == 0.5

    def test_pickled_metrics_continue_where_they_left_off(self) -> None:
        """A checkpointed (pickled) metrics object, restored and updated, matches an uninterrupted one."""
        rng = random.Random(2)
        examples = [(rng.random(), rng.random() < 0.1, 1.0) for _ in range(400)]
        uninterrupted = fed(examples, window=150)
        restored: PrequentialMetrics = pickle.loads(pickle.dumps(fed(examples[:250], window=150)))
        for score, label, weight in examples[250:]:
            restored.update(score, label, weight)
        assert restored.snapshot() == uninterrupted.snapshot()

    def test_metrics_pickled_as_attributes_still_load(self) -> None:
        """A learner state saved before the flat pickled form (the attributes themselves) loads
        and continues like an uninterrupted object."""
        rng = random.Random(3)
        examples = [(rng.random(), rng.random() < 0.1, rng.uniform(0.5, 2.0)) for _ in range(400)]
        uninterrupted = fed(examples, window=150)
        saved = fed(examples[:250], window=150)
        restored = PrequentialMetrics.__new__(PrequentialMetrics)
        restored.__setstate__(dict(saved.__dict__))
        for score, label, weight in examples[250:]:
            restored.update(score, label, weight)
        assert restored.snapshot() == uninterrupted.snapshot()

    def test_snapshot_survives_a_json_round_trip(self) -> None:
        """to_dict gives plain JSON; from_dict of the parsed JSON is the same snapshot."""
        snap = fed([(0.1, False, 1.0), (0.7, True, 2.0), (0.4, False, 1.0)]).snapshot()
        assert MetricsSnapshot.from_dict(json.loads(json.dumps(snap.to_dict()))) == snap

    def test_snapshot_pickles(self) -> None:
        """Snapshots travel inside checkpoints, so they pickle."""
        snap = fed([(0.2, False, 1.0), (0.9, True, 1.0)]).snapshot()
        assert pickle.loads(pickle.dumps(snap)) == snap

    def test_metrics_of_one_class_only_are_undefined_not_zero(self) -> None:
        """Without both classes ROC AUC and lift are None; PR AUC needs a positive."""
        snap = fed([(0.2, False, 1.0), (0.9, False, 1.0)]).snapshot()
        assert (snap.roc_auc, snap.pr_auc, snap.lift_top_decile) == (None, None, None)
        assert snap.log_loss is not None

    def test_empty_metrics_report_nothing(self) -> None:
        """Before any example every metric is None and there are no deciles."""
        snap = PrequentialMetrics().snapshot()
        assert (snap.examples, snap.roc_auc, snap.log_loss, snap.calibration) == (0, None, None, ())


class TestInputs:
    @pytest.mark.parametrize("score", [-0.1, 1.5, float("nan")])
    def test_score_outside_zero_to_one_is_rejected(self, score: float) -> None:
        """A score that is not a probability raises InvalidScoreError naming the value."""
        with pytest.raises(InvalidScoreError):
            PrequentialMetrics().update(score, True)

    @pytest.mark.parametrize("weight", [0.0, -1.0, float("inf")])
    def test_weight_must_be_finite_and_positive(self, weight: float) -> None:
        """Zero, negative and infinite sample weights are rejected."""
        with pytest.raises(InvalidMetricsArgumentError, match="weight"):
            PrequentialMetrics().update(0.5, True, weight)

    def test_window_must_hold_at_least_one_example(self) -> None:
        """window=0 is a configuration mistake, not an empty window."""
        with pytest.raises(InvalidMetricsArgumentError, match="window"):
            PrequentialMetrics(window=0)
