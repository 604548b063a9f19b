"""When a partition group's ticks may go: caught-up proofs, idle groups, the released ticks.

``pipeline.alignment`` releases a tick once every partition of its group has provably read
past its end. A quiet partition proves that only through a *caught-up proof*: the broker's
end offset, asked after its group had read up to some effective time, once read to. And a
group whose partitions are all proven caught up and that received nothing for
``release_idle_s`` (while this worker kept reading) releases everything it holds. The
released ticks wait here, in order, until the conductor runs them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from pipeline.alignment import EventTimeAligner, ReleasedTick
from streams.records import TopicPartition

EndOffsets = Callable[[Mapping[TopicPartition, int]], Awaitable[Mapping[TopicPartition, int]]]
"""The broker's end offsets of these partitions (read from these positions), asked now."""

log = logging.getLogger(__name__)

Item = TypeVar("Item")
RELEASE_CHECK_STALL_S = 0.5  # release checks normally come every drain interval (0.2 s)
END_OFFSETS_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class CaughtUpProof:
    """The broker's end offset of a partition, asked when its group had read up to ``group_tau_s``
    and had received ``inputs`` records: once read to it, nothing sent before then is unread."""

    end_offset: int
    group_tau_s: float
    inputs: int


class TickRelease(Generic[Item]):
    """Released ticks of the aligner, in order, and the proofs and idleness that release them.

    ``caught_up`` tells cheaply (the last fetch's high-water mark, possibly stale) which
    partitions look read to the end; only those are asked ``end_offsets``.
    """

    def __init__(
        self,
        aligner: EventTimeAligner[Item],
        caught_up: Callable[[TopicPartition], bool],
        end_offsets: EndOffsets,
        release_idle_s: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._aligner = aligner
        self._caught_up = caught_up
        self._end_offsets = end_offsets
        self._release_idle_s = release_idle_s
        self._monotonic = monotonic
        self._proofs: dict[TopicPartition, CaughtUpProof] = {}
        self._inputs: dict[int, int] = {}  # partition group -> records received so far
        self._last_input: dict[int, float] = {}  # partition group -> when it last received a record
        self._last_release_check = monotonic()
        self._not_idle_before = -math.inf
        self._ready: dict[int, deque[tuple[int, ReleasedTick[Item]]]] = {}  # group -> (order, tick)
        self._released = 0  # ticks released so far: their release order
        self._waiting = 0

    def received(self, partition: int) -> None:
        """A record of this partition group arrived (accepted or not): the group is not idle."""
        self._last_input[partition] = self._monotonic()
        self._inputs[partition] = self._inputs.get(partition, 0) + 1

    def release(self) -> None:
        """Move every tick that is complete now to the released ones."""
        self._note_release_check()
        for tick in self._aligner.release(self.proven, self._idle):
            self._ready.setdefault(tick.partition, deque()).append((self._released, tick))
            self._released += 1
            self._waiting += 1

    @property
    def waiting(self) -> int:
        """How many released ticks wait to run."""
        return self._waiting

    def first_per_group(self) -> list[ReleasedTick[Item]]:
        """The first released tick of each group, in release order: later ones wait for it."""
        firsts = sorted((queue[0] for queue in self._ready.values() if queue), key=lambda entry: entry[0])
        return [tick for _, tick in firsts]

    def first_of(self, partition: int) -> ReleasedTick[Item] | None:
        """The first released tick of this group, if any."""
        queue = self._ready.get(partition)
        return queue[0][1] if queue else None

    def take(self, tick: ReleasedTick[Item]) -> None:
        """Remove this very tick, the first of its group, from the released ones."""
        queue = self._ready.get(tick.partition)
        if not queue or queue[0][1] is not tick:
            raise ValueError(f"tick {tick.tick} of group {tick.partition} is not its group's first")
        queue.popleft()
        self._waiting -= 1

    def forget(self, tps: Iterable[TopicPartition]) -> None:
        """Partitions given up: their proofs, and the released ticks of their groups, go."""
        for tp in tps:
            self._proofs.pop(tp, None)
            self._waiting -= len(self._ready.pop(tp[1], ()))

    def _note_release_check(self) -> None:
        """A long gap since the last release check means this worker itself was busy or stalled,
        and could not read either: that time does not count as the input being idle."""
        now = self._monotonic()
        if now - self._last_release_check > RELEASE_CHECK_STALL_S:
            self._not_idle_before = now
        self._last_release_check = now

    def _idle(self, partition: int) -> bool:
        """Nothing new for this partition group for ``release_idle_s`` while this worker kept reading,
        and every member's proof of being caught up was asked after the group's last record."""
        last = max(self._last_input.get(partition, -math.inf), self._not_idle_before)
        if self._monotonic() - last < self._release_idle_s:
            return False
        inputs = self._inputs.get(partition, 0)
        members = [tp for tp in self._aligner.assigned if tp[1] == partition]
        return all((proof := self._proofs.get(tp)) is not None and proof.inputs == inputs for tp in members)

    def proven(self, tp: TopicPartition) -> float | None:
        """The group time as of which this partition is proven to have read all the broker held."""
        proof = self._proofs.get(tp)
        if proof is None or self._aligner.next_received(tp) < proof.end_offset:
            return None
        return proof.group_tau_s

    async def prove_caught_up(self) -> None:
        """Ask the broker's end offsets of partitions that look caught up in groups holding events.

        A fetch's high-water mark may be older than records the other topics already
        delivered; an answer asked after them proves the partition holds nothing sent
        before them. No answer (broker busy, rebalance) proves nothing and is retried
        on the next call.
        """
        candidates = [
            tp
            for tp in sorted(self._aligner.assigned)
            if self._aligner.group_pending(tp[1]) > 0 and self._caught_up(tp)
        ]
        if not candidates:
            return
        asked = {tp[1]: (self._aligner.group_tau_s(tp[1]), self._inputs.get(tp[1], 0)) for tp in candidates}
        try:
            positions = {tp: self._aligner.next_received(tp) for tp in candidates}
            ends = await asyncio.wait_for(self._end_offsets(positions), END_OFFSETS_TIMEOUT_S)
        except Exception as exc:  # no answer is no proof, and the next call asks again
            log.debug("end offsets not available: %r", exc)
            return
        for tp in candidates:
            end = ends.get(tp)
            if end is not None and self._aligner.owns(tp):  # not revoked while asking
                group_tau_s, inputs = asked[tp[1]]
                self._proofs[tp] = CaughtUpProof(end, group_tau_s, inputs)
