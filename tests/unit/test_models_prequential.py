"""Prequential metrics: exact against scikit-learn, windowed, serialisable, bounded."""

from __future__ import annotations

import json
import math
import pickle
import random
from array import array
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score
from sortedcontainers import SortedDict

from models.errors import InvalidMetricsArgumentError, InvalidScoreError
from models.metrics_snapshot import CalibrationBin, MetricsSnapshot
from models.prequential import DECILES, DEFAULT_RESOLUTION, PrequentialMetrics, _CompensatedSum, example_loss

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


# The implementation before the slots and the window ring (models/prequential.py at 7d22a6c):
# a sorted dict of bin objects and a deque of tuples. Every result of the current one must
# equal its, float for float.


@dataclass(slots=True)
class _ReferenceBin:
    """The examples at one quantised score."""

    positive_count: int = 0
    negative_count: int = 0
    positive: float = 0.0
    negative: float = 0.0


@dataclass(slots=True)
class _ReferenceDecile:
    weight: float = 0.0
    score_weight: float = 0.0
    positive: float = 0.0


class ReferencePrequentialMetrics:
    """ROC AUC, PR AUC, log loss, top-decile lift and calibration of a stream of scored labels.

    ``window=None`` counts every example since creation; ``window=N`` only the last N,
    which is what a challenger and a champion are compared on. Pickle it to checkpoint it.

    """

    def __init__(self, window: int | None = None, resolution: float = DEFAULT_RESOLUTION) -> None:
        if window is not None and window < 1:
            raise InvalidMetricsArgumentError("window", window, "must be at least 1 example, or None")
        if not (math.isfinite(resolution) and 0.0 < resolution <= 0.1):
            raise InvalidMetricsArgumentError("resolution", resolution, "must be within (0, 0.1]")
        self.window = window
        self.resolution = resolution
        self._bins: Any = SortedDict()  # int key -> _ReferenceBin; sortedcontainers is untyped
        self._recent: deque[tuple[int, bool, float, float]] = deque()  # key, label, weight, loss
        self._examples = 0
        self._weighted_loss = _CompensatedSum()

    @property
    def examples(self) -> int:
        """Examples counted now (at most ``window``)."""
        return self._examples

    @property
    def distinct_scores(self) -> int:
        """Quantised scores held: what memory grows with."""
        return len(self._bins)

    def update(self, score: float, label: bool, weight: float = 1.0) -> None:
        """Count one resolved example with the score it was given before its label was known."""
        if not (math.isfinite(score) and 0.0 <= score <= 1.0):
            raise InvalidScoreError(score)
        if not (math.isfinite(weight) and weight > 0.0):
            raise InvalidMetricsArgumentError("weight", weight, "must be a finite positive number")
        key = round(score / self.resolution)
        loss = weight * example_loss(score, label)
        self._add(key, label, weight, loss, 1)
        if self.window is not None:
            self._recent.append((key, label, weight, loss))
            if len(self._recent) > self.window:
                old_key, old_label, old_weight, old_loss = self._recent.popleft()
                self._add(old_key, old_label, -old_weight, -old_loss, -1)

    def __getstate__(self) -> dict[str, Any]:
        """Bins and the window as flat arrays: the learner pickles every metric once per
        event-time day, and a window of 10,000 examples as objects took ~50 ms to pickle."""
        bins: list[tuple[int, _ReferenceBin]] = list(self._bins.items())
        recent = self._recent
        return {
            "window": self.window,
            "resolution": self.resolution,
            "examples": self._examples,
            "weighted_loss": self._weighted_loss,
            "bin_keys": array("q", [key for key, _ in bins]),
            "bin_counts": array("q", [c for _, b in bins for c in (b.positive_count, b.negative_count)]),
            "bin_weights": array("d", [w for _, b in bins for w in (b.positive, b.negative)]),
            "recent_keys": array("q", [item[0] for item in recent]),
            "recent_labels": bytes(item[1] for item in recent),
            "recent_weights": array("d", [item[2] for item in recent]),
            "recent_losses": array("d", [item[3] for item in recent]),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.window = state["window"]
        self.resolution = state["resolution"]
        self._examples = state["examples"]
        self._weighted_loss = state["weighted_loss"]
        counts, weights = state["bin_counts"], state["bin_weights"]
        self._bins = SortedDict(
            (key, _ReferenceBin(counts[2 * i], counts[2 * i + 1], weights[2 * i], weights[2 * i + 1]))
            for i, key in enumerate(state["bin_keys"])
        )
        self._recent = deque(
            zip(
                state["recent_keys"],
                (bool(label) for label in state["recent_labels"]),
                state["recent_weights"],
                state["recent_losses"],
                strict=True,
            )
        )

    def label_counts(self) -> tuple[int, int]:
        """Examples counted now per class, negatives then positives (whatever their weights):
        a rule comparing two AUCs needs enough of each; O(distinct scores).

        """
        negatives = sum(bin_.negative_count for bin_ in self._bins.values())
        positives = sum(bin_.positive_count for bin_ in self._bins.values())
        return negatives, positives

    def _add(self, key: int, label: bool, weight: float, loss: float, count: int) -> None:
        bin_ = self._bins.get(key)
        if bin_ is None:
            bin_ = self._bins[key] = _ReferenceBin()
        # a class whose last example leaves is set to exactly zero, dropping rounding residue
        if label:
            bin_.positive_count += count
            bin_.positive = bin_.positive + weight if bin_.positive_count else 0.0
        else:
            bin_.negative_count += count
            bin_.negative = bin_.negative + weight if bin_.negative_count else 0.0
        if bin_.positive_count == 0 and bin_.negative_count == 0:
            del self._bins[key]
        self._examples += count
        self._weighted_loss.add(loss)

    def score_quantiles(self, shares: Sequence[float]) -> list[float] | None:
        """The scores below which these shares of the weight lie (quantised scores, lowest
        first); None before any example.

        """
        bins: list[tuple[int, _ReferenceBin]] = list(self._bins.items())
        weights = [bin_.positive + bin_.negative for _, bin_ in bins]
        total = math.fsum(weights)
        if total <= 0:
            return None
        quantiles: list[float] = []
        index, below = 0, 0.0
        for share in sorted(shares):
            target = share * total
            while index < len(bins) - 1 and below + weights[index] < target * (1 - 1e-12):
                below += weights[index]
                index += 1
            quantiles.append(round(bins[index][0] * self.resolution, 12))
        return quantiles

    def snapshot(self) -> MetricsSnapshot:
        """All metrics now; O(distinct scores)."""
        bins: list[tuple[int, _ReferenceBin]] = list(self._bins.items())
        positive = math.fsum(bin_.positive for _, bin_ in bins)
        negative = math.fsum(bin_.negative for _, bin_ in bins)
        weight = positive + negative
        deciles = self._deciles(bins, weight)
        base_rate = positive / weight if weight > 0 else 0.0
        top = deciles[-1] if deciles else None
        return MetricsSnapshot(
            examples=self._examples,
            weight=weight,
            positive_weight=positive,
            roc_auc=_reference_roc_auc(bins, positive, negative),
            pr_auc=_reference_average_precision(bins, positive),
            log_loss=self._weighted_loss.value / weight if weight > 0 else None,
            lift_top_decile=(top.observed_rate / base_rate if top is not None and base_rate > 0 else None),
            calibration=deciles,
        )

    def _deciles(self, bins: list[tuple[int, _ReferenceBin]], weight: float) -> tuple[CalibrationBin, ...]:
        if weight <= 0:
            return ()
        capacity = weight / DECILES
        groups = [_ReferenceDecile() for _ in range(DECILES)]
        index = 0
        for key, bin_ in bins:
            remaining = bin_.positive + bin_.negative
            if remaining <= 0:
                continue
            positive_share = bin_.positive / remaining
            score = key * self.resolution
            while remaining > 0:
                group = groups[index]
                room = capacity - group.weight
                last = index == DECILES - 1
                taken = remaining if last or remaining < room else room
                group.weight += taken
                group.score_weight += taken * score
                group.positive += taken * positive_share
                remaining -= taken
                if not last and group.weight >= capacity * (1 - 1e-12):
                    index += 1
        # every group is filled whenever weight > 0; the guard only keeps division safe
        return tuple(
            CalibrationBin(g.weight, g.score_weight / g.weight, g.positive / g.weight)
            for g in groups
            if g.weight > 0
        )


def _reference_roc_auc(
    bins: list[tuple[int, _ReferenceBin]], positive: float, negative: float
) -> float | None:
    """Weighted Mann-Whitney statistic, ties counted half, lowest scores first."""
    if positive <= 0 or negative <= 0:
        return None
    negatives_below = 0.0
    wins = 0.0
    for _, bin_ in bins:
        wins += bin_.positive * (negatives_below + 0.5 * bin_.negative)
        negatives_below += bin_.negative
    return min(1.0, max(0.0, wins / (positive * negative)))


def _reference_average_precision(bins: list[tuple[int, _ReferenceBin]], positive: float) -> float | None:
    """Precision at each distinct score, weighted by the recall it adds, highest scores first."""
    if positive <= 0:
        return None
    true_positive = false_positive = 0.0
    total = 0.0
    for _, bin_ in reversed(bins):
        true_positive += bin_.positive
        false_positive += bin_.negative
        if bin_.positive > 0:
            total += bin_.positive * true_positive / (true_positive + false_positive)
    return min(1.0, total / positive)


QUANTILE_SHARES = [i / 20 for i in range(21)]


def assert_same_as_reference(metrics: PrequentialMetrics, reference: ReferencePrequentialMetrics) -> None:
    assert metrics.snapshot() == reference.snapshot()
    assert metrics.label_counts() == reference.label_counts()
    assert metrics.score_quantiles(QUANTILE_SHARES) == reference.score_quantiles(QUANTILE_SHARES)
    assert metrics.distinct_scores == reference.distinct_scores
    assert metrics.examples == reference.examples


# few scores (many ties, bins emptied and refilled), any score, and scores near a cut
any_score = st.one_of(
    st.sampled_from([0.0, 0.25, 0.5, 0.50004, 1.0]),
    st.floats(0.0, 1.0, allow_nan=False),
    grid_scores,
)
streams = st.lists(st.tuples(any_score, st.booleans(), weights), min_size=0, max_size=250)


class TestSameAsTheReference:
    @given(
        streams,
        st.one_of(st.none(), st.integers(1, 40)),
        st.sampled_from([1e-6, 1e-4, 1e-2]),
        st.integers(1, 25),
    )
    def test_every_result_equals_the_reference_at_every_step(
        self, examples: list[Example], window: int | None, resolution: float, every: int
    ) -> None:
        """Snapshots, label counts, quantiles and bins held are the reference's, float for
        float, after each ``every`` examples: windows, weights, ties, classes leaving bins."""
        metrics = PrequentialMetrics(window, resolution)
        reference = ReferencePrequentialMetrics(window, resolution)
        for step, (score, label, weight) in enumerate(examples, start=1):
            metrics.update(score, label, weight)
            reference.update(score, label, weight)
            if step % every == 0:
                assert_same_as_reference(metrics, reference)
        assert_same_as_reference(metrics, reference)

    @given(streams, st.integers(1, 40), st.data())
    def test_a_restored_copy_continues_like_the_reference(
        self, examples: list[Example], window: int, data: st.DataObject
    ) -> None:
        """Pickled mid-stream, restored and fed the rest: still the reference's results."""
        cut = data.draw(st.integers(0, len(examples)))
        metrics = PrequentialMetrics(window, 1e-4)
        reference = ReferencePrequentialMetrics(window, 1e-4)
        for score, label, weight in examples[:cut]:
            metrics.update(score, label, weight)
            reference.update(score, label, weight)
        metrics = pickle.loads(pickle.dumps(metrics))
        for score, label, weight in examples[cut:]:
            metrics.update(score, label, weight)
            reference.update(score, label, weight)
        assert_same_as_reference(metrics, reference)

    @pytest.mark.parametrize(("window", "resolution"), [(None, 1e-4), (3_000, 1e-4), (2_000, 1e-6)])
    def test_long_streams_of_rare_positives_equal_the_reference(
        self, window: int | None, resolution: float
    ) -> None:
        """Thousands of bins, so deciles are placed many bins at a time, as in the learner."""
        y, s, w = rare_positive_sample(12_000, 0.04, seed=7, decimals=6)
        metrics = PrequentialMetrics(window, resolution)
        reference = ReferencePrequentialMetrics(window, resolution)
        for score, label, weight in zip(s.tolist(), y.tolist(), w.tolist(), strict=True):
            metrics.update(score, bool(label), weight)
            reference.update(score, bool(label), weight)
        assert metrics.distinct_scores > 1_000
        assert_same_as_reference(metrics, reference)
