"""Daily contact capacity: at most N alerts per event-time day, chosen as candidates stream in.

How many customers to alert is an operating point, not a side effect of zone thresholds.
The retention team can contact only so many customers a day: an absolute N for the
deployment (``daily_alerts``), or by default a share of the base per 30 days worth
contacting (``base_share_30d``, the expected-profit-maximising share), each partition
group sending a thirtieth of it of its own active base per day (``share_budget``). Each
candidate alert is sent or held back the moment it is decided, against a bar: the lower
of the day's cut-off as it looks so far (the N-th priority among today's candidates and
those still expected) and a pacing bar (the priority above which as many candidates are
still expected today as there is budget left, so it falls when the budget is ahead of
the day). The later candidates' priorities are expected like today's so far and the
recent event-time days' (the latest weighing most: priorities drift); how many are still
to come, from when in the day candidates usually come (hour by hour, from the recent
days). What is left is spent on the last candidates of the day (the day's sweep).
Nothing waits for the end of the day.

Everything here is a pure function of the candidates and their event times, so a
replay, a restart or a rebalance hold back the same alerts; the active base is counted
when a group's day closes, in event time. A partition group decides alone, so the
deployment's N is split across groups (``group_budget``): the sum never exceeds N, but
a day whose top N crowd into one group loses some of them to that group's share (the
loss shrinks as N per group grows; see docs/alert-policy.md).

The priority sketch is a histogram over logarithmic buckets (2 % relative accuracy), so
its size depends on the spread of priorities, not on how many candidates there were.

>>> config = CapacityConfig(daily_alerts=2)
>>> from datetime import UTC
>>> start = datetime(2026, 3, 2, 9, tzinfo=UTC)
>>> batch = [Candidate("a", 50.0, "all"), Candidate("b", 10.0, "all"), Candidate("c", 30.0, "all")]
>>> state, sent = choose(CapacityState.empty(), {"all": 2}, batch, start, last_of_day=True)
>>> sorted(sent), state.lanes["all"].today.sent, state.lanes["all"].today.held_back
(['a', 'c'], 2, 1)
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from policy.errors import CapacityStateError
from schemas.event_days import DAY_S, day_date, day_of
from schemas.outputs import CapacityDay, CapacityLane, ValueTier

HOURS = 24
ALL_TIERS = "all"
"""The lane of every alert whose value tier has no budget of its own."""

PROFILE_MIN_DAYS = 3
"""Closed days before the hour profile of recent days is trusted over today's rate so far."""
RECENCY_DECAY = 0.5
"""Weight of a closed day in the expected priorities, per day of age (priorities drift)."""

SKETCH_ACCURACY = 0.02
_GAMMA = (1.0 + SKETCH_ACCURACY) / (1.0 - SKETCH_ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)
LOWEST_PRIORITY = 1e-6
"""Priorities at or below this share one bucket (priority 0 is a score of 0 with no revenue)."""
_ZERO_BUCKET = math.ceil(math.log(LOWEST_PRIORITY) / _LOG_GAMMA) - 1


LABEL_HORIZON_DAYS = 30
"""The days a share of the base is spread over: the label horizon of a 30-day churn warning."""

DEFAULT_BASE_SHARE_30D = 0.00165
"""The default operating point: the share of the active base alerted per 30 days.

The expected-profit-maximising share (EMPC's ``eta*``) of the judged 30-day snapshots of
one simulated population: 2,000 customers x 150 days, seed 7, ``cold_start_rules``
scores, ``evaluation/profit.py`` with the product's campaign (offer 10, contact 1,
acceptance ~ Beta(6, 14), each snapshot valued at its 90-day revenue, 200 without one):
0.00165 of 68,159 snapshots (``churnwatch evaluate``, 2026-12-06). Judged on seed 11 in
docs/alert-policy.md.
"""

BaseShare = Annotated[float, Field(gt=0.0, le=1.0)]


