"""Prequential quality of churn scores: exact ranking metrics, one resolved example at a time.

DESIGN "Delayed labels": each resolved example first updates the metrics with the score
made at snapshot time, then the model learns from it. At a ~4% positive rate River's
``metrics.ROCAUC`` (10 thresholds by default) reads far from the true AUC, so the rank
metrics here are exact up to the score resolution.

Every rank metric comes from one histogram: per distinct quantised score
``round(score / resolution)`` (resolution 1e-6 by default), the number of examples there
and their positive and negative weight. Scores closer than the resolution count as ties.
The bins live in flat arrays, a slot per score held (a dict finds a score's slot; a bin
that empties frees it), and a window's examples in a ring of preallocated arrays, so a
pickle copies buffers and a snapshot reads the bins with numpy. Figures of 2026-12-02
(``python -m bench.metrics_cost`` and 200,000 random scores), k = distinct scores held:

- ``update`` is O(1): a dict look-up and a few array writes (~0.8 µs, ~1.4 µs with a
  window). ``snapshot`` sorts the slots by score when a bin came or went since the last
  one (O(k log k), in numpy), then takes a few numpy passes and one Python pass for the
  deciles: ~3 ms for 9,000 bins, ~60 ms for 180,000; read it per checkpoint, not per
  example. Its sums run in order (``np.cumsum``, not the pairwise ``np.sum``), so each
  metric is the very float a loop over the bins gives. Pickling copies ~40 bytes a bin
  and 25 a window example: ~0.1 ms for 10,000 bins.
- Memory grows with k, ~130-160 bytes a bin, and never beyond ``1 / resolution + 1``
  bins (~160 MB at 1e-6 in the worst case; 200,000 distinct scores take ~180,000 bins,
  29 MB). With ``window=N`` only the last N examples count: the ring takes 25 bytes an
  example from the start and the histogram never holds more than N bins; a window of
  10,000 takes ~1.5 MB at 1e-4, ~1.8 MB at 1e-6.

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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from models.errors import InvalidMetricsArgumentError, InvalidScoreError
from models.metrics_snapshot import CalibrationBin, MetricsSnapshot

DEFAULT_RESOLUTION = 1e-6
DECILES = 10
LOG_LOSS_CLIP = 1e-15


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


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
FREE_SLOT = -1  # the key of a slot no bin holds


@dataclass(frozen=True, slots=True)
class _SortedBins:
    """The bins held, lowest score first, as numpy arrays (copies, not views of the slots)."""

    keys: IntArray
    positive: FloatArray
    negative: FloatArray


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
        self._examples = 0
        self._weighted_loss = _CompensatedSum()
        # one slot per quantised score held, in arrival order; a bin that empties frees its slot
        self._slot_of: dict[int, int] = {}
        self._keys = array("q")
        self._positive_counts = array("q")
        self._negative_counts = array("q")
        self._positive = array("d")
        self._negative = array("d")
        self._free_slots: list[int] = []
        self._order: IntArray | None = None  # the held slots by key, until a bin comes or goes
        # the window's examples, a ring: the oldest at ``_recent_head`` once full
        size = window or 0
        self._recent_keys = array("q", bytes(8 * size))
        self._recent_labels = bytearray(size)
        self._recent_weights = array("d", bytes(8 * size))
        self._recent_losses = array("d", bytes(8 * size))
        self._recent_head = 0
        self._recent_count = 0

    @property
    def examples(self) -> int:
        """Examples counted now (at most ``window``)."""
        return self._examples

    @property
    def distinct_scores(self) -> int:
        """Quantised scores held: what memory grows with."""
        return len(self._slot_of)

    def update(self, score: float, label: bool, weight: float = 1.0) -> None:
        """Count one resolved example with the score it was given before its label was known."""
        if not (math.isfinite(score) and 0.0 <= score <= 1.0):
            raise InvalidScoreError(score)
        if not (math.isfinite(weight) and weight > 0.0):
            raise InvalidMetricsArgumentError("weight", weight, "must be a finite positive number")
        key = round(score / self.resolution)
        loss = weight * example_loss(score, label)
        self._add(key, label, weight, loss, 1)
        window = self.window
        if window is None:
            return
        keys, labels = self._recent_keys, self._recent_labels
        weights, losses = self._recent_weights, self._recent_losses
        at = self._recent_count
        if at < window:  # filling up: nothing leaves
            self._recent_count = at + 1
        else:  # the oldest example leaves for this one
            at = self._recent_head
            self._recent_head = at + 1 if at + 1 < window else 0
            self._add(keys[at], labels[at] == 1, -weights[at], -losses[at], -1)
        keys[at] = key
        labels[at] = label
        weights[at] = weight
        losses[at] = loss

    def _add(self, key: int, label: bool, weight: float, loss: float, count: int) -> None:
        slot = self._slot_of.get(key)
        if slot is None:
            slot = self._hold(key)
        if label:
            counts, weights, other_counts = self._positive_counts, self._positive, self._negative_counts
        else:
            counts, weights, other_counts = self._negative_counts, self._negative, self._positive_counts
        left = counts[slot] + count
        counts[slot] = left
        # a class whose last example leaves is set to exactly zero, dropping rounding residue
        weights[slot] = weights[slot] + weight if left else 0.0
        if left == 0 and other_counts[slot] == 0:
            del self._slot_of[key]
            self._keys[slot] = FREE_SLOT
            self._free_slots.append(slot)
            self._order = None
        self._examples += count
        self._weighted_loss.add(loss)

    def _hold(self, key: int) -> int:
        """A slot for a new bin (a freed one if any), empty: both its weights are zero."""
        if self._free_slots:
            slot = self._free_slots.pop()
            self._keys[slot] = key
        else:
            slot = len(self._keys)
            self._keys.append(key)
            self._positive_counts.append(0)
            self._negative_counts.append(0)
            self._positive.append(0.0)
            self._negative.append(0.0)
        self._slot_of[key] = slot
        self._order = None
        return slot

    def _sorted_bins(self) -> _SortedBins:
        keys: IntArray = np.frombuffer(self._keys, dtype=np.int64)
        if self._order is None:
            held = np.flatnonzero(keys != FREE_SLOT)
            self._order = held[np.argsort(keys[held])]
        order = self._order
        return _SortedBins(
            keys=keys[order],
            positive=np.frombuffer(self._positive, dtype=np.float64)[order],
            negative=np.frombuffer(self._negative, dtype=np.float64)[order],
        )

    def __getstate__(self) -> dict[str, Any]:
        """Slots and the window ring as they are, flat arrays: pickling copies their buffers
        (the learner pickles every metric once per event-time day)."""
        return {
            "window": self.window,
            "resolution": self.resolution,
            "examples": self._examples,
            "weighted_loss": self._weighted_loss,
            "slot_keys": self._keys,
            "slot_positive_counts": self._positive_counts,
            "slot_negative_counts": self._negative_counts,
            "slot_positive": self._positive,
            "slot_negative": self._negative,
            "recent_keys": self._recent_keys,
            "recent_labels": self._recent_labels,
            "recent_weights": self._recent_weights,
            "recent_losses": self._recent_losses,
            "recent_head": self._recent_head,
            "recent_count": self._recent_count,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.window = state["window"]
        self.resolution = state["resolution"]
        self._examples = state["examples"]
        self._weighted_loss = state["weighted_loss"]
        self._keys = state["slot_keys"]
        self._positive_counts = state["slot_positive_counts"]
        self._negative_counts = state["slot_negative_counts"]
        self._positive = state["slot_positive"]
        self._negative = state["slot_negative"]
        self._slot_of = {key: slot for slot, key in enumerate(self._keys) if key != FREE_SLOT}
        self._free_slots = [slot for slot, key in enumerate(self._keys) if key == FREE_SLOT]
        self._order = None
        self._recent_keys = state["recent_keys"]
        self._recent_labels = bytearray(state["recent_labels"])
        self._recent_weights = state["recent_weights"]
        self._recent_losses = state["recent_losses"]
        self._recent_head = state["recent_head"]
        self._recent_count = state["recent_count"]

    def label_counts(self) -> tuple[int, int]:
        """Examples counted now per class, negatives then positives (whatever their weights):
        a rule comparing two AUCs needs enough of each.

        >>> metrics = PrequentialMetrics(window=2)
        >>> for score, label in [(0.9, True), (0.2, False), (0.4, False)]:
        ...     metrics.update(score, label)
        >>> metrics.label_counts()
        (2, 0)
        """
        negatives = int(np.frombuffer(self._negative_counts, dtype=np.int64).sum())
        positives = int(np.frombuffer(self._positive_counts, dtype=np.int64).sum())
        return negatives, positives

    def score_quantiles(self, shares: Sequence[float]) -> list[float] | None:
        """The scores below which these shares of the weight lie (quantised scores, lowest
        first); None before any example.

        >>> metrics = PrequentialMetrics()
        >>> for score in (0.1, 0.2, 0.3, 0.4):
        ...     metrics.update(score, False)
        >>> metrics.score_quantiles([0.0, 0.5, 1.0])
        [0.1, 0.2, 0.4]
        """
        bins = self._sorted_bins()
        weights = bins.positive + bins.negative
        total = math.fsum(weights.tolist())
        if total <= 0:
            return None
        # the first bin whose running weight reaches each share (the last bin at most)
        reached = np.maximum.accumulate(np.cumsum(weights))
        targets = np.array(sorted(shares), dtype=np.float64) * total * (1 - 1e-12)
        at = np.minimum(np.searchsorted(reached, targets, side="left"), len(weights) - 1)
        return [round(key * self.resolution, 12) for key in bins.keys[at].tolist()]

    def snapshot(self) -> MetricsSnapshot:
        """All metrics now; a few numpy passes over the bins."""
        bins = self._sorted_bins()
        positive = math.fsum(bins.positive.tolist())
        negative = math.fsum(bins.negative.tolist())
        weight = positive + negative
        deciles = _deciles(bins, weight, self.resolution)
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


# Sums below run in order (``np.cumsum``, never the pairwise ``np.sum``), so each metric is
# the same float as a loop over the bins, lowest score first, would give.


def _running_sum(start: float, values: FloatArray) -> float:
    """``start + values[0] + values[1] + ...``, added in this order."""
    if len(values) == 0:
        return start
    return float(np.cumsum(np.concatenate(([start], values)))[-1])


def _roc_auc(bins: _SortedBins, positive: float, negative: float) -> float | None:
    """Weighted Mann-Whitney statistic, ties counted half, lowest scores first."""
    if positive <= 0 or negative <= 0:
        return None
    negatives_below = np.concatenate(([0.0], np.cumsum(bins.negative)[:-1]))
    wins = _running_sum(0.0, bins.positive * (negatives_below + 0.5 * bins.negative))
    return min(1.0, max(0.0, wins / (positive * negative)))


def _average_precision(bins: _SortedBins, positive: float) -> float | None:
    """Precision at each distinct score, weighted by the recall it adds, highest scores first."""
    if positive <= 0:
        return None
    positives = bins.positive[::-1]
    true_positive = np.cumsum(positives)
    false_positive = np.cumsum(bins.negative[::-1])
    adds = positives > 0
    gained = positives[adds] * true_positive[adds] / (true_positive[adds] + false_positive[adds])
    return min(1.0, _running_sum(0.0, gained) / positive)


def _deciles(bins: _SortedBins, weight: float, resolution: float) -> tuple[CalibrationBin, ...]:
    """Ten groups of equal weight, lowest scores first, a bin straddling a cut shared pro rata.

    One pass over the bins (a checkpoint reads a few thousand), filling one group at a time.
    """
    if weight <= 0:
        return ()
    capacity = weight / DECILES
    full = capacity * (1 - 1e-12)
    groups: list[CalibrationBin] = []
    group_weight = group_score = group_positive = 0.0
    for key, positive, negative in zip(
        bins.keys.tolist(), bins.positive.tolist(), bins.negative.tolist(), strict=True
    ):
        remaining = positive + negative
        if remaining <= 0:
            continue
        positive_share = positive / remaining
        score = key * resolution
        while remaining > 0:
            last = len(groups) == DECILES - 1
            room = capacity - group_weight
            taken = remaining if last or remaining < room else room
            group_weight += taken
            group_score += taken * score
            group_positive += taken * positive_share
            remaining -= taken
            if not last and group_weight >= full:
                groups.append(_calibration_bin(group_weight, group_score, group_positive))
                group_weight = group_score = group_positive = 0.0
    if group_weight > 0:
        groups.append(_calibration_bin(group_weight, group_score, group_positive))
    return tuple(groups)


def _calibration_bin(weight: float, score_weight: float, positive: float) -> CalibrationBin:
    return CalibrationBin(weight, score_weight / weight, positive / weight)
