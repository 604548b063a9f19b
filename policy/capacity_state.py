"""A partition group's daily capacity state: its lanes' counts today and the closed days before.

Plain frozen values, with the compact JSON a state is stored as (``store.capacity``) and
the summary of a closed day published on ``churn.capacity``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from policy.errors import CapacityStateError
from schemas.event_days import day_date
from schemas.outputs import CapacityDay, CapacityLane

HOURS = 24
ALL_TIERS = "all"
"""The lane of every alert whose value tier has no budget of its own."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """An alert that would go out: its id, its priority, the lane whose budget it uses and
    its event-time day (None: the open day)."""

    key: str
    priority: float
    lane: str
    day: int | None = None


@dataclass(frozen=True, slots=True)
class ClosedDay:
    """What the bar keeps of a past event-time day: its candidates' priorities and hours."""

    day: int
    counts: Mapping[int, int]  # sketch bucket -> candidates
    hours: tuple[int, ...]  # candidates per hour of the day (UTC)


@dataclass(frozen=True, slots=True)
class LaneDay:
    """Today so far, for one lane."""

    sent: int = 0
    held_back: int = 0
    counts: Mapping[int, int] = field(default_factory=dict)
    hours: tuple[int, ...] = (0,) * HOURS
    opening_bar: float | None = None  # the bar for the whole budget, from recent days, before today
    lowest_bar: float | None = None
    highest_bar: float | None = None

    @property
    def candidates(self) -> int:
        return self.sent + self.held_back


@dataclass(frozen=True, slots=True)
class LaneState:
    today: LaneDay = field(default_factory=LaneDay)
    history: tuple[ClosedDay, ...] = ()  # oldest first, at most ``history_days``


@dataclass(frozen=True, slots=True)
class LaneSummary:
    """How one lane's budget was spent on a closed day."""

    lane: str
    budget: int
    candidates: int
    sent: int
    held_back: int
    opening_bar: float | None
    lowest_bar: float | None
    highest_bar: float | None


@dataclass(frozen=True, slots=True)
class CapacityState:
    """A partition group's capacity state: the open event-time day and each lane's state.

    ``day`` is None until the group's first candidate or first closed day. ``base`` is
    the group's active base counted when its last day closed (None before), ``carry``
    the allowance by share of the base the earlier days left unsent (``carried``).
    """

    day: int | None
    lanes: Mapping[str, LaneState]
    base: int | None = None
    carry: float = 0.0

    @classmethod
    def empty(cls) -> CapacityState:
        return cls(day=None, lanes={})

    def lane(self, name: str) -> LaneState:
        return self.lanes.get(name, LaneState())



def _finite(value: float | None) -> float | None:
    """JSON has no infinity: a bar of infinity (no budget left) is written as -1."""
    if value is None:
        return None
    return -1.0 if math.isinf(value) else value


def _bar(value: float | None) -> float | None:
    if value is None:
        return None
    return math.inf if value < 0 else value


def _counts_text(counts: Mapping[int, int]) -> dict[str, int]:
    return {str(index): count for index, count in sorted(counts.items())}


def encode_today(state: CapacityState) -> str:
    """The open day and each lane's today, as compact JSON (the history is kept per closed day).

    >>> from datetime import UTC, datetime
    >>> from policy.capacity import choose, close_day
    >>> state, _ = choose(CapacityState.empty(), {"all": 1}, [Candidate("a", 5.0, "all")],
    ...                   datetime(2026, 3, 2, 9, tzinfo=UTC))
    >>> decode(encode_today(state), {}).lanes["all"].today == state.lanes["all"].today
    True
    >>> closed, _ = close_day(state, state.day, {"all": 1}, 7, base=480, carry=0.25)
    >>> restored = decode(encode_today(closed), {})
    >>> restored.day - state.day, restored.base, restored.carry
    (1, 480, 0.25)
    """
    lanes = {
        name: {
            "sent": lane.today.sent,
            "held": lane.today.held_back,
            "counts": _counts_text(lane.today.counts),
            "hours": list(lane.today.hours),
            "bars": [
                _finite(lane.today.opening_bar),
                _finite(lane.today.lowest_bar),
                _finite(lane.today.highest_bar),
            ],
        }
        for name, lane in sorted(state.lanes.items())
    }
    header = {"day": state.day, "base": state.base, "carry": state.carry}
    return json.dumps({**header, "lanes": lanes}, separators=(",", ":"))


