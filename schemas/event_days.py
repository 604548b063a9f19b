"""Event-time days: the unit of snapshots, sweeps, capacity, label horizons and model versions.

A day is a whole number counting UTC days since 1970-01-01 (day 0), so every worker,
replay and report cuts event time at the same instants, whatever its time zone.
Nothing here reads the clock: a day is always the day of some event time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

DAY_S = 86_400
"""Seconds in an event-time day."""

EPOCH = date(1970, 1, 1)
"""The date of day 0."""


def day_of(moment: datetime) -> int:
    """The event-time day an aware moment belongs to.

    >>> day_of(datetime(1970, 1, 2, 23, 59, tzinfo=UTC))
    1
    """
    return day_of_s(moment.timestamp())


def day_of_s(epoch_s: float) -> int:
    """The event-time day of a moment given in epoch seconds.

    >>> day_of_s(3 * DAY_S + 5.0), day_of_s(-1.0)
    (3, -1)
    """
    return int(epoch_s // DAY_S)


def day_end_s(day: int) -> float:
    """The last microsecond of an event-time day, in epoch seconds: everything at it belongs to that day.

    >>> day_of_s(day_end_s(4)), day_of_s(day_end_s(4) + 1e-6)
    (4, 5)
    """
    return (day + 1) * DAY_S - 1e-6


def day_end(day: int) -> datetime:
    """The last microsecond of an event-time day, as an aware UTC datetime.

    >>> day_end(0).isoformat()
    '1970-01-01T23:59:59.999999+00:00'
    """
    return datetime.fromtimestamp((day + 1) * DAY_S, UTC) - timedelta(microseconds=1)


def day_number(day: date) -> int:
    """The event-time day a date names.

    >>> day_number(date(1970, 1, 3))
    2
    """
    return (day - EPOCH).days


def day_date(day: int) -> date:
    """The date of an event-time day.

    >>> day_date(2), day_date(20513)
    (datetime.date(1970, 1, 3), datetime.date(2026, 3, 1))
    >>> all(day_number(day_date(day)) == day for day in (-3, 0, 20513))
    True
    """
    return EPOCH + timedelta(days=day)
