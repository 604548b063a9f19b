"""Prequential quality of churn scores: exact ranking metrics, one resolved example at a time.

DESIGN "Delayed labels": each resolved example first updates the metrics with the score
made at snapshot time, then the model learns from it. At a ~4% positive rate River's
``metrics.ROCAUC`` (10 thresholds by default) reads far from the true AUC, so the rank
metrics here are exact up to the score resolution.

Every rank metric comes from one sorted histogram: per distinct quantised score
``round(score / resolution)`` (resolution 1e-6 by default), the number of examples there
and their positive and negative weight. Scores closer than the resolution count as ties.

- ``update`` is O(log k), k = distinct quantised scores held (a sorted-dict insert when
  a score is new, a dict update otherwise; ~3 µs); ``snapshot`` is two passes over the
  k bins (~0.5 s for 180,000 bins), so read it per checkpoint, not per example.
- Memory grows with k, about 180 bytes a bin, and never beyond ``1 / resolution + 1``
  bins (~180 MB at 1e-6 in the worst case; 200,000 distinct scores take ~180,000 bins).
  With ``window=N`` only the last N examples count: they are kept in a queue (~150 bytes
  each) and the histogram never holds more than N bins, so ~330 bytes per example.

Weighted definitions, with ``P``, ``N`` the positive and negative weight:

- ROC AUC: ``Σ w_i w_j ([s_i > s_j] + ½[s_i = s_j]) / (P N)`` over positive ``i`` and
  negative ``j`` (scikit-learn's ``roc_auc_score``).
- PR AUC, average precision: ``Σ_k (R_k - R_{k-1}) P_k`` over distinct scores, highest
  first, without interpolation (scikit-learn's ``average_precision_score``).
- Log loss: weighted mean of ``-ln p`` (positives) and ``-ln(1 - p)`` (negatives), with
  ``p`` clipped to ``[1e-15, 1 - 1e-15]``; it uses the exact score, not the quantised one.
- Deciles: the examples ordered by score and cut into ten groups of equal weight. A tie
  that straddles a cut is shared pro rata, as if ties were broken at random. Calibration
  reports each decile's mean score (of quantised scores, within half the resolution)
  and observed positive rate, lowest scores first;
  lift in the top decile is the top group's positive rate over the overall rate.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sortedcontainers import SortedDict

from models.errors import InvalidMetricsArgumentError, InvalidScoreError

DEFAULT_RESOLUTION = 1e-6
DECILES = 10
LOG_LOSS_CLIP = 1e-15


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    """One score decile: its weight, mean score and observed positive rate."""

    weight: float
    mean_score: float
    observed_rate: float


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """The metrics at one moment; ``None`` where a metric has no meaning yet (one class only).

    >>> snap = MetricsSnapshot(2, 2.0, 1.0, 1.0, 1.0, 0.0, 2.0, ())
    >>> MetricsSnapshot.from_dict(snap.to_dict()) == snap, snap.base_rate
    (True, 0.5)
    """

    examples: int
    weight: float
    positive_weight: float
    roc_auc: float | None
    pr_auc: float | None
    log_loss: float | None
    lift_top_decile: float | None
    calibration: tuple[CalibrationBin, ...]

    @property
    def base_rate(self) -> float | None:
        """Positive weight over all weight; None before any example."""
        return self.positive_weight / self.weight if self.weight > 0 else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (undefined metrics are ``None``, i.e. JSON null)."""
        return {
            "examples": self.examples,
            "weight": self.weight,
            "positive_weight": self.positive_weight,
            "roc_auc": self.roc_auc,
            "pr_auc": self.pr_auc,
            "log_loss": self.log_loss,
            "lift_top_decile": self.lift_top_decile,
            "calibration": [
                {"weight": b.weight, "mean_score": b.mean_score, "observed_rate": b.observed_rate}
                for b in self.calibration
            ],
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> MetricsSnapshot:
        """The inverse of ``to_dict`` (for example after a JSON round trip)."""

        def optional(name: str) -> float | None:
            value = values[name]
            return None if value is None else float(value)

        return cls(
            examples=int(values["examples"]),
            weight=float(values["weight"]),
            positive_weight=float(values["positive_weight"]),
            roc_auc=optional("roc_auc"),
            pr_auc=optional("pr_auc"),
            log_loss=optional("log_loss"),
            lift_top_decile=optional("lift_top_decile"),
            calibration=tuple(
                CalibrationBin(float(b["weight"]), float(b["mean_score"]), float(b["observed_rate"]))
                for b in values["calibration"]
            ),
        )


@dataclass(slots=True)
class _Bin:
    """The examples at one quantised score."""

    positive_count: int = 0
    negative_count: int = 0
    positive: float = 0.0
    negative: float = 0.0


@dataclass(slots=True)
class _Decile:
    weight: float = 0.0
    score_weight: float = 0.0
    positive: float = 0.0


class _CompensatedSum:
    """A running sum that stays accurate over millions of additions and removals (Neumaier).

    >>> total = _CompensatedSum()
    >>> for value in (1e16, 1.0, -1e16):
    ...     total.add(value)
    >>> total.value
    1.0
    """

    __slots__ = ("_compensation", "_sum")

    def __init__(self) -> None:
        self._sum = 0.0
        self._compensation = 0.0

    def add(self, value: float) -> None:
        total = self._sum + value
        if abs(self._sum) >= abs(value):
            self._compensation += (self._sum - total) + value
        else:
            self._compensation += (value - total) + self._sum
        self._sum = total

    @property
    def value(self) -> float:
        return self._sum + self._compensation

    def __getstate__(self) -> tuple[float, float]:
        return (self._sum, self._compensation)

    def __setstate__(self, state: tuple[float, float]) -> None:
        self._sum, self._compensation = state


def example_loss(score: float, label: bool) -> float:
    """Log loss of one example, the score clipped away from 0 and 1.

    >>> round(example_loss(0.5, True), 6), round(example_loss(0.9, False), 6), example_loss(0.0, True)
    (0.693147, 2.302585, 34.538776394910684)
    """
    clipped = min(max(score, LOG_LOSS_CLIP), 1.0 - LOG_LOSS_CLIP)
    return -math.log(clipped) if label else -math.log1p(-clipped)


class PrequentialMetrics:
    """ROC AUC, PR AUC, log loss, top-decile lift and calibration of a stream of scored labels.

    ``window=None`` counts every example since creation; ``window=N`` only the last N,
    which is what a challenger and a champion are compared on. Pickle it to checkpoint it.

    >>> metrics = PrequentialMetrics()
    >>> for score, label in [(0.9, True), (0.2, False), (0.4, True), (0.4, False)]:
    ...     metrics.update(score, label)
    >>> snap = metrics.snapshot()
    >>> snap.roc_auc, snap.pr_auc, snap.examples
    (0.875, 0.8333333333333333, 4)
    """

    def __init__(self, window: int | None = None, resolution: float = DEFAULT_RESOLUTION) -> None:
        if window is not None and window < 1:
            raise InvalidMetricsArgumentError("window", window, "must be at least 1 example, or None")
        if not (math.isfinite(resolution) and 0.0 < resolution <= 0.1):
            raise InvalidMetricsArgumentError("resolution", resolution, "must be within (0, 0.1]")
        self.window = window
        self.resolution = resolution
        self._bins: Any = SortedDict()  # int key -> _Bin; sortedcontainers is untyped
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
        bins: list[tuple[int, _Bin]] = list(self._bins.items())
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
        if "_bins" in state:  # pickled before the flat form: the attributes themselves
            self.__dict__.update(state)
            return
        self.window = state["window"]
        self.resolution = state["resolution"]
        self._examples = state["examples"]
        self._weighted_loss = state["weighted_loss"]
        counts, weights = state["bin_counts"], state["bin_weights"]
        self._bins = SortedDict(
            (key, _Bin(counts[2 * i], counts[2 * i + 1], weights[2 * i], weights[2 * i + 1]))
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

        >>> metrics = PrequentialMetrics(window=2)
        >>> for score, label in [(0.9, True), (0.2, False), (0.4, False)]:
        ...     metrics.update(score, label)
        >>> metrics.label_counts()
        (2, 0)
        """
        negatives = sum(bin_.negative_count for bin_ in self._bins.values())
        positives = sum(bin_.positive_count for bin_ in self._bins.values())
        return negatives, positives

    def _add(self, key: int, label: bool, weight: float, loss: float, count: int) -> None:
        bin_ = self._bins.get(key)
        if bin_ is None:
            bin_ = self._bins[key] = _Bin()
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

        >>> metrics = PrequentialMetrics()
        >>> for score in (0.1, 0.2, 0.3, 0.4):
        ...     metrics.update(score, False)
        >>> metrics.score_quantiles([0.0, 0.5, 1.0])
        [0.1, 0.2, 0.4]
        """
        bins: list[tuple[int, _Bin]] = list(self._bins.items())
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
        bins: list[tuple[int, _Bin]] = list(self._bins.items())
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
            roc_auc=_roc_auc(bins, positive, negative),
            pr_auc=_average_precision(bins, positive),
            log_loss=self._weighted_loss.value / weight if weight > 0 else None,
            lift_top_decile=(top.observed_rate / base_rate if top is not None and base_rate > 0 else None),
            calibration=deciles,
        )

    def _deciles(self, bins: list[tuple[int, _Bin]], weight: float) -> tuple[CalibrationBin, ...]:
        if weight <= 0:
            return ()
        capacity = weight / DECILES
        groups = [_Decile() for _ in range(DECILES)]
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


def _roc_auc(bins: list[tuple[int, _Bin]], positive: float, negative: float) -> float | None:
    """Weighted Mann-Whitney statistic, ties counted half, lowest scores first."""
    if positive <= 0 or negative <= 0:
        return None
    negatives_below = 0.0
    wins = 0.0
    for _, bin_ in bins:
        wins += bin_.positive * (negatives_below + 0.5 * bin_.negative)
        negatives_below += bin_.negative
    return min(1.0, max(0.0, wins / (positive * negative)))


def _average_precision(bins: list[tuple[int, _Bin]], positive: float) -> float | None:
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
