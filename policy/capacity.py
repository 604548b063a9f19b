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

>>> from policy.capacity_budget import CapacityConfig
>>> config = CapacityConfig(daily_alerts=2)
>>> from datetime import UTC
>>> start = datetime(2026, 3, 2, 9, tzinfo=UTC)
>>> batch = [Candidate("a", 50.0, "all"), Candidate("b", 10.0, "all"), Candidate("c", 30.0, "all")]
>>> state, sent = choose(CapacityState.empty(), {"all": 2}, batch, start, last_of_day=True)
>>> sorted(sent), state.lanes["all"].today.sent, state.lanes["all"].today.held_back
(['a', 'c'], 2, 1)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from policy.capacity_state import (
    HOURS,
    Candidate,
    CapacityState,
    ClosedDay,
    LaneDay,
    LaneState,
    LaneSummary,
)
from schemas.event_days import DAY_S, day_of

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