class CapacityConfig(BaseModel):
    """How many alerts go out per event-time day: the operating point.

    ``daily_alerts`` caps the alerts of a whole deployment per event-time day, and takes
    precedence. Without it, each partition group may send ``base_share_30d`` of its
    active base (the customers it has seen and who have not churned) per 30 days, a
    thirtieth of it per day (``share_budget``); ``None`` (or ``"off"``) turns that off, and then, with
    no ``daily_alerts`` either, every alert goes out. ``per_tier`` gives value tiers
    budgets of their own (the other tiers share the lane above, or are not capped
    without one). ``history_days`` is how many recent event-time days the bar learns from.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    daily_alerts: Annotated[int, Field(ge=0)] | None = None
    base_share_30d: BaseShare | None = DEFAULT_BASE_SHARE_30D
    per_tier: dict[ValueTier, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    history_days: Annotated[int, Field(ge=1, le=60)] = 7

    @field_validator("base_share_30d", mode="before")
    @classmethod
    def _off_is_none(cls, value: object) -> object:
        """``off`` (as an environment variable can say it) turns the share of the base off."""
        return None if isinstance(value, str) and value.strip().lower() == "off" else value

    @property
    def enabled(self) -> bool:
        return self.shared_lane or bool(self.per_tier)

    @property
    def shared_lane(self) -> bool:
        """Whether the tiers without a budget of their own are capped (the ``all`` lane)."""
        return self.daily_alerts is not None or self.base_share_30d is not None

    @property
    def by_base_share(self) -> bool:
        """Whether the shared lane's budget comes from the active base (no absolute ``daily_alerts``)."""
        return self.daily_alerts is None and self.base_share_30d is not None

    def lane(self, tier: ValueTier) -> str | None:
        """The budget an alert of this tier draws on, or None when it is not capped.

        >>> config = CapacityConfig(daily_alerts=10, per_tier={ValueTier.KEY: 2})
        >>> uncapped = CapacityConfig(base_share_30d=None)
        >>> config.lane(ValueTier.KEY), config.lane(ValueTier.LOW), uncapped.lane(ValueTier.LOW)
        ('key', 'all', None)
        """
        if tier in self.per_tier:
            return tier.value
        return ALL_TIERS if self.shared_lane else None

    def budgets(
        self, partition: int, partitions: int, day: int, base: int | None = None, carry: float = 0.0
    ) -> dict[str, int]:
        """Each lane's budget for one partition group on one event-time day.

        ``base`` and ``carry`` are the group's (``CapacityState``): its active base when
        the previous day closed (None before: a group's first day sends nothing by share)
        and what the earlier days left unsent (``carried``).

        >>> CapacityConfig(base_share_30d=0.1).budgets(0, 4, day=0, base=450, carry=0.5)
        {'all': 2}
        """
        totals = {
            tier.value: group_budget(count, partition, partitions, day)
            for tier, count in self.per_tier.items()
        }
        if self.daily_alerts is not None:
            totals[ALL_TIERS] = group_budget(self.daily_alerts, partition, partitions, day)
        elif self.base_share_30d is not None:
            totals[ALL_TIERS] = share_budget(self.base_share_30d, base, carry)[0]
        return dict(sorted(totals.items()))

    def carry_after(self, base: int | None, carry: float, sent: int) -> float:
        """What a day with ``base`` and ``carry`` that sent ``sent`` leaves to the next (0 but by share)."""
        if not self.by_base_share or self.base_share_30d is None:
            return 0.0
        return carried(share_budget(self.base_share_30d, base, carry)[1], sent)


MAX_CARRY = 1.0
"""At most one unspent alert waits for a later day: a day's budget by share is at most one
above its own share, and a small group's alert, once due, waits for its candidate."""


