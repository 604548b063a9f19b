"""Event-time alignment: the same records give the same ticks, however the topics interleave."""

from __future__ import annotations

import math
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.alignment import Admission, EventTimeAligner, PartitionProgress, TopicPartition

TICK = timedelta(hours=1)
LATENESS = timedelta(hours=5)
TOPICS = ("calls", "complaints", "topups")


@st.composite
def partition_logs(draw: st.DrawFn) -> dict[TopicPartition, list[float]]:
    """Event times (seconds) per partition, mostly rising, some late, a few beyond the lateness."""
    logs: dict[TopicPartition, list[float]] = {}
    for topic in TOPICS:
        for partition in (0, 1):
            times, now = [], 0.0
            for _ in range(draw(st.integers(0, 25))):
                now += draw(st.floats(0, 3 * 3600))
                delay = draw(st.sampled_from([0.0, 0.0, 0.0, 1800.0, 4 * 3600.0, 8 * 3600.0]))
                times.append(max(0.0, now - delay))
            logs[(topic, partition)] = times
    return logs


Released = list[tuple[int, int, str, int]]


def reference(logs: dict[TopicPartition, list[float]]) -> tuple[Released, set[tuple[str, int, int]]]:
    """Brute force: per partition the running max decides lateness and tick; then sort."""
    released, late = [], set()
    for (topic, partition), times in logs.items():
        latest = -math.inf
        for offset, t in enumerate(times):
            if t < latest - LATENESS.total_seconds():
                late.add((topic, partition, offset))
                continue
            latest = max(latest, t)
            released.append((partition, int(latest // TICK.total_seconds()), topic, offset))
    return sorted(released), late


def run(logs: dict[TopicPartition, list[float]], order: list[TopicPartition], release_every: int):
    aligner = EventTimeAligner[tuple[str, int]](TICK, LATENESS)
    for tp in logs:
        aligner.assign(tp, None)
    cursors = dict.fromkeys(logs, 0)
    released, late, ticks_seen = [], set(), []
    steps = 0

    def drain(caught_up: bool) -> None:
        for tick in aligner.release(lambda tp: caught_up or cursors[tp] >= len(logs[tp])):
            ticks_seen.append((tick.partition, tick.tick))
            released.extend((tick.partition, tick.tick, item.topic, item.offset) for item in tick.items)

    for tp in order:
        if cursors[tp] >= len(logs[tp]):
            continue
        offset = cursors[tp]
        admission, tau = aligner.admit(tp, offset, logs[tp][offset])
        cursors[tp] += 1
        if admission is Admission.TOO_LATE:
            late.add((tp[0], tp[1], offset))
        else:
            aligner.add(tp, offset, tau, (tp[0], offset))
        steps += 1
        if steps % release_every == 0:
            drain(caught_up=False)
    for tp, times in logs.items():  # whatever the schedule did not reach
        while cursors[tp] < len(times):
            offset = cursors[tp]
            admission, tau = aligner.admit(tp, offset, times[offset])
            cursors[tp] += 1
            if admission is Admission.TOO_LATE:
                late.add((tp[0], tp[1], offset))
            else:
                aligner.add(tp, offset, tau, (tp[0], offset))
    drain(caught_up=True)
    return released, late, ticks_seen


class TestEventTimeAligner:
    @settings(max_examples=150, deadline=None)
    @given(logs=partition_logs(), data=st.data())
    def test_release_order_does_not_depend_on_how_partitions_interleave(self, logs, data) -> None:
        """Any interleaving and drain schedule releases the reference order, each tick exactly once."""
        tps = sorted(tp for tp, times in logs.items() for _ in times)
        order = data.draw(st.permutations(tps))
        released, late, ticks_seen = run(logs, order, data.draw(st.integers(1, 7)))
        expected, expected_late = reference(logs)
        assert late == expected_late
        assert sorted(released) == expected
        for partition in {r[0] for r in released}:
            group = [r for r in released if r[0] == partition]
            assert group == sorted(group), "a group's events left out of (tick, topic, offset) order"
        assert len(ticks_seen) == len(set(ticks_seen)), "a tick was released in two parts"

    def test_restored_progress_skips_handled_offsets_and_keeps_effective_time(self) -> None:
        """After a restart, offsets below the recorded progress are done and late events stay late."""
        aligner = EventTimeAligner[str](TICK, LATENESS)
        aligner.assign(("calls", 0), PartitionProgress(next_offset=10, tau_s=100_000.0))
        assert aligner.admit(("calls", 0), 9, 1.0)[0] is Admission.ALREADY_DONE
        assert aligner.admit(("calls", 0), 10, 100_000.0 - 6 * 3600)[0] is Admission.TOO_LATE
        assert aligner.admit(("calls", 0), 11, 99_000.0) == (Admission.ACCEPT, 100_000.0)

    def test_partition_holding_the_group_back_is_not_ahead(self) -> None:
        """The partition that has not read past the incomplete tick is the one holding its group back."""
        aligner = EventTimeAligner[str](TICK, LATENESS)
        for tp in [("calls", 0), ("topups", 0)]:
            aligner.assign(tp, None)
        aligner.admit(("calls", 0), 0, 3600.0)
        aligner.admit(("topups", 0), 0, 30 * 3600.0)
        assert not aligner.is_ahead(("calls", 0), lambda tp: False)
        assert aligner.is_ahead(("topups", 0), lambda tp: False)

    def test_caught_up_partitions_do_not_hold_back_the_group(self) -> None:
        """A quiet topic that has read everything lets the others' ticks through."""
        aligner = EventTimeAligner[str](TICK, LATENESS)
        for tp in [("calls", 0), ("lifecycle", 0)]:
            aligner.assign(tp, None)
        aligner.admit(("calls", 0), 0, 10.0)
        aligner.add(("calls", 0), 0, 10.0, "call")
        aligner.admit(("calls", 0), 1, 7300.0)
        aligner.add(("calls", 0), 1, 7300.0, "later call")
        ticks = aligner.release(lambda tp: tp[0] == "lifecycle")
        assert [[item.token for item in tick.items] for tick in ticks] == [["call"]]
