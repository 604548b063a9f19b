"""What the evaluation knows of each customer's fate and of each alert, once read.

``TruthRow`` is a row of the simulator's ``truth.csv`` or of an operator's churn list,
``AlertMark`` an alert of ``retention.alerts``; ``Truth`` is every row of one file and
whether customers missing from it stayed. Reading them is ``evaluation.loading``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.outputs import Alert, Zone

WARNING_ZONES = frozenset({Zone.YELLOW, Zone.RED})
NO_DECOY = "none"
UNKNOWN_SEGMENT = "unknown"


@dataclass(frozen=True, slots=True)
class TruthRow:
    """The part of a ``truth.csv`` row the evaluation needs (times are aware UTC)."""

    customer_id: str
    segment: str
    churn_time: datetime | None
    trajectory_start: datetime | None
    signals: tuple[str, ...]
    decoy_kind: str
    decoy_start: datetime | None
    decoy_end: datetime | None
    reactivated_time: datetime | None
    activated_time: datetime | None = None
    """When the subscription began, where the truth says (``activated_on``)."""

    @property
    def churns(self) -> bool:
        return self.churn_time is not None


@dataclass(frozen=True, slots=True)
class AlertMark:
    """One alert reduced to what the evaluation needs."""

    customer_id: str
    event_time: datetime
    zone: Zone

    @classmethod
    def from_alert(cls, alert: Alert) -> AlertMark:
        return cls(alert.customer_id, alert.event_time, alert.zone)


@dataclass(frozen=True)
class Truth:
    """Ground truth as read: every row, and whether customers missing from it stayed."""

    rows: list[TruthRow]
    absent_stayed: bool


def churn_list_row(customer_id: str, churn_time: datetime | None) -> TruthRow:
    """A customer of an operator's churn list (or, with no churn time, one absent from it):
    no segment, trajectory, signals or decoys are known.

    >>> churn_list_row("C9", None).churns
    False
    """
    return TruthRow(customer_id, UNKNOWN_SEGMENT, churn_time, None, (), NO_DECOY, None, None, None)
