"""The offline yardstick: what a batch learner makes of the same examples the online model learns.

Input: the resolved training examples of ``churn.training`` (their stored inputs, label,
and the scores made at snapshot time: the one used, the online model's prequential one
and the rules'). They are split by the snapshot's event-time day at the midpoint of the
days covered; scikit-learn's ``HistGradientBoostingClassifier`` is fitted on the earlier
half and scores the later half, with the inputs the online model reads
(``models.online.inputs_from_stored``: the stored inputs without the clock ones, plus
the rate ratios) in the same order. On the later half, on the same examples, the
gradient boosting and the three snapshot-time scores are ranked with the evaluation's
own metrics (``evaluation.measures.ranking.ranking_metrics``: exact ROC AUC and PR AUC, lift
with ties pro rata). The ROC AUC gap, boosting minus the online model, is the price of
learning online.

The boosting sees every earlier-half label at once, including labels that resolved after
some later-half snapshots were scored, which the online model could not; the gap is an
upper estimate of that price. Fixed hyper-parameters, no early stopping and a fixed seed:
the same examples always give the same numbers.

scikit-learn comes with the ``evaluation`` extra (and ``report``); it is imported only
when a yardstick is fitted.
"""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.util import find_spec

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from evaluation.errors import YardstickUnavailableError
from evaluation.measures.ranking import LabelledSnapshot, RankingMetrics, ranking_metrics
from evaluation.measures.truth import UNKNOWN_SEGMENT, TruthRow
from models.labels import INPUT_NAMES
from models.online import inputs_from_stored
from schemas.event_days import day_date, day_number
from schemas.outputs import ResolvedDay, TrainingExample

GRADIENT_BOOSTING = "gradient_boosting"
ONLINE_MODEL = "online_model"
RULES = "rules"
SCORE_USED = "score_used"
SCORES = (GRADIENT_BOOSTING, ONLINE_MODEL, RULES, SCORE_USED)
"""The scores compared on the later half, in table order."""

AUC_GAP_TARGET = 0.03
"""The online model should be within this much ROC AUC of the gradient boosting."""

BOOSTING_PARAMETERS: Mapping[str, float | int | bool] = {
    "learning_rate": 0.05,
    "max_iter": 300,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 50,
    "l2_regularization": 1.0,
    "early_stopping": False,
    "random_state": 0,
}
"""Modest and fixed: the yardstick is a reference, not a tuned competitor."""

EVALUATION_EXTRA = "evaluation"
MISSING_SCIKIT_LEARN = f"scikit-learn is missing; pip install 'churnwatch[{EVALUATION_EXTRA}]'"


def yardstick_available() -> bool:
    """Whether scikit-learn (the ``evaluation`` extra) is installed."""
    return find_spec("sklearn") is not None


@dataclass(frozen=True, slots=True)
class ExampleRow:
    """A ``TrainingExample`` reduced to what the yardstick needs (a long topic fits in memory)."""

    example_id: str
    customer_id: str
    event_time: datetime
    """The snapshot's event time (the last microsecond of its day)."""
    churned: bool
    stored: array[float]
    """The stored inputs in ``INPUT_NAMES`` order, zeros put back (packed doubles: a topic of a
    million examples is held at once)."""
    score: float
    model_score: float
    rules_score: float

    @property
    def day(self) -> int:
        """The snapshot's event-time day (days since the epoch)."""
        return day_number(self.event_time.astimezone(UTC).date())

    @classmethod
    def from_example(cls, example: TrainingExample) -> ExampleRow:
        return cls(
            example_id=example.example_id,
            customer_id=example.customer_id,
            event_time=example.snapshot_time,
            churned=example.churned,
            stored=array("d", (example.features.get(name, 0.0) for name in INPUT_NAMES)),
            score=example.score,
            model_score=example.model_score,
            rules_score=example.rules_score,
        )

    @classmethod
    def from_record(cls, record: TrainingExample | ResolvedDay) -> ExampleRow | None:
        """The example of a ``churn.training`` record; None for a group's end-of-day mark."""
        return cls.from_example(record) if isinstance(record, TrainingExample) else None