def encode_closed(state: CapacityState, day: int) -> str:
    """Every lane's record of closed ``day``, as compact JSON."""
    lanes = {}
    for name, lane in sorted(state.lanes.items()):
        for closed in lane.history:
            if closed.day == day:
                lanes[name] = {"counts": _counts_text(closed.counts), "hours": list(closed.hours)}
    return json.dumps(lanes, separators=(",", ":"))


def decode(today_text: str | None, closed_texts: Mapping[int, str]) -> CapacityState:
    """The state from ``encode_today`` and the ``encode_closed`` texts of recent days.

    Raises CapacityStateError on anything else.
    """
    if today_text is None:
        return CapacityState.empty()
    try:
        today = json.loads(today_text)
        histories: dict[str, list[ClosedDay]] = {}
        for day in sorted(closed_texts):
            for name, closed in json.loads(closed_texts[day]).items():
                histories.setdefault(name, []).append(
                    ClosedDay(
                        day, {int(k): int(v) for k, v in closed["counts"].items()}, tuple(closed["hours"])
                    )
                )
        lanes = {}
        for name in sorted(set(today["lanes"]) | set(histories)):
            raw = today["lanes"].get(name)
            lane_day = LaneDay()
            if raw is not None:
                opening, lowest, highest = raw["bars"]
                lane_day = LaneDay(
                    sent=int(raw["sent"]),
                    held_back=int(raw["held"]),
                    counts={int(k): int(v) for k, v in raw["counts"].items()},
                    hours=tuple(int(h) for h in raw["hours"]),
                    opening_bar=_bar(opening),
                    lowest_bar=_bar(lowest),
                    highest_bar=_bar(highest),
                )
            lanes[name] = LaneState(today=lane_day, history=tuple(histories.get(name, ())))
        day_value, base = today["day"], today.get("base")
        return CapacityState(
            day=None if day_value is None else int(day_value),
            lanes=lanes,
            base=None if base is None else int(base),
            carry=float(today.get("carry", 0.0)),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise CapacityStateError(f"capacity state={today_text[:80]!r}: {error}") from error


def summary_id(partition: int, day: int) -> str:
    """Deterministic id of a group's summary of a day, so a replay publishes the same record.

    >>> summary_id(0, 20514) == summary_id(0, 20514) != summary_id(1, 20514)
    True
    """
    return hashlib.sha256(f"capacity\x1f{partition}\x1f{day}".encode()).hexdigest()[:32]


def day_summary(partition: int, partitions: int, day: int, lanes: Sequence[LaneSummary]) -> CapacityDay:
    """The ``retention.capacity`` record of a closed day (a bar of infinity, nothing left, is -1)."""
    return CapacityDay(
        summary_id=summary_id(partition, day),
        partition=partition,
        partitions=partitions,
        day=day_date(day),
        sent=sum(lane.sent for lane in lanes),
        held_back=sum(lane.held_back for lane in lanes),
        lanes=tuple(
            CapacityLane(
                lane=lane.lane,
                budget=lane.budget,
                candidates=lane.candidates,
                sent=lane.sent,
                held_back=lane.held_back,
                opening_bar=_finite(lane.opening_bar),
                lowest_bar=_finite(lane.lowest_bar),
                highest_bar=_finite(lane.highest_bar),
            )
            for lane in lanes
        ),
    )
