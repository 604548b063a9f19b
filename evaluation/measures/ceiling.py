"""What the simulator allows: how many positive snapshots carry any signal at all.

A snapshot at event time ``t`` is positive when its customer churns within the label
horizon after it (``evaluation.measures.ranking.label_snapshots``, or the learner's label on a
training example). The simulator changes a churner's behaviour only inside their
*trajectory*, from ``trajectory_start`` to ``churn_time``, and only through the signals
it gave them: a *sudden* churner (no signals, 0.5-2.5 days of trajectory) looks like a
stayer until they are gone, and a churner whose trajectory starts after ``t`` looks
like one at ``t``. So, per group:

- the share of positives inside a visible trajectory (``trajectory_start <= t``, the
  churner has signals): the positives any model could tell apart from a stayer;
- the ROC AUC of an *oracle* that knows only that: score 1 inside a visible trajectory
  (before churn), 0 otherwise, ties counted half (``models.prequential``). It gives away
  what a model cannot know (decoys score 0, however churner-like they look) and ignores
  what it could (a trajectory nearly over looks worse than one just begun), so it is a
  guide to the attainable ranking, not a strict bound.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from evaluation.measures.ranking import LabelledSnapshot, ranking_metrics
from evaluation.measures.truth import TruthRow

ALL_GROUP = "all"
_ORACLE_SOURCE = "oracle"


class Judged(Protocol):
    """A labelled moment: a judged score snapshot or a resolved training example."""

    @property
    def customer_id(self) -> str: ...

    @property
    def event_time(self) -> datetime: ...

    @property
    def churned(self) -> bool: ...


def in_visible_trajectory(row: TruthRow, at: datetime) -> bool:
    """Whether the simulator was already changing this customer's behaviour at ``at``.

    >>> from datetime import UTC
    >>> row = TruthRow("C1", "family", datetime(2026, 1, 30, tzinfo=UTC), datetime(2026, 1, 10, tzinfo=UTC),
    ...                ("usage",), "none", None, None, None)
    >>> [in_visible_trajectory(row, datetime(2026, 1, d, tzinfo=UTC)) for d in (9, 11, 30)]
    [False, True, False]
    """
    if not row.signals or row.trajectory_start is None or row.churn_time is None:
        return False
    return row.trajectory_start <= at < row.churn_time


class CeilingGroup(BaseModel):
    """One group's positives by what they could show, and the trajectory oracle's ranking."""

    model_config = ConfigDict(frozen=True)

    group: str
    snapshots: int
    positives: int
    positives_in_trajectory: int
    """Positives whose churner had signals and whose trajectory had started by the snapshot."""
    positives_sudden: int
    """Positives of churners without any signal (heavy users leaving with 1-2 days' warning)."""
    positives_before_trajectory: int
    """Positives of churners with signals whose trajectory started after the snapshot."""
    positives_truth_stayed: int
    """Positives of customers the truth says never churn: a label the truth disagrees with
    (a training example labelled by the worker's churn events); 0 for judged snapshots."""
    negatives_in_trajectory: int
    """Negatives the oracle scores 1: churners in trajectory whose churn is beyond the horizon."""
    share_with_signal: float | None
    """``positives_in_trajectory / positives``; None without positives."""
    oracle_roc_auc: float | None
    oracle_pr_auc: float | None
    oracle_lift_10: float | None


class CeilingReport(BaseModel):
    """The ceiling overall and per segment, over one set of judged snapshots."""

    model_config = ConfigDict(frozen=True)

    over: str
    """Which snapshots: the judged ``churn.predictions`` snapshots or the yardstick's later half."""
    left_out_unknown_customer: int
    overall: CeilingGroup
    by_segment: list[CeilingGroup]


def ceiling_group(group: str, judged: Sequence[Judged], rows: Mapping[str, TruthRow]) -> CeilingGroup:
    """Counts and oracle ranking of ``judged``, each of whose customers is in ``rows``."""
    oracle: list[LabelledSnapshot] = []
    in_trajectory = sudden = before = stayed = negatives_flagged = 0
    for item in judged:
        row = rows[item.customer_id]
        visible = in_visible_trajectory(row, item.event_time)
        if item.churned:
            if visible:
                in_trajectory += 1
            elif not row.churns:
                stayed += 1
            elif not row.signals:
                sudden += 1
            else:
                before += 1
        elif visible:
            negatives_flagged += 1
        oracle.append(
            LabelledSnapshot(
                customer_id=item.customer_id,
                event_time=item.event_time,
                score=1.0 if visible else 0.0,
                churned=item.churned,
                score_source=_ORACLE_SOURCE,
                revenue_90d=None,
                segment=row.segment,
            )
        )
    metrics = ranking_metrics(group, oracle)
    positives = in_trajectory + sudden + before + stayed
    return CeilingGroup(
        group=group,
        snapshots=len(oracle),
        positives=positives,
        positives_in_trajectory=in_trajectory,
        positives_sudden=sudden,
        positives_before_trajectory=before,
        positives_truth_stayed=stayed,
        negatives_in_trajectory=negatives_flagged,
        share_with_signal=in_trajectory / positives if positives else None,
        oracle_roc_auc=metrics.roc_auc,
        oracle_pr_auc=metrics.pr_auc,
        oracle_lift_10=metrics.lift["10"],
    )


def ceiling_report(over: str, judged: Iterable[Judged], truth: Iterable[TruthRow]) -> CeilingReport | None:
    """The ceiling of ``judged`` by segment; None when the truth knows no trajectories (an
    operator's churn list), since then nothing says when a churner's behaviour began to change.

    >>> from datetime import UTC, timedelta
    >>> row = TruthRow("C1", "family", datetime(2026, 1, 30, tzinfo=UTC), datetime(2026, 1, 10, tzinfo=UTC),
    ...                ("usage",), "none", None, None, None)
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> snaps = [LabelledSnapshot("C1", t0 + timedelta(days=d), 0.5, True, "blend", None, "family")
    ...          for d in (5, 15)]
    >>> report = ceiling_report("snapshots", snaps, [row])
    >>> report.overall.positives_in_trajectory, report.overall.positives_before_trajectory
    (1, 1)
    """
    rows = {row.customer_id: row for row in truth}
    if not any(row.trajectory_start is not None for row in rows.values()):
        return None
    known: list[Judged] = []
    unknown = 0
    for item in judged:
        if item.customer_id in rows:
            known.append(item)
        else:
            unknown += 1
    by_segment: dict[str, list[Judged]] = defaultdict(list)
    for item in known:
        by_segment[rows[item.customer_id].segment].append(item)
    return CeilingReport(
        over=over,
        left_out_unknown_customer=unknown,
        overall=ceiling_group(ALL_GROUP, known, rows),
        by_segment=[ceiling_group(name, by_segment[name], rows) for name in sorted(by_segment)],
    )