def share_budget(base_share_30d: float, base: int | None, carry: float) -> tuple[int, float]:
    """A day's budget by share of the base, and its allowance: whole alerts of ``share / 30 x base + carry``.

    No base yet (a group's first day): nothing, and nothing carried.

    >>> share_budget(0.1, 600, 0.0), share_budget(0.1, 100, 0.0), share_budget(0.1, 100, 0.75)
    ((2, 2.0), (0, 0.3333333333333333), (1, 1.0833333333333333))
    >>> share_budget(0.1, None, 0.5)
    (0, 0.0)
    """
    if base is None:
        return 0, 0.0
    allowance = base_share_30d * base / LABEL_HORIZON_DAYS + carry
    whole = math.floor(allowance + 1e-9)  # 0.1 * 600 / 30 is 1.9999999999999998
    return whole, max(allowance, float(whole))


def carried(allowance: float, sent: int) -> float:
    """The allowance a day leaves to the next: what it did not send, at most ``MAX_CARRY``.

    So the alerts sent over any run of days stay within the share of the bases (an alert
    is carried only while unsent), and a group whose daily share is below one alert still
    sends one every few days: its budget of one waits, day after day, for a candidate.

    >>> carried(0.4, 0), carried(2.3, 2), carried(2.3, 0)
    (0.4, 0.2999999999999998, 1.0)
    """
    return min(max(allowance - sent, 0.0), MAX_CARRY)


def group_budget(total: int, partition: int, partitions: int, day: int) -> int:
    """A partition group's share of a daily budget: equal shares, the remainder rotating by day.

    The shares of all groups add up to ``total`` exactly, on every day.

    >>> [group_budget(10, p, 4, day=0) for p in range(4)], [group_budget(10, p, 4, day=1) for p in range(4)]
    ([3, 3, 2, 2], [2, 3, 3, 2])
    """
    base, remainder = divmod(total, partitions)
    return base + (1 if (partition - day) % partitions < remainder else 0)


def bucket(priority: float) -> int:
    """The sketch bucket of a priority: bucket k holds (gamma^(k-1), gamma^k].

    >>> bucket(100.0) > bucket(99.0) > bucket(1.0) > bucket(0.0) == bucket(1e-9)
    True
    """
    if priority <= LOWEST_PRIORITY:
        return _ZERO_BUCKET
    return math.ceil(math.log(priority) / _LOG_GAMMA)


def bar_for_share(counts: Mapping[int, float], share: float) -> float:
    """The priority above which ``share`` of the sketch's candidates lie (0: send anything).

    Interpolated geometrically inside the bucket where the share is reached.

    >>> from collections import Counter
    >>> counts = Counter(bucket(float(p)) for p in range(1, 101))
    >>> round(bar_for_share(counts, 0.1)), bar_for_share(counts, 1.0), bar_for_share({}, 0.5)
    (91, 0.0, 0.0)
    """
    # summed in bucket order: a state restored from Redis gives the same bar to the last bit
    total = sum(count for _, count in sorted(counts.items()))
    if share >= 1.0 or total == 0:
        return 0.0
    if share <= 0.0:
        return math.inf
    wanted = share * total
    above = 0.0
    for index in sorted(counts, reverse=True):
        count = counts[index]
        if count <= 0:
            continue
        if above + count >= wanted:
            if index == _ZERO_BUCKET:
                return 0.0
            return float(_GAMMA ** (index - (wanted - above) / count))
        above += count
    return 0.0


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


def _expected_after(lane: LaneState, today_hours: Sequence[int], hour: int, elapsed: float) -> float:
    """Candidates still expected today after those of ``hour`` seen so far (``today_hours``).

    From the recent days' hour profile once there are ``PROFILE_MIN_DAYS`` of them; before,
    from today's rate so far (a first day can be unlike the others: a launch, a backfill).
    """
    if len(lane.history) >= PROFILE_MIN_DAYS:
        days = len(lane.history)
        mean = [sum(day.hours[h] for day in lane.history) / days for h in range(HOURS)]
        return sum(mean[hour + 1 :]) + max(mean[hour] - today_hours[hour], 0.0)
    seen = sum(today_hours)
    fraction = max(elapsed, 1.0 / HOURS)
    return seen * (1.0 - fraction) / fraction


