"""Tick release: a quiet partition stalls its group until proven caught up, and idle groups let go."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from pipeline.alignment import EventTimeAligner
from pipeline.release import TickRelease
from streams.records import TopicPartition

CALLS, TOPUPS = ("calls", 0), ("topups", 0)
HOUR_S = 3600.0


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


class Broker:
    """End offsets as the broker would answer them, and whether it answers at all."""

    def __init__(self) -> None:
        self.ends: dict[TopicPartition, int] = {}
        self.asked: list[dict[TopicPartition, int]] = []
        self.down = False

    async def end_offsets(self, positions: Mapping[TopicPartition, int]) -> Mapping[TopicPartition, int]:
        self.asked.append(dict(positions))
        if self.down:
            raise ConnectionError("broker busy")
        return {tp: self.ends[tp] for tp in positions if tp in self.ends}


def release_over(
    broker: Broker, clock: Clock, caught_up: set[TopicPartition]
) -> tuple[EventTimeAligner[str], TickRelease[str]]:
    """Calls and top-ups of partition 0, a one-hour tick, a six-hour quiet-partition allowance."""
    aligner = EventTimeAligner[str](timedelta(hours=1), timedelta(days=3), quiet_partition=timedelta(hours=6))
    for tp in (CALLS, TOPUPS):
        aligner.assign(tp, None)
    release = TickRelease(
        aligner, caught_up.__contains__, broker.end_offsets, release_idle_s=2.0, monotonic=clock
    )
    return aligner, release


def receive(
    aligner: EventTimeAligner[str], release: TickRelease[str], tp: TopicPartition, at_s: float
) -> None:
    offset = aligner.next_received(tp)
    _, tau_s = aligner.admit(tp, offset, at_s)
    aligner.add(tp, offset, tau_s, f"{tp[0]}-{offset}")
    release.received(tp[1])


def released_tokens(release: TickRelease[str]) -> list[list[str]]:
    ticks = release.first_per_group()
    for tick in ticks:
        release.take(tick)
    return [[item.token for item in tick.items] for tick in ticks]


class TestTickRelease:
    async def test_a_quiet_partition_holds_its_group_until_proven_caught_up(self) -> None:
        """Calls reach hour 10, top-ups are silent: nothing goes until top-ups are proven read to the end."""
        broker, clock = Broker(), Clock()
        aligner, release = release_over(broker, clock, caught_up={TOPUPS})
        receive(aligner, release, CALLS, 1 * HOUR_S)
        receive(aligner, release, CALLS, 10 * HOUR_S)
        release.release()
        assert release.waiting == 0
        broker.ends[TOPUPS] = 0
        await release.prove_caught_up()
        release.release()
        assert released_tokens(release) == [["calls-0"]]  # hour 1 is before 10 h - 6 h; hour 10 is not

    async def test_no_answer_from_the_broker_proves_nothing(self) -> None:
        """A failed end-offset request leaves the partition unproven, and the next call asks again."""
        broker, clock = Broker(), Clock()
        aligner, release = release_over(broker, clock, caught_up={TOPUPS})
        receive(aligner, release, CALLS, 1 * HOUR_S)
        receive(aligner, release, CALLS, 10 * HOUR_S)
        broker.down = True
        await release.prove_caught_up()
        assert release.proven(TOPUPS) is None
        broker.down = False
        broker.ends[TOPUPS] = 0
        await release.prove_caught_up()
        assert release.proven(TOPUPS) == 10 * HOUR_S
        assert len(broker.asked) == 2

    async def test_an_idle_group_proven_after_its_last_record_releases_everything(self) -> None:
        """Both partitions proven after the last record and quiet for 2 s: the last tick goes too."""
        broker, clock = Broker(), Clock()
        aligner, release = release_over(broker, clock, caught_up={CALLS, TOPUPS})
        receive(aligner, release, CALLS, 1 * HOUR_S)
        receive(aligner, release, TOPUPS, 1 * HOUR_S + 60)
        broker.ends.update({CALLS: 1, TOPUPS: 1})
        await release.prove_caught_up()
        for now_s in (0.4, 0.8, 1.2, 1.6):  # release checks come every drain interval
            clock.now_s = now_s
            release.release()
        assert release.waiting == 0  # not idle for long enough yet
        clock.now_s = 2.0
        release.release()
        assert released_tokens(release) == [["calls-0", "topups-0"]]

    async def test_a_record_after_the_proof_keeps_the_group_from_idling(self) -> None:
        """A proof asked before the group's latest record does not count for idleness."""
        broker, clock = Broker(), Clock()
        aligner, release = release_over(broker, clock, caught_up={CALLS, TOPUPS})
        receive(aligner, release, CALLS, 1 * HOUR_S)
        broker.ends.update({CALLS: 1, TOPUPS: 0})
        await release.prove_caught_up()
        receive(aligner, release, TOPUPS, 1 * HOUR_S + 60)
        for now_s in (0.4, 0.8, 1.2, 1.6, 2.0, 2.4, 2.8):
            clock.now_s = now_s
            release.release()
        assert release.waiting == 0

    async def test_time_this_worker_was_stalled_does_not_count_as_idle(self) -> None:
        """A gap between release checks longer than the stall limit restarts the idle wait."""
        broker, clock = Broker(), Clock()
        aligner, release = release_over(broker, clock, caught_up={CALLS, TOPUPS})
        receive(aligner, release, CALLS, 1 * HOUR_S)
        broker.ends.update({CALLS: 1, TOPUPS: 0})
        await release.prove_caught_up()
        clock.now_s = 5.0  # the worker itself was busy for 5 s
        release.release()
        assert release.waiting == 0

    async def test_forgetting_a_partition_drops_its_proof_and_its_groups_released_ticks(self) -> None:
        """Revoked: the released ticks of its group and its caught-up proof are gone."""
        broker, clock = Broker(), Clock()
        aligner, release = release_over(broker, clock, caught_up={TOPUPS})
        receive(aligner, release, CALLS, 1 * HOUR_S)
        receive(aligner, release, CALLS, 10 * HOUR_S)
        broker.ends[TOPUPS] = 0
        await release.prove_caught_up()
        release.release()
        assert release.waiting == 1
        release.forget([TOPUPS])
        assert (release.waiting, release.proven(TOPUPS)) == (0, None)
