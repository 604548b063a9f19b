"""Each customer's behaviour in the 90 days before a decision date, from the event columns.

The batch reference (``evaluation.measures.reference``) needs what an operator's warehouse would
hold: per customer, 90-day sums of calls, minutes, charges, dropped calls, international
and roaming minutes, top-ups and complaints, the last 30 days against the 60 before
them, and the days since the last event and top-up. ``evaluation.loading.events`` reads
the event files once into packed columns (``EventColumns``), and every decision date's
table is then a few numpy passes over them (``behaviour_matrix``).

Windows: an event at ``t`` counts for decision date ``D`` when ``D - 90 d <= t < D``;
"last 30 days" is ``D - 30 d <= t < D``, "previous 60" the rest. A change is the
last-30-day daily rate over the previous-60-day one, NaN where the previous 60 days
have none (the gradient boosting handles NaN as its own branch). Days since the last
event or top-up are NaN when there was none in the 90 days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, IntFlag

import numpy as np
import numpy.typing as npt

from schemas.events import ComplaintCategory

SECONDS_PER_DAY = 86_400.0
WINDOW_DAYS = 90.0
RECENT_DAYS = 30.0
PREVIOUS_DAYS = WINDOW_DAYS - RECENT_DAYS
CATEGORIES: tuple[str, ...] = tuple(c.value for c in ComplaintCategory)

Floats = npt.NDArray[np.float64]


class EventKind(IntEnum):
    CALL_OUT = 0
    CALL_IN = 1
    TOPUP = 2
    COMPLAINT = 3


class CallFlag(IntFlag):
    DROPPED = 1
    ROAMING = 2
    INTERNATIONAL = 4
    OFF_NET = 8


@dataclass(frozen=True)
class EventColumns:
    """Calls, top-ups and complaints as packed columns, one entry per event, file order.

    ``value`` is a call's duration in seconds, a top-up's amount, a complaint's category
    code (``CATEGORIES`` index); ``charge`` is a call's charge (0 otherwise).
    """

    customer: npt.NDArray[np.int32]
    time_s: npt.NDArray[np.float64]
    """Event time, seconds since the epoch."""
    kind: npt.NDArray[np.uint8]
    flags: npt.NDArray[np.uint8]
    value: npt.NDArray[np.float32]
    charge: npt.NDArray[np.float32]
    lines_read: int
    outside_windows: int
    """Calls, top-ups and complaints outside every decision date's window (not kept)."""
    other_events: int
    """Lifecycle and unknown event types."""
    unknown_customer: int
    unreadable: int
    """Lines that are not JSON or lack a field the columns need."""

    @property
    def events(self) -> int:
        return int(self.customer.shape[0])


BEHAVIOUR_NAMES: tuple[str, ...] = (
    "calls_out_90d",
    "calls_in_90d",
    "call_out_minutes_90d",
    "call_in_minutes_90d",
    "call_charge_90d",
    "dropped_calls_90d",
    "international_minutes_90d",
    "roaming_minutes_90d",
    "off_net_minutes_90d",
    "topups_90d",
    "topup_amount_90d",
    *(f"complaints_{category}_90d" for category in CATEGORIES),
    "calls_out_30d",
    "call_out_minutes_30d",
    "topup_amount_30d",
    "complaints_30d",
    "calls_out_change_30d_vs_60d",
    "calls_in_change_30d_vs_60d",
    "call_out_minutes_change_30d_vs_60d",
    "call_charge_change_30d_vs_60d",
    "off_net_minutes_change_30d_vs_60d",
    "topups_change_30d_vs_60d",
    "topup_amount_change_30d_vs_60d",
    "days_since_last_event",
    "days_since_last_topup",
)
"""Columns of ``behaviour_matrix``, in order."""


def _change(recent: Floats, previous: Floats) -> Floats:
    """Last-30-day daily rate over the previous-60-day one; NaN without previous activity.

    >>> _change(np.array([30.0, 0.0, 5.0]), np.array([120.0, 60.0, 0.0])).tolist()
    [0.5, 0.0, nan]
    """
    ratio = np.full(recent.shape, np.nan)
    known = previous > 0
    ratio[known] = (recent[known] / RECENT_DAYS) / (previous[known] / PREVIOUS_DAYS)
    return ratio