def model_input_names() -> tuple[str, ...]:
    """The online model's input names in the order ``inputs_from_stored`` gives them.

    >>> names = model_input_names()
    >>> "history_days" in names, "calls_out_rate_7d_per_30d" in names
    (False, True)
    """
    return tuple(inputs_from_stored(dict.fromkeys(INPUT_NAMES, 0.0)))


def input_matrix(rows: Sequence[ExampleRow], names: Sequence[str]) -> npt.NDArray[np.float64]:
    """One row of model inputs per example, columns in ``names`` order."""
    matrix = np.zeros((len(rows), len(names)), dtype=np.float64)
    for index, row in enumerate(rows):
        inputs = inputs_from_stored(dict(zip(INPUT_NAMES, row.stored, strict=True)))
        matrix[index] = [inputs[name] for name in names]
    return matrix


def unique_examples(rows: Iterable[ExampleRow]) -> tuple[list[ExampleRow], int]:
    """The first of each example id, in example-id order, and how many repeats were dropped:
    a redone resolution publishes the same example again."""
    kept: dict[str, ExampleRow] = {}
    repeats = 0
    for row in rows:
        if row.example_id in kept:
            repeats += 1
        else:
            kept[row.example_id] = row
    return [kept[key] for key in sorted(kept)], repeats


def split_day(days: Iterable[int]) -> int:
    """The first day of the later half: the midpoint of the days covered, first to last.

    >>> split_day([10, 19]), split_day([10, 20]), split_day([10])
    (15, 15, 10)
    """
    ordered = sorted(days)
    first, last = ordered[0], ordered[-1]
    return first + (last - first + 1) // 2


class YardstickGroup(BaseModel):
    """Every score's ranking on one group of later-half examples, and the ROC AUC gap."""

    model_config = ConfigDict(frozen=True)

    group: str
    examples: int
    positives: int
    by_score: dict[str, RankingMetrics]
    """Keyed by ``SCORES``."""
    roc_auc_gap: float | None
    """Gradient boosting minus the online model; None where either is undefined."""
    within_target: bool | None


class YardstickReport(BaseModel):
    """The offline yardstick against the online model on the later half of the examples."""

    model_config = ConfigDict(frozen=True)

    records_read: int
    resolved_day_marks: int
    repeats_dropped: int
    first_day: date
    last_day: date
    split_day: date
    """First snapshot day of the later half (scored); earlier days are fitted on."""
    earlier_examples: int
    earlier_positives: int
    later_examples: int
    later_positives: int
    inputs: list[str]
    parameters: dict[str, float | int | bool]
    auc_gap_target: float
    overall: YardstickGroup
    by_segment: list[YardstickGroup]
    """Empty without a truth that names segments."""


@dataclass(frozen=True)
class Yardstick:
    """The report and, per score, the later half's labelled examples (for plots)."""

    report: YardstickReport
    later: dict[str, list[LabelledSnapshot]]


def yardstick_group(group: str, later: Mapping[str, Sequence[LabelledSnapshot]]) -> YardstickGroup:
    """Rank every score's snapshots of one group (the same examples under each score)."""
    by_score = {name: ranking_metrics(name, later[name]) for name in SCORES}
    boosting, online = by_score[GRADIENT_BOOSTING].roc_auc, by_score[ONLINE_MODEL].roc_auc
    gap = None if boosting is None or online is None else boosting - online
    first = by_score[GRADIENT_BOOSTING]
    return YardstickGroup(
        group=group,
        examples=first.snapshots,
        positives=first.positives,
        by_score=by_score,
        roc_auc_gap=gap,
        within_target=None if gap is None else gap <= AUC_GAP_TARGET,
    )


