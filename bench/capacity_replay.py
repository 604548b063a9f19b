"""The daily capacity replayed offline: a captured candidate stream through ``choose``/``close_day``.

A capped worker's choice depends only on the stream of candidates each partition group
sees (their priorities, event times and ticks), so it can be replayed without Kafka or
Redis: per group, tick by tick in event-time order with the day's sweep last, the state
carried across days, exactly as ``pipeline.processor`` calls the policy. The integration
test (``tests/integration/test_capacity.py``) checks that this replay sends exactly what
its capped worker sent, and that ``CANDIDATES_FIXTURE`` still holds its candidate stream
(rewritten with ``write_candidates`` when the simulator or the alert policy change). So
a variant of the bar is measured in seconds (``python -m bench.capacity_replay``).

An alert carries the time its customer's features were current (``as_of``), not its
tick: an event that arrives after later events of its topic is taken in a later tick
(the tick of its effective time, see ``pipeline.alignment``). ``alert_ticks`` finds each
alert's tick from the input events.
"""

from __future__ import annotations

import argparse
import gzip
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiokafka.partitioner import murmur2

from policy.capacity import choose, close_day
from policy.capacity_budget import CapacityConfig
from policy.capacity_state import Candidate, CapacityState
from schemas.event_days import DAY_S, day_date, day_of_s
from schemas.outputs import ValueTier

CANDIDATES_FIXTURE = Path(__file__).with_name("capacity_candidates.csv.gz")
"""The integration test's candidates: 700 customers x 36 days, seed 23, 4 groups, hourly ticks."""

TICK_S = 3_600
KEY_CHARS = 8


@dataclass(frozen=True, slots=True)
class StreamedCandidate:
    """A candidate alert as its group saw it: in tick ``tick`` (None: the sweep of its day)."""

    group: int
    tick: int | None
    event_s: float
    priority: float
    tier: str
    key: str

    @property
    def day(self) -> int:
        """The event-time day the alert is dated on (what the daily cap and the top N count by)."""
        return day_of_s(self.event_s)

    @property
    def step_day(self) -> int:
        """The day whose processing takes it: its tick's day, or the swept day."""
        return self.day if self.tick is None else self.tick * TICK_S // DAY_S