def expected_priorities(history: Sequence[ClosedDay], today: Mapping[int, int]) -> dict[int, float]:
    """The share of today's later candidates expected in each sketch bucket (the shares add up to 1).

    Priorities drift (revenue builds up, a campaign starts), so the recent days count with
    weights halving per day of age, and today's candidates so far count against them as
    much as their number against a recent day's: by the day's end, about half and half.

    >>> day = ClosedDay(1, {bucket(1.0): 10}, (0,) * HOURS)
    >>> expected_priorities([day], {bucket(4.0): 10}) == {bucket(1.0): 0.5, bucket(4.0): 0.5}
    True
    """
    recent: dict[int, float] = {}
    weights = [RECENCY_DECAY**age for age in range(len(history))][::-1]
    days_total = sum(weight for weight, day in zip(weights, history, strict=True) if day.counts)
    for weight, day in zip(weights, history, strict=True):
        size = sum(day.counts.values())
        for index, count in sorted(day.counts.items()):
            recent[index] = recent.get(index, 0.0) + weight / days_total * count / size
    seen = sum(today.values())
    today_weight = 1.0
    if recent:  # some recent day had candidates
        per_day = sum(sum(day.counts.values()) for day in history) / len(history)
        today_weight = seen / (seen + per_day)
    expected = {index: (1.0 - today_weight) * share for index, share in sorted(recent.items())}
    for index, count in sorted(today.items()):
        expected[index] = expected.get(index, 0.0) + today_weight * count / seen
    return expected


def day_bar(
    today: Mapping[int, int], later: Mapping[int, float], batch: int, expected: float, budget: int, sent: int
) -> float:
    """The priority a candidate of a ``batch`` just counted into ``today`` must reach to go out.

    The lower of two bars: the day's cut-off as it looks now (the ``budget``-th priority
    among today's candidates so far and the ``expected`` later ones, drawn from ``later``:
    a candidate above it is likely among the day's best), and the pacing bar (the priority
    above which, of the batch and the later ones, as many are expected as there is budget
    left: it falls when the budget is ahead of the day). Infinity once the budget is spent.

    >>> today = {bucket(float(p)): 1 for p in range(1, 11)}
    >>> later = {index: 0.1 for index in today}
    >>> round(day_bar(today, later, 10, 10.0, 4, 0), 1), day_bar(today, later, 1, 10.0, 4, 4)
    (8.7, inf)
    """
    left = budget - sent
    seen = sum(today.values())
    if left <= 0 or batch + expected <= 0:
        return math.inf
    whole: dict[int, float] = dict(sorted(today.items()))
    for index, share in sorted(later.items()):
        whole[index] = whole.get(index, 0.0) + expected * share
    cut_off = bar_for_share(whole, budget / (seen + expected))
    pacing = bar_for_share(later, left / (batch + expected))
    return min(cut_off, pacing)


def _opening_bar(lane: LaneState, budget: int) -> float | None:
    if not lane.history:
        return None
    per_day = sum(sum(day.counts.values()) for day in lane.history) / len(lane.history)
    return bar_for_share(expected_priorities(lane.history, {}), budget / per_day) if per_day else 0.0


