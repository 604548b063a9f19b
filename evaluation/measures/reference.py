"""The batch reference at a decision date: what a warehouse model makes of the customer table.

A retention analyst with the operator's customer table and 90 days of behaviour would fit
a gradient boosting on both and rank everyone on the decision date. That is the bar the
streaming product must reach on its per-customer list (``evaluation.measures.decision``). The
table here: the customer's attributes from the simulator's truth file (those present:
older truth files lack the contract columns) and the behaviour aggregates of
``evaluation.measures.behaviour``. Columns that carry the simulated fate (``churns``, ``signals``,
``strength``, ``decoy_*``, ``no_warning``, ``attribute_hazard``, ...) are never read.

scikit-learn's ``HistGradientBoostingClassifier`` (the yardstick's fixed parameters, one
OpenMP thread) is fitted in stratified 5-fold cross-validation with a fixed seed, and
each customer is scored by the fold that did not see them (out-of-fold), so every row of
the decision date's list gets a score from a model that never saw its label. The same
table always gives the same scores.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from evaluation.errors import YardstickUnavailableError
from evaluation.measures.behaviour import BEHAVIOUR_NAMES, EventColumns, behaviour_matrix
from evaluation.measures.yardstick import BOOSTING_PARAMETERS

REFERENCE_SCORE = "batch_reference"
FOLDS = 5
SECONDS_PER_DAY = 86_400.0
DAYS_PER_YEAR = 365.25

CATEGORICAL_ATTRIBUTES = ("segment", "payment_type", "plan", "area", "topup_channel")
NUMERIC_ATTRIBUTES = ("commitment_months", "monthly_fee", "bundled_services", "monthly_value")
TENURE = "tenure_days"
_MAX_CATEGORIES = 250
"""The boosting bins a categorical column into at most 255 values; more are read as numbers."""

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CustomerTable:
    """The truth file's rows as text, by column, in file order."""

    customer_ids: list[str]
    columns: dict[str, list[str]]

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, str | None]]) -> CustomerTable:
        """From ``csv.DictReader`` rows; absent cells read as empty text.

        >>> table = CustomerTable.from_rows([{"customer_id": "C1", "plan": "basic", "area": None}])
        >>> table.customer_ids, table.columns["plan"], table.columns["area"]
        (['C1'], ['basic'], [''])
        """
        names = list(rows[0]) if rows else []
        return cls(
            customer_ids=[row["customer_id"] or "" for row in rows],
            columns={name: [row.get(name) or "" for row in rows] for name in names if name != "customer_id"},
        )


@dataclass(frozen=True)
class ReferenceInputs:
    """What the batch reference reads once for every decision date: the customer table, the
    event columns, and the customers' numbers in them; ``read_s`` is how long reading the events took."""

    table: CustomerTable
    columns: EventColumns
    numbers: dict[str, int]
    read_s: float


def _float(text: str) -> float:
    try:
        return float(text) if text else math.nan
    except ValueError:
        return math.nan


