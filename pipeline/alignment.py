"""Event-time alignment of the four co-partitioned input topics.

Each topic is consumed by its own agent, at its own pace: during a replay of history
the top-up topic may be weeks of event time ahead of the call topic. Scoring a
customer whose top-ups are applied up to day 60 but whose calls only up to day 10
would see a usage collapse that never happened. So accepted events wait here and are
released in *ticks* of event time, in (tick, topic, partition, offset) order, once
every partition of the same partition number has provably read past the tick's end.

Each event gets an effective time ``tau = max(event_time, latest tau before it in its
partition)``. A partition is read in offset order, so tau, the tick, and whether an
event is too late depend only on the records, never on timing: the same records give
the same ticks, scores and alerts in every run, live or replayed.

A partition's later records can never land in a tick before the one of its latest
tau, so "read past" is proved by tau alone; having read up to the high-water mark
proves nothing (the producer may be about to send more of the same tick). Two
exceptions keep a quiet partition from stalling its group, both resting on a *proof of
being caught up*: the broker's end offset, asked after the group had read up to some
effective time ``T``, shows nothing unread. Records produced after that answer were
produced after the group's records up to ``T``, so (with a topic's records sent at most
its *out-of-orderness* after their event time) they lie after ``T - out_of_orderness``.
A proven partition trailing its group is therefore taken to be at that watermark; and
a group whose partitions are all proven caught up and idle (no new record for a short
wall-clock grace, decided by the caller) releases everything it holds. A fetch's
high-water mark is no such proof: it may predate records the other topics have
already delivered.

A record that breaks its topic's bound can find its tick already released. It keeps its
own event time (features age and window it by that) and is released with the group's
next release, numbered as the group's latest released tick: never before a tick already
run, never in a tick after the group's time when it was read. ``add`` says it was late.
Its placement depends on when the watermark passed, so only such records may differ
between a live run and a replay; on-time records never do.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Generic, TypeVar

from streams.records import PartitionProgress, TopicPartition

Token = TypeVar("Token")


class Admission(Enum):
    ACCEPT = "accept"
    TOO_LATE = "too_late"
    TOO_FAR_AHEAD = "too_far_ahead"
    ALREADY_DONE = "already_done"


@dataclass(frozen=True, slots=True)
class Pending(Generic[Token]):
    tick: int
    tau_s: float
    topic: str
    partition: int
    offset: int
    token: Token


@dataclass(frozen=True, slots=True)
class ReleasedTick(Generic[Token]):
    """One tick of one partition group, in release order, with each partition's progress after it."""

    partition: int
    tick: int
    items: tuple[Pending[Token], ...]
    progress: dict[TopicPartition, PartitionProgress]


class _PartitionState(Generic[Token]):
    __slots__ = ("done_before", "max_tau_s", "next_received", "pending", "released")

    def __init__(self, restored: PartitionProgress | None) -> None:
        self.done_before = restored.next_offset if restored else 0
        self.max_tau_s = restored.tau_s if restored else -math.inf
        self.next_received = self.done_before
        self.pending: deque[Pending[Token]] = deque()
        self.released = restored