def kafka_partition(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a customer key.

    >>> kafka_partition("C0000001", 4) in range(4)
    True
    """
    hashed: int = murmur2(key.encode())
    return (hashed & 0x7FFFFFFF) % partitions


def candidate_key(alert_id: str) -> str:
    """The fixture's key of an alert: its id's prefix (it only breaks ties within a tick).

    >>> candidate_key("d13f740fc1aaae497ed7fc89f00db1a7")
    'd13f740f'
    """
    return alert_id[:KEY_CHARS]


def alert_ticks(
    events: Iterable[Mapping[str, object]], alerts: Iterable[Mapping[str, object]], partitions: int
) -> dict[str, int | None]:
    """Each alert's tick (None: raised by a day's sweep, dated at the day's last microsecond).

    ``events`` are the simulator's events in production order: an event's effective time is
    the latest event time of its topic partition so far, and it is applied in that tick. An
    alert dated ``as_of`` is raised in the first tick after which its customer's latest
    applied event time is ``as_of``.
    """
    reached: dict[tuple[str, int], float] = defaultdict(float)
    applied: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for event in events:
        customer = str(event["customer_id"])
        topic = (str(event["type"]), kafka_partition(customer, partitions))
        event_s = datetime.fromisoformat(str(event["event_time"])).timestamp()
        reached[topic] = max(reached[topic], event_s)
        applied[customer].append((int(reached[topic] // TICK_S), event_s))
    ticks: dict[str, int | None] = {}
    for alert in alerts:
        as_of = datetime.fromisoformat(str(alert["event_time"])).timestamp()
        ticks[str(alert["alert_id"])] = None
        if (as_of + 1e-6) % DAY_S == 0:
            continue
        latest = -math.inf
        for tick, event_s in sorted(applied[str(alert["customer_id"])]):
            latest = max(latest, event_s)
            if latest == as_of:
                ticks[str(alert["alert_id"])] = tick
                break
    return ticks


def streamed_candidates(
    alerts: Iterable[Mapping[str, object]], ticks: Mapping[str, int | None], partitions: int
) -> list[StreamedCandidate]:
    """The uncapped run's alerts as the candidates each group saw."""
    return [
        StreamedCandidate(
            group=kafka_partition(str(alert["customer_id"]), partitions),
            tick=ticks[str(alert["alert_id"])],
            event_s=datetime.fromisoformat(str(alert["event_time"])).timestamp(),
            priority=float(alert["priority"]),  # type: ignore[arg-type]
            tier=str(alert["value_tier"]),
            key=candidate_key(str(alert["alert_id"])),
        )
        for alert in alerts
    ]


def write_candidates(path: Path, candidates: Sequence[StreamedCandidate]) -> None:
    lines = [
        f"{c.group},{'' if c.tick is None else c.tick},{c.event_s!r},{c.priority!r},{c.tier},{c.key}\n"
        for c in sorted(candidates, key=lambda c: (c.group, c.event_s, c.key))
    ]
    with gzip.open(path, "wt", encoding="ascii") as file:
        file.write("group,tick,event_s,priority,tier,key\n")
        file.writelines(lines)


def read_candidates(path: Path = CANDIDATES_FIXTURE) -> list[StreamedCandidate]:
    with gzip.open(path, "rt", encoding="ascii") as file:
        next(file)
        rows = [line.rstrip("\n").split(",") for line in file]
    return [
        StreamedCandidate(int(g), None if t == "" else int(t), float(e), float(p), tier, key)
        for g, t, e, p, tier, key in rows
    ]


@dataclass(frozen=True, slots=True)
class GroupDay:
    """How one group spent one day: its budget, what it sent and, for each candidate it held
    back that its own true top ``budget`` held, whether its budget was already spent."""

    group: int
    day: int
    budget: int
    candidates: int
    sent: int
    missed_budget_gone: int
    missed_below_bar: int


@dataclass(frozen=True, slots=True)
class Replay:
    sent: frozenset[str]
    group_days: tuple[GroupDay, ...]


Choose = Callable[..., tuple[CapacityState, frozenset[str]]]
CloseDay = Callable[..., tuple[CapacityState, object]]


def replay(
    candidates: Sequence[StreamedCandidate],
    config: CapacityConfig,
    partitions: int,
    choose_batch: Choose = choose,
    close: CloseDay = close_day,
) -> Replay:
    """The candidates each group sends, deciding tick by tick as the worker does.

    Every group closes every day from the first day any group saw to the last but one
    (the last day stays open, as when the input ends).
    """
    first = min(c.step_day for c in candidates)
    last = max(c.step_day for c in candidates)
    steps: dict[tuple[int, int], dict[tuple[bool, int], list[StreamedCandidate]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for candidate in candidates:  # per group and day: the ticks in order, then the sweep
        step = (candidate.tick is None, candidate.tick or 0)
        steps[(candidate.group, candidate.step_day)][step].append(candidate)
    sent: set[str] = set()
    group_days = []
    for group in range(partitions):
        state = CapacityState.empty()
        for day in range(first, last + 1):
            budgets = config.budgets(group, partitions, day)
            budget = sum(budgets.values())
            taken: list[StreamedCandidate] = []
            spent_before: dict[str, int] = {}
            day_steps = steps.get((group, day), {})
            for step in sorted(day_steps):
                batch = day_steps[step]
                at = datetime.fromtimestamp(max(c.event_s for c in batch), UTC)
                before = sum(lane.today.sent for lane in state.lanes.values()) if state.day == day else 0
                for candidate in batch:
                    spent_before[candidate.key] = before
                lanes = {c.key: config.lane(ValueTier(c.tier)) for c in batch}
                sent.update(key for key, lane in lanes.items() if lane is None)
                capped = [Candidate(c.key, c.priority, lane, c.day) for c in batch if (lane := lanes[c.key])]
                state, chosen = choose_batch(state, budgets, capped, at, last_of_day=step[0])
                sent |= chosen
                taken.extend(batch)
            if day < last:
                state, _ = close(state, day, budgets, config.history_days)
            best = sorted(taken, key=lambda c: (-c.priority, c.key))[:budget]
            missed = [c for c in best if c.key not in sent]
            group_days.append(
                GroupDay(
                    group=group,
                    day=day,
                    budget=budget,
                    candidates=len(taken),
                    sent=sum(1 for c in taken if c.key in sent),
                    missed_budget_gone=sum(1 for c in missed if spent_before[c.key] >= budget),
                    missed_below_bar=sum(1 for c in missed if spent_before[c.key] < budget),
                )
            )
    return Replay(frozenset(sent), tuple(group_days))


def top_share(candidates: Sequence[float], sent: Sequence[float], n: int) -> float:
    """Share of the day's top n (by priority, ties counted in) that was sent.

    >>> top_share([5.0, 4.0, 3.0, 1.0], [5.0, 3.0], 2), top_share([2.0], [2.0], 5)
    (0.5, 1.0)
    """
    ranked = sorted(candidates, reverse=True)
    if len(ranked) <= n:
        return len(sent) / max(1, len(ranked))
    nth = ranked[n - 1]
    return min(n, sum(1 for priority in sent if priority >= nth)) / n


def daily_shares(
    candidates: Sequence[StreamedCandidate], sent: Iterable[str], capacity: int
) -> dict[int, float]:
    """Per event-time day, the share of the day's top ``capacity`` that was sent."""
    chosen = set(sent)
    by_day: dict[int, list[StreamedCandidate]] = defaultdict(list)
    for candidate in candidates:
        by_day[candidate.day].append(candidate)
    return {
        day: top_share(
            [c.priority for c in day_candidates],
            [c.priority for c in day_candidates if c.key in chosen],
            capacity,
        )
        for day, day_candidates in sorted(by_day.items())
    }


def per_group_bound(
    candidates: Sequence[StreamedCandidate], config: CapacityConfig, partitions: int
) -> dict[int, float]:
    """Per day, the share of the day's top N that each group's own true top (its budget) holds:
    the best any choice made by groups alone can do."""
    chosen: list[str] = []
    by_group_day: dict[tuple[int, int], list[StreamedCandidate]] = defaultdict(list)
    for candidate in candidates:
        by_group_day[(candidate.group, candidate.day)].append(candidate)
    for (group, day), group_candidates in by_group_day.items():
        budget = sum(config.budgets(group, partitions, day).values())
        ranked = sorted(group_candidates, key=lambda c: (-c.priority, c.key))
        chosen.extend(c.key for c in ranked[:budget])
    return daily_shares(candidates, chosen, config.daily_alerts or 0)


def report(
    candidates: Sequence[StreamedCandidate], config: CapacityConfig, partitions: int, result: Replay
) -> str:
    """Per day: candidates, sent, the top-N share, the per-group bound, and the group-level misses
    (of each group's own top, held back after its budget was gone / held back below the bar)."""
    capacity = config.daily_alerts or 0
    shares = daily_shares(candidates, result.sent, capacity)
    bound = per_group_bound(candidates, config, partitions)
    counts: dict[int, int] = defaultdict(int)
    for candidate in candidates:
        counts[candidate.day] += 1
    lines = ["day         candidates  sent  share  bound  missed: budget gone  below bar  sent per group"]
    for day, share in shares.items():
        group_days = [g for g in result.group_days if g.day == day]
        sent = sum(g.sent for g in group_days)
        gone = sum(g.missed_budget_gone for g in group_days)
        below = sum(g.missed_below_bar for g in group_days)
        per_group = " ".join(str(g.sent) for g in group_days)
        lines.append(
            f"{day_date(day)}  {counts[day]:10d}  {sent:4d}  {share:.3f}  {bound[day]:.3f}"
            f"  {gone:19d}  {below:9d}  {per_group}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--capacity", type=int, default=280)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--warm-up-days", type=int, default=7)
    parser.add_argument("--candidates", type=Path, default=CANDIDATES_FIXTURE)
    args = parser.parse_args(argv)
    candidates = read_candidates(args.candidates)
    config = CapacityConfig(daily_alerts=args.capacity)
    result = replay(candidates, config, args.partitions)
    print(report(candidates, config, args.partitions, result))
    steady = list(daily_shares(candidates, result.sent, args.capacity).values())[args.warm_up_days :]
    print(f"after {args.warm_up_days} days: mean {sum(steady) / len(steady):.3f}, min {min(steady):.3f}")


if __name__ == "__main__":
    main()
