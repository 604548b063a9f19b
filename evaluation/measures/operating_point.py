"""The operating point: how many customers the alerts reach, and how right each zone is.

How many customers to alert is a choice (DESIGN "Alert policy"), so the report shows it:
per zone, the alerts, the customers alerted and the precision of their first alert in
that zone (churn within each precision horizon after it, judged once the horizon has
ended inside history); per calendar month of event time (UTC), the customers with a
yellow or red alert that month over the customers active that month; and the share of
all customers alerted over the whole history.

A customer is *active* in a month when, during the part of the month inside history,
they had joined (``activated_on``, where the truth has it) and had not churned, or had
reactivated. With an operator's churn list, customers absent from it who were alerted
or scored stayed, and are the rest of the base.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import pairwise

from pydantic import BaseModel, ConfigDict

from evaluation.measures.ranking import week_of
from evaluation.measures.truth import WARNING_ZONES, AlertMark, TruthRow, churn_list_row
from evaluation.measures.warnings import EvaluationConfig, Precision, precision_within
from schemas.outputs import Zone


class ZonePrecision(BaseModel):
    """Alerts of one zone and the precision of each customer's first alert in it."""

    model_config = ConfigDict(frozen=True)

    zone: str
    alerts: int
    alerted_customers: int
    precision: list[Precision]


class MonthShare(BaseModel):
    """Customers alerted (yellow or red) in one calendar month over those active in it."""

    model_config = ConfigDict(frozen=True)

    month: str
    """``YYYY-MM`` of event time, UTC."""
    alerted_customers: int
    active_customers: int
    share: float | None


class OperatingPoint(BaseModel):
    """Precision by zone, the monthly alerted share, and the share over the whole history."""

    model_config = ConfigDict(frozen=True)

    by_zone: list[ZonePrecision]
    by_month: list[MonthShare]
    customers: int
    alerted_customers: int
    """Customers with at least one yellow or red alert over the whole history."""
    alerted_share: float | None
    alerts_unknown_customer: int


def alerts_per_week(alerts: Sequence[AlertMark]) -> dict[str, int]:
    """Yellow and red alerts per event-time week (its Monday, UTC), in week order.

    >>> from datetime import UTC
    >>> from schemas.outputs import Zone
    >>> marks = [AlertMark("C1", datetime(2025, 11, 4, tzinfo=UTC), Zone.RED),
    ...          AlertMark("C2", datetime(2025, 11, 5, tzinfo=UTC), Zone.GREEN)]
    >>> alerts_per_week(marks)
    {'2025-11-03': 1}
    """
    counts = Counter(week_of(m.event_time) for m in alerts if m.zone in WARNING_ZONES)
    return dict(sorted(counts.items()))


def month_starts(history_start: datetime, history_end: datetime) -> list[datetime]:
    """The first moment of each calendar month (UTC) that history touches, and the one after.

    >>> starts = month_starts(datetime(2025, 11, 3, tzinfo=UTC), datetime(2026, 1, 10, tzinfo=UTC))
    >>> [s.strftime("%Y-%m") for s in starts]
    ['2025-11', '2025-12', '2026-01', '2026-02']
    """
    first = history_start.astimezone(UTC)
    month = datetime(first.year, first.month, 1, tzinfo=UTC)
    starts = [month]
    while starts[-1] < history_end:
        year, index = divmod(starts[-1].month, 12)
        starts.append(datetime(starts[-1].year + year, index + 1, 1, tzinfo=UTC))
    return starts


def active_between(row: TruthRow, start: datetime, end: datetime) -> bool:
    """Whether the customer held a subscription at some moment of ``[start, end)``.

    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> gone = TruthRow("C", "x", t, None, (), "none", None, None, None)
    >>> active_between(gone, t, datetime(2026, 2, 1, tzinfo=UTC)), active_between(gone, datetime(2025, 12, 1,
    ...     tzinfo=UTC), t)
    (False, True)
    """
    if row.activated_time is not None and row.activated_time >= end:
        return False
    if row.churn_time is None or row.churn_time > start:
        return True
    return row.reactivated_time is not None and row.reactivated_time < end