def behaviour_matrix(columns: EventColumns, customers: int, decision_time: datetime) -> Floats:
    """One row per customer number (``0 .. customers - 1``), ``BEHAVIOUR_NAMES`` columns,
    from the events in the 90 days before ``decision_time``.

    >>> from datetime import UTC, timedelta
    >>> d = datetime(2026, 2, 1, tzinfo=UTC)
    >>> def at(days_before: float) -> float:
    ...     return (d - timedelta(days=days_before)).timestamp()
    >>> cols = EventColumns(
    ...     customer=np.array([0, 0, 0, 1], dtype=np.int32),
    ...     time_s=np.array([at(10), at(50), at(100), at(2)]),
    ...     kind=np.array([0, 0, 0, 2], dtype=np.uint8), flags=np.zeros(4, dtype=np.uint8),
    ...     value=np.array([120, 60, 600, 10], dtype=np.float32), charge=np.zeros(4, dtype=np.float32),
    ...     lines_read=4, outside_windows=0, other_events=0, unknown_customer=0, unreadable=0)
    >>> m = dict(zip(BEHAVIOUR_NAMES, behaviour_matrix(cols, 2, d).T.tolist()))
    >>> m["calls_out_90d"], m["call_out_minutes_90d"], m["calls_out_change_30d_vs_60d"]
    ([2.0, 0.0], [3.0, 0.0], [2.0, nan])
    >>> m["days_since_last_event"], m["days_since_last_topup"], m["topup_amount_30d"]
    ([10.0, 2.0], [nan, 2.0], [0.0, 10.0])
    """
    d = decision_time.timestamp()
    t = columns.time_s
    in_window = (t >= d - WINDOW_DAYS * SECONDS_PER_DAY) & (t < d)
    customer = columns.customer[in_window]
    age_days = (d - t[in_window]) / SECONDS_PER_DAY
    kind = columns.kind[in_window]
    flags = columns.flags[in_window]
    value = columns.value[in_window].astype(np.float64)
    charge = columns.charge[in_window].astype(np.float64)
    recent = age_days <= RECENT_DAYS

    def total(mask: npt.NDArray[np.bool_], weights: Floats | None = None) -> Floats:
        chosen = None if weights is None else weights[mask]
        return np.bincount(customer[mask], weights=chosen, minlength=customers).astype(np.float64)

    def split(mask: npt.NDArray[np.bool_], weights: Floats | None = None) -> tuple[Floats, Floats]:
        last_30 = total(mask & recent, weights)
        return last_30, total(mask, weights) - last_30

    call_out = kind == EventKind.CALL_OUT
    call_in = kind == EventKind.CALL_IN
    call = call_out | call_in
    topup = kind == EventKind.TOPUP
    complaint = kind == EventKind.COMPLAINT
    minutes = value / 60.0
    off_net = call & ((flags & CallFlag.OFF_NET) > 0)

    calls_out_recent, calls_out_previous = split(call_out)
    calls_in_recent, calls_in_previous = split(call_in)
    out_minutes_recent, out_minutes_previous = split(call_out, minutes)
    charge_recent, charge_previous = split(call, charge)
    off_net_recent, off_net_previous = split(off_net, minutes)
    topups_recent, topups_previous = split(topup)
    amount_recent, amount_previous = split(topup, value)
    complaints_recent = total(complaint & recent)

    def days_since(mask: npt.NDArray[np.bool_]) -> Floats:
        youngest = np.full(customers, np.inf)
        np.minimum.at(youngest, customer[mask], age_days[mask])
        youngest[np.isinf(youngest)] = np.nan
        return youngest

    matrix = np.column_stack(
        [
            calls_out_recent + calls_out_previous,
            calls_in_recent + calls_in_previous,
            out_minutes_recent + out_minutes_previous,
            total(call_in, minutes),
            charge_recent + charge_previous,
            total(call & ((flags & CallFlag.DROPPED) > 0)),
            total(call & ((flags & CallFlag.INTERNATIONAL) > 0), minutes),
            total(call & ((flags & CallFlag.ROAMING) > 0), minutes),
            off_net_recent + off_net_previous,
            topups_recent + topups_previous,
            amount_recent + amount_previous,
            *(total(complaint & (value == code)) for code in range(len(CATEGORIES))),
            calls_out_recent,
            out_minutes_recent,
            amount_recent,
            complaints_recent,
            _change(calls_out_recent, calls_out_previous),
            _change(calls_in_recent, calls_in_previous),
            _change(out_minutes_recent, out_minutes_previous),
            _change(charge_recent, charge_previous),
            _change(off_net_recent, off_net_previous),
            _change(topups_recent, topups_previous),
            _change(amount_recent, amount_previous),
            days_since(np.ones(customer.shape, dtype=bool)),
            days_since(topup),
        ]
    )
    return matrix


def customer_numbers(customer_ids: Iterable[str]) -> dict[str, int]:
    """Number customers in the order given (the customer table's row order).

    >>> customer_numbers(["C2", "C1"])
    {'C2': 0, 'C1': 1}
    """
    return {customer_id: number for number, customer_id in enumerate(customer_ids)}
