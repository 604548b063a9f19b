"""Offline yardsticks for the online models: scikit-learn fitted once, judged later.

``bench.model_comparison`` keeps every resolved example's inputs (``model_inputs``), its
label and whether its snapshot lies in the later half of the snapshot days. A batch
model is fitted on every example of the earlier half (no subsampling, no weights: it has
them all at once) and scores the later half; the online candidates' prequential scores
on the same later-half examples are the comparison. ``batch_logreg`` is a standardised
``LogisticRegression`` (L2, C = 1), what a linear model can reach on these inputs;
``batch_gbm`` is ``HistGradientBoostingClassifier`` at its defaults, what a nonlinear
one can.
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from bench.candidates import BATCH_GBM, BATCH_LOGREG
from bench.errors import BenchError
from models.metrics_snapshot import MetricsSnapshot
from models.prequential import PrequentialMetrics


class ExampleRows(Protocol):
    """Resolved examples as rows (``columns``: input name -> index; earlier rows may be shorter)."""

    columns: dict[str, int]
    rows: list[Any]
    labels: list[bool]
    later: list[bool]


@dataclass(frozen=True, slots=True)
class BatchJudged:
    """A batch model's later-half metrics and costs."""

    later: MetricsSnapshot
    fitted: int
    fit_cpu_s: float
    scores: int
    score_cpu_s: float
    checkpoint_bytes: int


def batch_estimator(name: str, seed: int) -> Any:
    """The scikit-learn estimator of ``name`` (untyped library: ``Any`` at its edge).

    >>> type(batch_estimator("batch_gbm", 1)).__name__
    'HistGradientBoostingClassifier'
    """
    # imported here: scikit-learn is an extra (`evaluation`), and the command line that
    # imports this module must start without it
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == BATCH_LOGREG:
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2_000))
    if name == BATCH_GBM:
        return HistGradientBoostingClassifier(random_state=seed)
    raise BenchError(f"{name}: not a batch model")


def fit_and_judge(name: str, examples: ExampleRows, seed: int) -> BatchJudged:
    """Fit on the earlier half, score the later half; raises if either half has one class only."""
    width = len(examples.columns)
    matrix = np.zeros((len(examples.rows), width), dtype=np.float32)
    for index, row in enumerate(examples.rows):
        matrix[index, : len(row)] = row
    labels = np.asarray(examples.labels, dtype=bool)
    later = np.asarray(examples.later, dtype=bool)
    if len(set(labels[~later])) < 2 or len(set(labels[later])) < 2:
        raise BenchError(f"{name}: each half needs churners and stayers")
    estimator = batch_estimator(name, seed)
    began = time.process_time()
    estimator.fit(matrix[~later], labels[~later])
    fit_cpu_s = time.process_time() - began
    began = time.process_time()
    scores = estimator.predict_proba(matrix[later])[:, 1]
    score_cpu_s = time.process_time() - began
    metrics = PrequentialMetrics()
    for score, label in zip(scores.tolist(), labels[later].tolist(), strict=True):
        metrics.update(min(1.0, max(0.0, float(score))), bool(label))
    return BatchJudged(
        later=metrics.snapshot(),
        fitted=int((~later).sum()),
        fit_cpu_s=fit_cpu_s,
        scores=int(later.sum()),
        score_cpu_s=score_cpu_s,
        checkpoint_bytes=len(pickle.dumps(estimator)),
    )