def operating_point(
    truth: Iterable[TruthRow],
    alerts: Sequence[AlertMark],
    history_start: datetime,
    history_end: datetime,
    config: EvaluationConfig | None = None,
    absent_stayed: bool = False,
    scored_customers: Iterable[str] = (),
) -> OperatingPoint:
    """Precision by zone and the alerted share of the base, per month and overall.

    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> fates = [("A", datetime(2026, 1, 20, tzinfo=UTC)), ("B", None), ("C", None), ("D", None)]
    >>> rows = [TruthRow(c, "x", churn, None, (), "none", None, None, None) for c, churn in fates]
    >>> marks = [AlertMark("A", datetime(2026, 1, 5, tzinfo=UTC), Zone.RED),
    ...          AlertMark("B", datetime(2026, 1, 6, tzinfo=UTC), Zone.YELLOW),
    ...          AlertMark("B", datetime(2026, 2, 6, tzinfo=UTC), Zone.YELLOW)]
    >>> point = operating_point(rows, marks, t0, datetime(2026, 3, 31, tzinfo=UTC))
    >>> [(z.zone, z.alerts, z.alerted_customers, z.precision[0].precision) for z in point.by_zone]
    [('red', 1, 1, 1.0), ('yellow', 2, 1, 0.0)]
    >>> [(m.month, m.alerted_customers, m.active_customers) for m in point.by_month]
    [('2026-01', 2, 4), ('2026-02', 1, 3), ('2026-03', 0, 3)]
    >>> point.alerted_share
    0.5
    """
    config = config or EvaluationConfig()
    rows = {row.customer_id: row for row in truth}
    if absent_stayed:
        seen = {*scored_customers, *(mark.customer_id for mark in alerts)}
        for customer_id in sorted(seen - rows.keys()):
            rows[customer_id] = churn_list_row(customer_id, None)
    by_zone: dict[Zone, list[AlertMark]] = defaultdict(list)
    unknown = 0
    for mark in alerts:
        if mark.customer_id not in rows:
            unknown += 1
            continue
        by_zone[mark.zone].append(mark)
    zones = []
    for zone in sorted(by_zone, key=lambda z: z.rank, reverse=True):
        marks = by_zone[zone]
        first: dict[str, datetime] = {}
        for mark in marks:
            held = first.get(mark.customer_id)
            if held is None or mark.event_time < held:
                first[mark.customer_id] = mark.event_time
        pairs = [(t, rows[customer_id].churn_time) for customer_id, t in first.items()]
        zones.append(
            ZonePrecision(
                zone=zone.value,
                alerts=len(marks),
                alerted_customers=len(first),
                precision=[precision_within(pairs, h, history_end) for h in config.precision_horizons_days],
            )
        )
    warned = [mark for zone in WARNING_ZONES for mark in by_zone.get(zone, [])]
    starts = month_starts(history_start, history_end)
    months = []
    for start, following in pairwise(starts):
        begin, end = max(start, history_start), min(following, history_end)
        alerted = {m.customer_id for m in warned if begin <= m.event_time < end}
        active = sum(active_between(row, begin, end) for row in rows.values())
        months.append(
            MonthShare(
                month=start.strftime("%Y-%m"),
                alerted_customers=len(alerted),
                active_customers=active,
                share=len(alerted) / active if active else None,
            )
        )
    alerted_ever = len({mark.customer_id for mark in warned})
    return OperatingPoint(
        by_zone=zones,
        by_month=months,
        customers=len(rows),
        alerted_customers=alerted_ever,
        alerted_share=alerted_ever / len(rows) if rows else None,
        alerts_unknown_customer=unknown,
    )
