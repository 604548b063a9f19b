"""Ranking at a decision date: the list a retention team would work from on day ``D``.

The snapshot-level figures of ``evaluation.measures.ranking`` count every daily snapshot, so a
customer scored a hundred times weighs a hundred times. A retention team acts on a date:
it ranks each customer once, by their latest score. Here each customer gets one row,
their last scored snapshot at or before ``D``; the row is positive if they churn in
``(D, D + H]``. Customers who churned at or before ``D`` are left out (a reactivated one
too: the truth names one churn per customer), as are customers never scored by ``D``
and, with the simulator's truth, customers it does not know. ``D + H`` must not pass
the end of history, or the labels would not be known yet.

Each score a snapshot carries is ranked on the same rows: the score the product used,
and, where ``churn.training`` holds the snapshot's example, the online model's and the
rules' score made at snapshot time. Measures: exact ROC AUC (ties count half), lift and
precision in the top 10% (a tie cut by the boundary counts pro rata), base rate.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from pydantic import BaseModel, ConfigDict

from evaluation.errors import EvaluationInputError
from evaluation.measures.ranking import ScoredSnapshot, lift_at
from evaluation.measures.truth import UNKNOWN_SEGMENT, TruthRow, churn_list_row
from evaluation.measures.warnings import quantile

SCORE_USED = "score_used"
MODEL_SCORE = "online_model"
RULES_SCORE = "rules"
DECISION_SCORES = (SCORE_USED, MODEL_SCORE, RULES_SCORE)
"""The snapshot scores ranked at a decision date, in table order."""

TOP_SHARE = 0.10
_DAY = timedelta(days=1)


def parse_decision_date(text: str) -> datetime:
    """A decision moment from RFC 3339 text; a bare date is the start of that day, UTC.

    >>> parse_decision_date("2026-02-15")
    datetime.datetime(2026, 2, 15, 0, 0, tzinfo=datetime.timezone.utc)
    >>> parse_decision_date("2026-02-15T12:00:00+01:00").isoformat()
    '2026-02-15T11:00:00+00:00'
    """
    try:
        if len(text) == len("YYYY-MM-DD"):
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise EvaluationInputError("decision_date", text, "not an RFC 3339 date or time") from error
    if moment.tzinfo is None:
        raise EvaluationInputError("decision_date", text, "a time needs a UTC offset")
    return moment.astimezone(UTC)


def default_decision_date(history_start: datetime, history_end: datetime, horizon_days: float) -> datetime:
    """The midpoint of the later half of history, at the start of its day, moved earlier if
    needed so that the horizon after it ends inside history.

    >>> start = datetime(2025, 11, 3, tzinfo=UTC)
    >>> default_decision_date(start, start + timedelta(days=150), 30.0).date()
    datetime.date(2026, 2, 23)
    >>> default_decision_date(start, start + timedelta(days=100), 30.0).date()
    datetime.date(2026, 1, 12)
    """
    midpoint = history_start + (history_end - history_start) * 3 / 4
    latest = history_end - timedelta(days=horizon_days)
    chosen = min(midpoint, latest).astimezone(UTC)
    return datetime(chosen.year, chosen.month, chosen.day, tzinfo=UTC)


def decision_dates(
    given: Sequence[str], history_start: datetime, history_end: datetime, horizon_days: float, default: bool
) -> list[datetime]:
    """The decision dates asked for (sorted, repeats dropped), or the default one when none
    is given and ``default``; a date whose horizon ends after history is refused."""
    dates = sorted({parse_decision_date(text) for text in given})
    if not dates and default:
        dates = [default_decision_date(history_start, history_end, horizon_days)]
    for moment in dates:
        if moment + timedelta(days=horizon_days) > history_end:
            raise EvaluationInputError(
                "decision_date",
                moment.isoformat(),
                f"its {horizon_days:g}-day horizon ends after history ({history_end.isoformat()})",
            )
    return dates


@dataclass(frozen=True, slots=True)
class CustomerAtDate:
    """One customer's row on the decision date's list."""

    customer_id: str
    segment: str
    snapshot_time: datetime
    """Their last scored snapshot at or before the decision date."""
    churned: bool
    """Churn in ``(D, D + H]``."""
    scores: Mapping[str, float]
    """``score_used`` always; ``online_model`` and ``rules`` when the training example is known."""


@dataclass(frozen=True, slots=True)
class DecisionRows:
    """The rows of one decision date and the customers left out, by reason."""

    decision_time: datetime
    horizon_days: float
    rows: list[CustomerAtDate]
    churned_before: int
    """Customers scored by ``D`` who had churned at or before ``D``."""
    never_scored: int
    """Customers of the truth, joined and not churned at ``D``, without a snapshot by then."""
    unknown_customer: int


def customers_at(
    snapshots: Iterable[ScoredSnapshot],
    truth: Iterable[TruthRow],
    decision_time: datetime,
    horizon_days: float,
    snapshot_scores: Mapping[tuple[str, datetime], tuple[float, float]] | None = None,
    absent_stayed: bool = False,
) -> DecisionRows:
    """One row per customer: their last snapshot at or before ``decision_time``, labelled by
    churn within ``horizon_days`` after it; rows in customer-id order.

    ``snapshot_scores`` maps (customer id, snapshot time) to the (model, rules) scores made
    at snapshot time (from ``churn.training``).

    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> def snap(customer_id: str, day: int, score: float) -> ScoredSnapshot:
    ...     return ScoredSnapshot(customer_id, t0 + timedelta(days=day), score, "blend", None)
    >>> rows = [churn_list_row("A", t0 + timedelta(days=25)), churn_list_row("B", t0 + timedelta(days=5)),
    ...         churn_list_row("C", None), churn_list_row("D", None)]
    >>> snaps = [snap("A", 3, 0.2), snap("A", 9, 0.7), snap("A", 11, 0.9),
    ...          snap("B", 2, 0.8), snap("C", 8, 0.1)]
    >>> got = customers_at(snaps, rows, t0 + timedelta(days=10), 30.0)
    >>> [(r.customer_id, r.scores["score_used"], r.churned) for r in got.rows]
    [('A', 0.7, True), ('C', 0.1, False)]
    >>> got.churned_before, got.never_scored
    (1, 1)
    """
    known = {row.customer_id: row for row in truth}
    latest: dict[str, ScoredSnapshot] = {}
    for snapshot in snapshots:
        if snapshot.event_time > decision_time:
            continue
        held = latest.get(snapshot.customer_id)
        if held is None or snapshot.event_time > held.event_time:
            latest[snapshot.customer_id] = snapshot
    horizon_end = decision_time + timedelta(days=horizon_days)
    extra = snapshot_scores or {}
    rows: list[CustomerAtDate] = []
    churned_before = unknown = 0
    for customer_id in sorted(latest):
        snapshot = latest[customer_id]
        row = known.get(customer_id)
        if row is None:
            if not absent_stayed:
                unknown += 1
                continue
            row = churn_list_row(customer_id, None)
        churn = row.churn_time
        if churn is not None and churn <= decision_time:
            churned_before += 1
            continue
        scores = {SCORE_USED: snapshot.score}
        made = extra.get((customer_id, snapshot.event_time))
        if made is not None:
            scores[MODEL_SCORE], scores[RULES_SCORE] = made
        rows.append(
            CustomerAtDate(
                customer_id=customer_id,
                segment=row.segment,
                snapshot_time=snapshot.event_time,
                churned=churn is not None and churn <= horizon_end,
                scores=scores,
            )
        )
    never_scored = sum(
        1
        for customer_id, row in known.items()
        if customer_id not in latest
        and (row.churn_time is None or row.churn_time > decision_time)
        and (row.activated_time is None or row.activated_time <= decision_time)
    )
    return DecisionRows(decision_time, horizon_days, rows, churned_before, never_scored, unknown)


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Exact ROC AUC (Mann-Whitney, tied scores count half); None without both classes.

    >>> roc_auc([0.9, 0.4, 0.4, 0.2], [True, True, False, False])
    0.875
    >>> roc_auc([0.3, 0.1], [False, False]) is None
    True
    """
    positives = sum(labels)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    values = np.asarray(scores, dtype=np.float64)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    first_rank = np.cumsum(counts) - counts + 1
    average_rank = first_rank + (counts - 1) / 2
    ranks = average_rank[inverse]
    positive_rank_sum = math.fsum(ranks[np.asarray(labels, dtype=bool)].tolist())
    return (positive_rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


class DecisionMetrics(BaseModel):
    """How one score ranks one group of customers at the decision date."""

    model_config = ConfigDict(frozen=True)

    score: str
    customers: int
    positives: int
    base_rate: float | None
    roc_auc: float | None
    lift_top_10: float | None
    precision_top_10: float | None
    """Share of the top 10% of customers by score who churned within the horizon."""


def decision_metrics(score: str, scores: Sequence[float], labels: Sequence[bool]) -> DecisionMetrics:
    """ROC AUC, lift and precision in the top 10%, and the base rate of these customers.

    >>> m = decision_metrics("x", [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0],
    ...                      [True, False, True] + [False] * 7)
    >>> m.roc_auc, m.base_rate, m.lift_top_10, m.precision_top_10
    (0.9375, 0.2, 5.0, 1.0)
    """
    positives = sum(labels)
    base_rate = positives / len(labels) if labels else None
    lift = lift_at(scores, labels, TOP_SHARE)
    return DecisionMetrics(
        score=score,
        customers=len(labels),
        positives=positives,
        base_rate=base_rate,
        roc_auc=roc_auc(scores, labels),
        lift_top_10=lift,
        precision_top_10=None if lift is None or base_rate is None else lift * base_rate,
    )


class DecisionGroup(BaseModel):
    """Every score's ranking of one group (all customers, or a segment)."""

    model_config = ConfigDict(frozen=True)

    group: str
    customers: int
    positives: int
    by_score: dict[str, DecisionMetrics]
    """Keyed by score name; a score covers the customers whose snapshot carries it."""


def decision_group(
    group: str, rows: Sequence[CustomerAtDate], extra_scores: Mapping[str, Sequence[float]] | None = None
) -> DecisionGroup:
    """Rank ``rows`` under each snapshot score, and under each of ``extra_scores`` (one
    score per row, in row order, e.g. the batch reference's)."""
    by_score: dict[str, DecisionMetrics] = {}
    for name in DECISION_SCORES:
        carrying = [row for row in rows if name in row.scores]
        if carrying:
            by_score[name] = decision_metrics(
                name, [row.scores[name] for row in carrying], [row.churned for row in carrying]
            )
    labels = [row.churned for row in rows]
    for name, scores in (extra_scores or {}).items():
        by_score[name] = decision_metrics(name, scores, labels)
    return DecisionGroup(group=group, customers=len(rows), positives=sum(labels), by_score=by_score)


class DecisionReport(BaseModel):
    """The ranking at one decision date, overall and per segment."""

    model_config = ConfigDict(frozen=True)

    decision_time: datetime
    horizon_days: float
    customers: int
    positives: int
    left_out_churned_before: int
    left_out_never_scored: int
    left_out_unknown_customer: int
    snapshot_age_days_median: float | None
    """How old the customers' last snapshots are at the decision date."""
    snapshot_age_days_p90: float | None
    overall: DecisionGroup
    by_segment: list[DecisionGroup]
    """Empty when the truth names no segments (an operator's churn list)."""


def decision_report(
    selected: DecisionRows, extra_scores: Mapping[str, Sequence[float]] | None = None
) -> DecisionReport:
    """Rank the decision date's rows overall and per segment; ``extra_scores`` give one
    more score per row, in row order."""
    rows = selected.rows
    extra = extra_scores or {}
    members: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        members[row.segment].append(index)
    named = any(segment != UNKNOWN_SEGMENT for segment in members)
    ages = [(selected.decision_time - row.snapshot_time) / _DAY for row in rows]
    return DecisionReport(
        decision_time=selected.decision_time,
        horizon_days=selected.horizon_days,
        customers=len(rows),
        positives=sum(row.churned for row in rows),
        left_out_churned_before=selected.churned_before,
        left_out_never_scored=selected.never_scored,
        left_out_unknown_customer=selected.unknown_customer,
        snapshot_age_days_median=quantile(ages, 0.5),
        snapshot_age_days_p90=quantile(ages, 0.9),
        overall=decision_group("all", rows, extra),
        by_segment=[
            decision_group(
                name,
                [rows[i] for i in members[name]],
                {score: [values[i] for i in members[name]] for score, values in extra.items()},
            )
            for name in sorted(members)
        ]
        if named
        else [],
    )