class EventTimeAligner(Generic[Token]):
    """Holds accepted events until their tick is complete in every busy co-partition.

    >>> aligner = EventTimeAligner[str](tick=timedelta(hours=1), allowed_lateness=timedelta(days=3))
    >>> for tp in [("calls", 0), ("topups", 0)]:
    ...     aligner.assign(tp, None)
    >>> aligner.admit(("calls", 0), 0, 3600.0 * 5 + 10)
    (<Admission.ACCEPT: 'accept'>, 18010.0)
    >>> aligner.add(("calls", 0), 0, 18010.0, "call-a")
    False
    >>> aligner.release(lambda tp: False)  # top-ups not read yet: nothing is complete
    []
    >>> aligner.admit(("topups", 0), 0, 3600.0 * 7)
    (<Admission.ACCEPT: 'accept'>, 25200.0)
    >>> aligner.add(("topups", 0), 0, 25200.0, "topup-b")
    False
    >>> aligner.release(lambda tp: False)  # calls have not passed 06:00 yet
    []
    >>> aligner.admit(("calls", 0), 1, 3600.0 * 8)[0]
    <Admission.ACCEPT: 'accept'>
    >>> aligner.add(("calls", 0), 1, 28800.0, "call-c")
    False
    >>> [(t.tick, [i.token for i in t.items]) for t in aligner.release(lambda tp: False)]
    [(5, ['call-a'])]
    >>> aligner.release(lambda tp: True)  # caught up proves nothing: more of tick 7 may come
    []
    >>> [(t.tick, [i.token for i in t.items]) for t in aligner.release(lambda tp: True, lambda p: True)]
    [(7, ['topup-b']), (8, ['call-c'])]
    """

    def __init__(
        self,
        tick: timedelta,
        allowed_lateness: timedelta,
        out_of_orderness: timedelta | Mapping[str, timedelta] = timedelta(seconds=10),
        max_ahead: timedelta | None = None,
    ) -> None:
        """``out_of_orderness``: how long after its event time a record of a topic may be sent
        and still be on time; one bound for all topics, or one per topic name (others: 0)."""
        self._tick_s = tick.total_seconds()
        self._lateness_s = allowed_lateness.total_seconds()
        if isinstance(out_of_orderness, timedelta):
            self._default_bound_s = out_of_orderness.total_seconds()
            self._bounds_s: dict[str, float] = {}
        else:
            self._default_bound_s = 0.0
            self._bounds_s = {topic: bound.total_seconds() for topic, bound in out_of_orderness.items()}
        self._max_ahead_s = math.inf if max_ahead is None else max_ahead.total_seconds()
        self._partitions: dict[TopicPartition, _PartitionState[Token]] = {}
        self._released_tick: dict[int, int] = {}  # partition group -> its latest released tick

    def assign(self, tp: TopicPartition, restored: PartitionProgress | None) -> None:
        """Start owning a partition, continuing from its recorded progress.

        The group's latest released tick is at least the one its recorded progress lies in,
        so a record late for it after a restart is placed as it would have been live.
        """
        self._partitions[tp] = _PartitionState(restored)
        if restored is not None and restored.tau_s > -math.inf:
            tick = int(restored.tau_s // self._tick_s)
            self._released_tick[tp[1]] = max(self._released_tick.get(tp[1], tick), tick)

    def revoke(self, tp: TopicPartition) -> list[Pending[Token]]:
        """Stop owning a partition; its pending events are returned (they were not acknowledged)."""
        state = self._partitions.pop(tp, None)
        if not any(owned[1] == tp[1] for owned in self._partitions):
            self._released_tick.pop(tp[1], None)
        return list(state.pending) if state else []

    def out_of_orderness_s(self, topic: str) -> float:
        """How long after its event time a record of this topic may be sent and still be on time."""
        return self._bounds_s.get(topic, self._default_bound_s)

    @property
    def lateness_s(self) -> float:
        return self._lateness_s

    def tick_start_s(self, tick: int) -> float:
        """Event time (epoch seconds) at which a tick begins."""
        return tick * self._tick_s

    @property
    def assigned(self) -> frozenset[TopicPartition]:
        return frozenset(self._partitions)

    def owns(self, tp: TopicPartition) -> bool:
        return tp in self._partitions

    def admit(
        self, tp: TopicPartition, offset: int, event_time_s: float, produced_at_s: float | None = None
    ) -> tuple[Admission, float]:
        """Decide an event's fate and effective time; advances the partition's effective time.

        An event more than ``max_ahead`` ahead of both the partition's effective time and
        its record's broker timestamp (``produced_at_s``) is refused and moves no clock:
        one wrong date must not make every later event of the partition "too late".
        """
        state = self._partitions[tp]
        if offset < state.next_received:
            # handled before this ownership, or delivered twice around a rebalance
            return Admission.ALREADY_DONE, event_time_s
        state.next_received = offset + 1
        reference_s = state.max_tau_s if produced_at_s is None else max(state.max_tau_s, produced_at_s)
        if event_time_s > reference_s + self._max_ahead_s:
            return Admission.TOO_FAR_AHEAD, state.max_tau_s
        if event_time_s > state.max_tau_s:
            state.max_tau_s = event_time_s
            return Admission.ACCEPT, event_time_s
        if event_time_s < state.max_tau_s - self._lateness_s:
            return Admission.TOO_LATE, state.max_tau_s
        return Admission.ACCEPT, state.max_tau_s

    def received(self, tp: TopicPartition, offset: int) -> None:
        """Note a record that carries no event time (rejected before admission)."""
        state = self._partitions[tp]
        state.next_received = max(state.next_received, offset + 1)

    def add(self, tp: TopicPartition, offset: int, tau_s: float, token: Token) -> bool:
        """Queue an admitted event; offsets of one partition must be added in order.

        Returns whether it came too late for its own tick, which its group had already
        released: it then goes out again under the group's latest released tick (a second
        part of it, or the same day's later tick), not after the group's own time.
        """
        state = self._partitions[tp]
        tick = int(tau_s // self._tick_s)
        released = self._released_tick.get(tp[1])
        late = released is not None and tick <= released
        if released is not None and late:
            tick = released
        state.pending.append(Pending(tick, tau_s, tp[0], tp[1], offset, token))
        return late

    def next_received(self, tp: TopicPartition) -> int:
        return self._partitions[tp].next_received

    def done_before(self, tp: TopicPartition) -> int:
        """Records below this offset were fully handled by an earlier owner."""
        return self._partitions[tp].done_before

    def pending_count(self, tp: TopicPartition) -> int:
        state = self._partitions.get(tp)
        return len(state.pending) if state else 0

    def release(
        self,
        proven: Callable[[TopicPartition], float | None],
        idle: Callable[[int], bool] = lambda partition: False,
    ) -> list[ReleasedTick[Token]]:
        """Every complete tick, per partition group, in tick order; removes them from the queues.

        ``proven(tp)``: the group's effective time as of which the partition is proven to
        have read everything the broker held (None: no such proof).
        ``idle(partition)``: the group received nothing new for a while; with every
        member proven caught up, all its ticks are released (end of input, pause in traffic).
        """
        released: list[ReleasedTick[Token]] = []
        for partition, members in sorted(self._groups().items()):
            limit = self._limit_tick(members, proven, idle(partition))
            released.extend(self._release_group(partition, members, limit))
        return released

    def is_ahead(self, tp: TopicPartition, proven: Callable[[TopicPartition], float | None]) -> bool:
        """Whether this partition has read past the tick its group is waiting to complete.

        The partition that is not ahead is the one holding its group back (``/alignment``
        shows which).
        """
        state = self._partitions.get(tp)
        if state is None or state.max_tau_s == -math.inf:
            return False
        members = self._groups()[tp[1]]
        return state.max_tau_s // self._tick_s > self._limit_tick(members, proven, False)

    def group_tau_s(self, partition: int) -> float:
        """The latest effective time any member of this partition group has read."""
        taus = [state.max_tau_s for tp, state in self._partitions.items() if tp[1] == partition]
        return max(taus, default=-math.inf)

    def group_pending(self, partition: int) -> int:
        """Events of this partition group waiting for their tick."""
        return sum(len(state.pending) for tp, state in self._partitions.items() if tp[1] == partition)

    def _groups(self) -> dict[int, list[TopicPartition]]:
        groups: dict[int, list[TopicPartition]] = {}
        for tp in sorted(self._partitions):
            groups.setdefault(tp[1], []).append(tp)
        return groups

    def _limit_tick(
        self, members: list[TopicPartition], proven: Callable[[TopicPartition], float | None], idle: bool
    ) -> float:
        """Ticks below this one are complete in every member of the group.

        A member has read past every tick before the one of its latest tau. A member
        proven caught up as of group time ``T`` counts as at ``T`` minus its topic's
        out-of-orderness (never beyond the group's tau); an idle group whose members are all
        proven is complete.
        """
        proofs = [proven(tp) for tp in members]
        if idle and all(proof is not None for proof in proofs):
            return math.inf
        group_tau_s = max(self._partitions[tp].max_tau_s for tp in members)
        horizon_s = math.inf
        for tp, proof in zip(members, proofs, strict=True):
            tau_s = self._partitions[tp].max_tau_s
            if proof is not None:
                tau_s = max(tau_s, min(proof, group_tau_s) - self.out_of_orderness_s(tp[0]))
            horizon_s = min(horizon_s, tau_s)
        if horizon_s == -math.inf:
            return -math.inf
        return horizon_s // self._tick_s

    def _release_group(
        self, partition: int, members: list[TopicPartition], limit: float
    ) -> list[ReleasedTick[Token]]:
        ticks: dict[int, list[Pending[Token]]] = {}
        for tp in members:
            queue = self._partitions[tp].pending
            while queue and queue[0].tick < limit:
                item = queue.popleft()
                ticks.setdefault(item.tick, []).append(item)
        result = []
        for tick in sorted(ticks):
            items = ticks[tick]
            items.sort(key=lambda item: (item.topic, item.offset))
            progress: dict[TopicPartition, PartitionProgress] = {}
            for item in items:
                progress[(item.topic, item.partition)] = PartitionProgress(item.offset + 1, item.tau_s)
            for tp, after in progress.items():
                self._partitions[tp].released = after
            result.append(ReleasedTick(partition, tick, tuple(items), progress))
            self._released_tick[partition] = max(self._released_tick.get(partition, tick), tick)
        return result