def fit_and_score(
    earlier: Sequence[ExampleRow], later: Sequence[ExampleRow], names: Sequence[str]
) -> list[float]:
    """Fit the gradient boosting on ``earlier`` and return its churn probability for each of ``later``.

    One OpenMP thread: on a busy machine (the worker, tests) scikit-learn's threads spin-wait
    for each other; fitting 33,000 examples took 55 s with two threads on two shared cores
    and 7.6 s with one.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    model = HistGradientBoostingClassifier(**BOOSTING_PARAMETERS)
    with threadpool_limits(limits=1, user_api="openmp"):
        model.fit(input_matrix(earlier, names), np.asarray([row.churned for row in earlier], dtype=np.int8))
        probabilities = model.predict_proba(input_matrix(later, names))[:, 1]
    return [min(1.0, max(0.0, float(p))) for p in probabilities]


def _labelled(row: ExampleRow, score: float, source: str, segment: str) -> LabelledSnapshot:
    return LabelledSnapshot(
        customer_id=row.customer_id,
        event_time=row.event_time,
        score=score if math.isfinite(score) else 0.0,
        churned=row.churned,
        score_source=source,
        revenue_90d=None,
        segment=segment,
    )


def build_yardstick(records: Iterable[ExampleRow | None], truth: Iterable[TruthRow] = ()) -> Yardstick:
    """Split, fit, score and compare; ``records`` are ``churn.training`` records in any order
    (None for end-of-day marks). Segments come from ``truth`` (customer id join) when it
    names them. Raises ``YardstickUnavailableError`` when the halves cannot be formed or the
    earlier half has one class only."""
    read = marks = 0
    examples: list[ExampleRow] = []
    for record in records:
        read += 1
        if record is None:
            marks += 1
        else:
            examples.append(record)
    rows, repeats = unique_examples(examples)
    if not rows:
        raise YardstickUnavailableError("no training examples")
    days = [row.day for row in rows]
    first_day, last_day, split = min(days), max(days), split_day(days)
    earlier = [row for row, d in zip(rows, days, strict=True) if d < split]
    later = [row for row, d in zip(rows, days, strict=True) if d >= split]
    if not earlier or not later:
        raise YardstickUnavailableError(
            f"examples cover {last_day - first_day + 1} day(s): no earlier and later half"
        )
    earlier_positives = sum(row.churned for row in earlier)
    if earlier_positives in (0, len(earlier)):
        raise YardstickUnavailableError("the earlier half has examples of one class only")
    names = model_input_names()
    boosting = fit_and_score(earlier, later, names)
    segments = {row.customer_id: row.segment for row in truth}
    named = any(segment != UNKNOWN_SEGMENT for segment in segments.values())
    later_by_score: dict[str, list[LabelledSnapshot]] = {name: [] for name in SCORES}
    for row, boosted in zip(later, boosting, strict=True):
        segment = segments.get(row.customer_id, UNKNOWN_SEGMENT)
        for name, score in (
            (GRADIENT_BOOSTING, boosted),
            (ONLINE_MODEL, row.model_score),
            (RULES, row.rules_score),
            (SCORE_USED, row.score),
        ):
            later_by_score[name].append(_labelled(row, score, name, segment))
    by_segment: dict[str, dict[str, list[LabelledSnapshot]]] = defaultdict(
        lambda: {name: [] for name in SCORES}
    )
    if named:
        for name, snapshots in later_by_score.items():
            for snapshot in snapshots:
                by_segment[snapshot.segment][name].append(snapshot)
    report = YardstickReport(
        records_read=read,
        resolved_day_marks=marks,
        repeats_dropped=repeats,
        first_day=day_date(first_day),
        last_day=day_date(last_day),
        split_day=day_date(split),
        earlier_examples=len(earlier),
        earlier_positives=earlier_positives,
        later_examples=len(later),
        later_positives=sum(row.churned for row in later),
        inputs=list(names),
        parameters=dict(BOOSTING_PARAMETERS),
        auc_gap_target=AUC_GAP_TARGET,
        overall=yardstick_group("all", later_by_score),
        by_segment=[yardstick_group(name, by_segment[name]) for name in sorted(by_segment)],
    )
    return Yardstick(report, later_by_score)