def _aware(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def tenure_days(table: CustomerTable, decision_time: datetime, history_start: datetime) -> Floats:
    """Days since activation at ``decision_time``: from ``activated_on`` where the truth has
    it, else from ``tenure_years`` (the tenure at the start of history); NaN without either.

    >>> table = CustomerTable(["A", "B", "C"], {
    ...     "activated_on": ["2026-01-01T00:00:00Z", "", ""], "tenure_years": ["", "1.0", ""]})
    >>> from datetime import timedelta
    >>> start = datetime(2026, 1, 1, tzinfo=UTC)
    >>> tenure_days(table, start + timedelta(days=10), start).tolist()
    [10.0, 375.25, nan]
    """
    since_start = (decision_time - history_start).total_seconds() / SECONDS_PER_DAY
    activated = table.columns.get("activated_on", [""] * len(table.customer_ids))
    years = table.columns.get("tenure_years", [""] * len(table.customer_ids))
    values = np.full(len(table.customer_ids), np.nan)
    for index, (activated_text, years_text) in enumerate(zip(activated, years, strict=True)):
        moment = _aware(activated_text) if activated_text else None
        if moment is not None:
            values[index] = (decision_time - moment).total_seconds() / SECONDS_PER_DAY
        elif years_text:
            values[index] = _float(years_text) * DAYS_PER_YEAR + since_start
    return values


@dataclass(frozen=True)
class AttributeMatrix:
    """The customer table's attribute columns at one decision date, as numbers."""

    names: list[str]
    values: Floats
    """One row per customer (table order); NaN where unknown."""
    categorical: list[bool]
    """Per column: ordinal codes of a categorical attribute (sorted text order)."""


def attribute_matrix(
    table: CustomerTable, decision_time: datetime, history_start: datetime
) -> AttributeMatrix:
    """The attributes the table has, in a fixed order, with tenure at ``decision_time``.

    >>> table = CustomerTable(["A", "B"], {"segment": ["family", "business"], "plan": ["x", ""],
    ...                                    "monthly_fee": ["20", "35.5"], "churns": ["1", "0"]})
    >>> m = attribute_matrix(table, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    >>> m.names, m.categorical, m.values.tolist()
    (['segment', 'plan', 'monthly_fee'], [True, True, False], [[1.0, 0.0, 20.0], [0.0, nan, 35.5]])
    """
    names: list[str] = []
    columns: list[Floats] = []
    categorical: list[bool] = []
    for name in CATEGORICAL_ATTRIBUTES:
        texts = table.columns.get(name)
        if texts is None:
            continue
        levels = sorted({text for text in texts if text})
        names.append(name)
        if len(levels) > _MAX_CATEGORIES:
            columns.append(np.array([_float(text) for text in texts]))
            categorical.append(False)
            continue
        code = {level: float(index) for index, level in enumerate(levels)}
        columns.append(np.array([code.get(text, math.nan) for text in texts]))
        categorical.append(True)
    if "activated_on" in table.columns or "tenure_years" in table.columns:
        names.append(TENURE)
        columns.append(tenure_days(table, decision_time, history_start))
        categorical.append(False)
    for name in NUMERIC_ATTRIBUTES:
        texts = table.columns.get(name)
        if texts is not None:
            names.append(name)
            columns.append(np.array([_float(text) for text in texts]))
            categorical.append(False)
    rows = len(table.customer_ids)
    values = np.column_stack(columns) if columns else np.zeros((rows, 0))
    return AttributeMatrix(names, values, categorical)


def fold_count(labels: npt.NDArray[np.bool_], folds: int = FOLDS) -> int:
    """Folds for stratified cross-validation: ``folds``, fewer when the smaller class has
    fewer members (each fold needs one of each).

    >>> fold_count(np.array([True, False, False, True, False, False])), fold_count(np.array([True] * 9))
    (2, 0)
    """
    return min(folds, int(labels.sum()), int((~labels).sum()))


def out_of_fold_scores(
    features: Floats, labels: npt.NDArray[np.bool_], categorical: Sequence[bool], folds: int = FOLDS
) -> Floats:
    """Each row's churn probability from the gradient boosting fitted on the other folds
    (stratified, shuffled with a fixed seed). Raises ``YardstickUnavailableError`` when a
    class has fewer members than two folds need.

    One OpenMP thread, as the yardstick: on shared cores scikit-learn's threads spin-wait
    for each other.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    splits = fold_count(labels, folds)
    if splits < 2:
        raise YardstickUnavailableError(f"{splits} customer(s) in the smaller class: no cross-validation")
    scores = np.zeros(labels.shape[0])
    target = labels.astype(np.int8)
    mask = np.asarray(categorical, dtype=bool) if any(categorical) else None
    splitter = StratifiedKFold(n_splits=splits, shuffle=True, random_state=0)
    with threadpool_limits(limits=1, user_api="openmp"):
        for fitted, scored in splitter.split(features, target):
            model = HistGradientBoostingClassifier(**BOOSTING_PARAMETERS, categorical_features=mask)
            model.fit(features[fitted], target[fitted])
            scores[scored] = model.predict_proba(features[scored])[:, 1]
    return scores


@dataclass(frozen=True)
class ReferenceFit:
    """The batch reference's out-of-fold scores for the decision date's rows, and its table."""

    decision_time: datetime
    scores: list[float]
    """One per requested customer, in request order."""
    inputs: list[str]
    folds: int
    fit_seconds: float


def reference_scores(
    table: CustomerTable,
    events: EventColumns,
    customer_number: Mapping[str, int],
    customer_ids: Sequence[str],
    labels: Sequence[bool],
    decision_time: datetime,
    history_start: datetime,
) -> ReferenceFit:
    """Fit the reference on the customers ``customer_ids`` (the decision date's rows, with
    their ``labels``) and return their out-of-fold scores; ``customer_number`` gives each
    customer's row in ``table`` and in ``events``."""
    began = time.perf_counter()
    attributes = attribute_matrix(table, decision_time, history_start)
    behaviour = behaviour_matrix(events, len(table.customer_ids), decision_time)
    rows = np.array([customer_number[customer_id] for customer_id in customer_ids], dtype=np.int64)
    features = np.hstack([attributes.values[rows], behaviour[rows]])
    names = [*attributes.names, *BEHAVIOUR_NAMES]
    categorical = [*attributes.categorical, *(False for _ in BEHAVIOUR_NAMES)]
    # a column unknown for every customer (no top-up at all, say) cannot be binned
    known = ~np.all(np.isnan(features), axis=0)
    kept = [index for index, keep in enumerate(known.tolist()) if keep]
    target = np.asarray(labels, dtype=bool)
    scores = out_of_fold_scores(features[:, kept], target, [categorical[i] for i in kept])
    return ReferenceFit(
        decision_time=decision_time,
        scores=[min(1.0, max(0.0, float(s))) for s in scores],
        inputs=[names[i] for i in kept],
        folds=fold_count(target),
        fit_seconds=time.perf_counter() - began,
    )


class ReferenceSummary(BaseModel):
    """How the batch reference was built at one decision date, and its gap to the product."""

    model_config = ConfigDict(frozen=True)

    decision_time: datetime
    inputs: list[str]
    folds: int
    parameters: dict[str, float | int | bool]
    roc_auc: float | None
    score_used_roc_auc: float | None
    roc_auc_gap: float | None
    """Reference minus the score the product used, on the same customers."""
    fit_seconds: float
    """Building the table and the cross-validated fits (wall clock, varies by machine)."""


def reference_summary(
    fit: ReferenceFit, reference_auc: float | None, used_auc: float | None
) -> ReferenceSummary:
    """The fit's description with both ROC AUCs and their gap.

    >>> fit = ReferenceFit(datetime(2026, 2, 1, tzinfo=UTC), [0.1], ["plan"], 5, 1.5)
    >>> round(reference_summary(fit, 0.8, 0.7).roc_auc_gap, 6)
    0.1
    """
    gap = None if reference_auc is None or used_auc is None else reference_auc - used_auc
    return ReferenceSummary(
        decision_time=fit.decision_time,
        inputs=fit.inputs,
        folds=fit.folds,
        parameters=dict(BOOSTING_PARAMETERS),
        roc_auc=reference_auc,
        score_used_roc_auc=used_auc,
        roc_auc_gap=gap,
        fit_seconds=fit.fit_seconds,
    )