def choose(
    state: CapacityState,
    budgets: Mapping[str, int],
    candidates: Sequence[Candidate],
    at: datetime,
    last_of_day: bool = False,
) -> tuple[CapacityState, frozenset[str]]:
    """Which of a batch of simultaneous candidates go out; and the state after them.

    A batch is judged with one bar per lane (``day_bar``): the lower of the day's
    cut-off as it looks now and the pacing bar for the budget left. Those at or above it
    go out, highest first, while budget lasts; the rest are held back. ``last_of_day``:
    nothing more comes today, so the budget left is spent on the best of the batch.
    ``at`` is the batch's event time. A candidate of a day that has closed already (a
    late event) is held back: that day's budget is settled; it is counted with the open
    day's held-back alerts, outside its sketch.
    """
    if not candidates:
        return state, frozenset()
    day = state.day if state.day is not None else day_of(at)
    elapsed = min(max(at.timestamp() / DAY_S - day, 0.0), 1.0)
    hour = min(int(elapsed * HOURS), HOURS - 1)
    lanes = dict(state.lanes)
    sent: set[str] = set()
    by_lane: dict[str, list[Candidate]] = {}
    late: dict[str, int] = {}
    for candidate in candidates:
        if candidate.day is not None and candidate.day < day:
            late[candidate.lane] = late.get(candidate.lane, 0) + 1
        else:
            by_lane.setdefault(candidate.lane, []).append(candidate)
    for name, count in sorted(late.items()):
        lane = lanes.get(name, LaneState())
        lanes[name] = replace(lane, today=replace(lane.today, held_back=lane.today.held_back + count))
    for name in sorted(by_lane):
        batch = sorted(by_lane[name], key=lambda c: (-c.priority, c.key))
        lane = lanes.get(name, LaneState())
        today = lane.today
        budget = budgets.get(name, 0)
        counts = dict(today.counts)
        for candidate in batch:
            index = bucket(candidate.priority)
            counts[index] = counts.get(index, 0) + 1
        hours = list(today.hours)
        hours[hour] += len(batch)
        left = max(budget - today.sent, 0)
        if last_of_day:  # nothing more comes today: the best of the batch take what is left
            bar = 0.0 if left else math.inf
        else:
            expected = _expected_after(lane, hours, hour, elapsed)
            later = expected_priorities(lane.history, counts)
            bar = day_bar(counts, later, len(batch), expected, budget, today.sent)
        chosen = [c.key for c in batch if c.priority >= bar][:left]
        sent.update(chosen)
        opening = today.opening_bar if today.sent or today.counts else _opening_bar(lane, budget)
        lanes[name] = replace(
            lane,
            today=LaneDay(
                sent=today.sent + len(chosen),
                held_back=today.held_back + len(batch) - len(chosen),
                counts=counts,
                hours=tuple(hours),
                opening_bar=opening,
                lowest_bar=bar if today.lowest_bar is None else min(today.lowest_bar, bar),
                highest_bar=bar if today.highest_bar is None else max(today.highest_bar, bar),
            ),
        )
    return replace(state, day=day, lanes=lanes), frozenset(sent)


def close_day(
    state: CapacityState,
    day: int,
    budgets: Mapping[str, int],
    history_days: int,
    base: int | None = None,
    carry: float = 0.0,
) -> tuple[CapacityState, list[LaneSummary]]:
    """End event-time ``day``: one summary per lane with a budget, today into the history
    (the oldest day leaves it), and ``day + 1`` opens empty, with the group's active
    ``base`` counted at the day's end and the ``carry`` the day leaves."""
    lanes: dict[str, LaneState] = {}
    summaries = []
    for name in sorted(set(state.lanes) | set(budgets)):
        lane = state.lane(name)
        today = lane.today
        budget = budgets.get(name, 0)
        summaries.append(
            LaneSummary(
                lane=name,
                budget=budget,
                candidates=today.candidates,
                sent=today.sent,
                held_back=today.held_back,
                opening_bar=today.opening_bar if today.sent or today.counts else _opening_bar(lane, budget),
                lowest_bar=today.lowest_bar,
                highest_bar=today.highest_bar,
            )
        )
        closed = ClosedDay(day=day, counts=dict(today.counts), hours=today.hours)
        history = (*(d for d in lane.history if d.day > day - history_days), closed)
        lanes[name] = LaneState(history=history[-history_days:])
    return CapacityState(day=day + 1, lanes=lanes, base=base, carry=carry), summaries


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

    >>> from datetime import UTC
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
