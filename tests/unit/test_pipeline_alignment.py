"""Event-time alignment: the same records give the same ticks, however the topics interleave."""

from __future__ import annotations

import math
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.alignment import Admission, EventTimeAligner
from streams.records import PartitionProgress, TopicPartition

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


def read_next(
    aligner: EventTimeAligner[tuple[str, int]],
    logs: dict[TopicPartition, list[float]],
    cursors: dict[TopicPartition, int],
    late: set[tuple[str, int, int]],
    tp: TopicPartition,
) -> None:
    """Admit a partition's next record: too late into ``late``, otherwise queued for its tick."""
    offset = cursors[tp]
    admission, tau = aligner.admit(tp, offset, logs[tp][offset])
    cursors[tp] += 1
    if admission is Admission.TOO_LATE:
        late.add((tp[0], tp[1], offset))
    else:
        aligner.add(tp, offset, tau, (tp[0], offset))


def run(logs: dict[TopicPartition, list[float]], order: list[TopicPartition], release_every: int):
    """Every record is in the log from the start (a replay): caught up means read to the end."""
    aligner = EventTimeAligner[tuple[str, int]](TICK, LATENESS)
    for tp in logs:
        aligner.assign(tp, None)
    cursors = dict.fromkeys(logs, 0)
    released, late, ticks_seen = [], set(), []
    steps = 0

    def drain(caught_up: bool) -> None:
        ticks = aligner.release(
            lambda tp: math.inf if caught_up or cursors[tp] >= len(logs[tp]) else None, lambda p: caught_up
        )
        for tick in ticks:
            ticks_seen.append((tick.partition, tick.tick))
            released.extend((tick.partition, tick.tick, item.topic, item.offset) for item in tick.items)

    for tp in order:
        if cursors[tp] >= len(logs[tp]):
            continue
        read_next(aligner, logs, cursors, late, tp)
        steps += 1
        if steps % release_every == 0:
            drain(caught_up=False)
    for tp, times in logs.items():  # whatever the schedule did not reach
        while cursors[tp] < len(times):
            read_next(aligner, logs, cursors, late, tp)
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
        assert not aligner.is_ahead(("calls", 0), lambda tp: None)
        assert aligner.is_ahead(("topups", 0), lambda tp: None)

    def test_quiet_caught_up_partition_holds_the_group_back_only_by_its_out_of_orderness(self) -> None:
        """A caught-up topic with nothing to read holds ticks back until the others are its bound ahead."""
        aligner = EventTimeAligner[str](TICK, LATENESS, out_of_orderness={"lifecycle": timedelta(hours=1)})
        for tp in [("calls", 0), ("lifecycle", 0)]:
            aligner.assign(tp, None)
        aligner.admit(("calls", 0), 0, 10.0)
        aligner.add(("calls", 0), 0, 10.0, "call")
        aligner.admit(("calls", 0), 1, 3000.0)
        aligner.add(("calls", 0), 1, 3000.0, "call in the same tick")
        assert aligner.release(lambda tp: math.inf) == []
        aligner.admit(("calls", 0), 2, 7300.0)
        aligner.add(("calls", 0), 2, 7300.0, "call two hours later")
        ticks = aligner.release(lambda tp: math.inf)
        assert [[item.token for item in tick.items] for tick in ticks] == [["call", "call in the same tick"]]

    def test_idle_group_of_caught_up_partitions_releases_everything(self) -> None:
        """At the end of input (every member caught up, nothing new) the last ticks leave too."""
        aligner = EventTimeAligner[str](TICK, LATENESS)
        for tp in [("calls", 0), ("topups", 0)]:
            aligner.assign(tp, None)
        aligner.admit(("calls", 0), 0, 10.0)
        aligner.add(("calls", 0), 0, 10.0, "call")
        assert aligner.release(lambda tp: math.inf if tp[0] == "topups" else None, lambda p: True) == []
        ticks = aligner.release(lambda tp: math.inf, lambda p: True)
        assert [[item.token for item in tick.items] for tick in ticks] == [["call"]]

    def test_time_far_ahead_of_partition_and_broker_is_refused_without_moving_the_clock(self) -> None:
        """A date years ahead is refused; the partition's next ordinary event is not too late."""
        aligner = EventTimeAligner[str](TICK, LATENESS, max_ahead=timedelta(days=1))
        aligner.assign(("calls", 0), None)
        assert aligner.admit(("calls", 0), 0, 1_000_000.0, produced_at_s=1_000_100.0)[0] is Admission.ACCEPT
        refused = aligner.admit(("calls", 0), 1, 1_000_000.0 + 3 * 86400, produced_at_s=1_000_200.0)
        assert refused == (Admission.TOO_FAR_AHEAD, 1_000_000.0)
        assert aligner.admit(("calls", 0), 2, 1_000_300.0, produced_at_s=1_000_300.0)[0] is Admission.ACCEPT

    def test_quiet_partition_receiving_a_current_event_is_not_refused(self) -> None:
        """An event days after the partition's last one is fine when its record was sent that late."""
        aligner = EventTimeAligner[str](TICK, LATENESS, max_ahead=timedelta(days=1))
        aligner.assign(("lifecycle", 0), None)
        aligner.admit(("lifecycle", 0), 0, 1_000_000.0, produced_at_s=1_000_000.0)
        later_s = 1_000_000.0 + 10 * 86400
        assert aligner.admit(("lifecycle", 0), 1, later_s, produced_at_s=later_s)[0] is Admission.ACCEPT

    @settings(max_examples=150, deadline=None)
    @given(logs=partition_logs(), data=st.data())
    def test_live_arrival_releases_the_same_ticks_as_a_replay(self, logs, data) -> None:
        """Records arriving while the worker reads (caught up = read what exists so far) give the
        replay's release order: having read everything so far never releases a tick early."""
        aligner = EventTimeAligner[tuple[str, int]](TICK, LATENESS, out_of_orderness=timedelta(days=10_000))
        for tp in logs:
            aligner.assign(tp, None)
        produced = dict.fromkeys(logs, 0)
        read = dict.fromkeys(logs, 0)
        released, late, ticks_seen = [], set(), []
        steps = [tp for tp, times in logs.items() for _ in times]
        production = data.draw(st.permutations(steps))

        def proven(tp: TopicPartition) -> float | None:
            return math.inf if read[tp] >= produced[tp] else None  # asked just now

        def drain(idle: bool) -> None:
            for tick in aligner.release(proven, lambda p: idle):
                ticks_seen.append((tick.partition, tick.tick))
                released.extend((tick.partition, tick.tick, i.topic, i.offset) for i in tick.items)

        for tp in production:
            produced[tp] += 1
            for candidate in data.draw(st.lists(st.sampled_from(sorted(logs)), max_size=3)):
                if read[candidate] < produced[candidate]:
                    read_next(aligner, logs, read, late, candidate)
            drain(idle=False)
        for tp in sorted(logs):
            while read[tp] < produced[tp]:
                read_next(aligner, logs, read, late, tp)
        drain(idle=True)
        expected, expected_late = reference(logs)
        assert late == expected_late
        assert sorted(released) == expected
        for partition in {r[0] for r in released}:
            group = [r for r in released if r[0] == partition]
            assert group == sorted(group), "a group's events left out of (tick, topic, offset) order"
        assert len(ticks_seen) == len(set(ticks_seen)), "a tick was released in two parts"


QUIET = timedelta(hours=8)  # the largest delay below: topics out of order by at most this


@st.composite
def arriving_logs(draw: st.DrawFn) -> tuple[dict[TopicPartition, list[float]], list[TopicPartition]]:
    """Event times per partition and the order the producer sends them in: by arrival, each
    event up to ``QUIET`` older than its arrival, topics interleaved as their arrivals fall."""
    logs: dict[TopicPartition, list[float]] = {}
    arrivals: list[tuple[float, TopicPartition, int]] = []
    for topic in TOPICS:
        for partition in (0, 1):
            times, now = [], 0.0
            for offset in range(draw(st.integers(0, 25))):
                now += draw(st.floats(0, 3 * 3600))
                delay = draw(st.sampled_from([0.0, 0.0, 0.0, 1800.0, 4 * 3600.0, QUIET.total_seconds()]))
                times.append(max(0.0, now - delay))
                arrivals.append((now, (topic, partition), offset))
            logs[(topic, partition)] = times
    return logs, [tp for _, tp, _ in sorted(arrivals)]


class TestCaughtUpProofs:
    @settings(max_examples=200, deadline=None)
    @given(arriving=arriving_logs(), data=st.data())
    def test_stale_proofs_of_being_caught_up_release_the_replays_ticks(self, arriving, data) -> None:
        """End offsets asked at some moment and used later, while other topics read on, never
        release a tick early: a proof lifts a quiet partition only to the group time it was asked at."""
        logs, production = arriving
        aligner = EventTimeAligner[tuple[str, int]](TICK, LATENESS, out_of_orderness=QUIET)
        for tp in logs:
            aligner.assign(tp, None)
        produced = dict.fromkeys(logs, 0)
        read = dict.fromkeys(logs, 0)
        proofs: dict[TopicPartition, tuple[int, float]] = {}  # end offset, group time when asked
        released, late, ticks_seen = [], set(), []

        def proven(tp: TopicPartition) -> float | None:
            proof = proofs.get(tp)
            return proof[1] if proof is not None and read[tp] >= proof[0] else None

        def drain(idle: bool) -> None:
            for tick in aligner.release(proven, lambda p: idle):
                ticks_seen.append((tick.partition, tick.tick))
                released.extend((tick.partition, tick.tick, i.topic, i.offset) for i in tick.items)

        for tp in production:
            produced[tp] += 1
            if data.draw(st.integers(0, 5)) == 0:  # now and then: proofs are asked less often than reads
                for asked in data.draw(st.lists(st.sampled_from(sorted(logs)), max_size=3)):
                    proofs[asked] = (produced[asked], aligner.group_tau_s(asked[1]))
            for candidate in data.draw(st.lists(st.sampled_from(sorted(logs)), max_size=2)):
                while read[candidate] < produced[candidate]:  # one fetch reads all there is
                    read_next(aligner, logs, read, late, candidate)
            drain(idle=False)
        for tp in sorted(logs):
            while read[tp] < produced[tp]:
                read_next(aligner, logs, read, late, tp)
        proofs = {tp: (produced[tp], aligner.group_tau_s(tp[1])) for tp in logs}
        drain(idle=True)
        expected, expected_late = reference(logs)
        assert late == expected_late
        assert sorted(released) == expected
        assert len(ticks_seen) == len(set(ticks_seen)), "a tick was released in two parts"

    @settings(max_examples=200, deadline=None)
    @given(arriving=arriving_logs(), data=st.data())
    def test_records_sent_later_than_their_bound_join_the_next_tick_and_on_time_ones_match_a_replay(
        self, arriving, data
    ) -> None:
        """With a bound tighter than the senders' real disorder, live release places every
        on-time record in the replay's tick; a record whose tick was already released goes out
        with the group's next release under its latest released tick, never past the group's
        time when it was read, and a group's ticks never go back."""
        logs, production = arriving
        aligner = EventTimeAligner[tuple[str, int]](TICK, LATENESS, out_of_orderness=timedelta(minutes=30))
        for tp in logs:
            aligner.assign(tp, None)
        produced = dict.fromkeys(logs, 0)
        read = dict.fromkeys(logs, 0)
        proofs: dict[TopicPartition, tuple[int, float]] = {}
        released: dict[tuple[str, int, int], int] = {}  # record -> the tick it was released in
        placed_late: dict[tuple[str, int, int], float] = {}  # record -> its group's time when read
        too_late: set[tuple[str, int, int]] = set()
        last_tick: dict[int, int] = {}

        def proven(tp: TopicPartition) -> float | None:
            proof = proofs.get(tp)
            return proof[1] if proof is not None and read[tp] >= proof[0] else None

        def drain(idle: bool) -> None:
            for tick in aligner.release(proven, lambda p: idle):
                assert tick.tick >= last_tick.get(tick.partition, -math.inf), "a group's ticks went back"
                last_tick[tick.partition] = tick.tick
                released.update({(i.topic, i.partition, i.offset): tick.tick for i in tick.items})

        def read_one(tp: TopicPartition) -> None:
            offset = read[tp]
            admission, tau = aligner.admit(tp, offset, logs[tp][offset])
            read[tp] += 1
            if admission is Admission.TOO_LATE:
                too_late.add((tp[0], tp[1], offset))
            elif aligner.add(tp, offset, tau, (tp[0], offset)):
                placed_late[(tp[0], tp[1], offset)] = aligner.group_tau_s(tp[1])

        for tp in production:
            produced[tp] += 1
            if data.draw(st.integers(0, 3)) == 0:
                for asked in data.draw(st.lists(st.sampled_from(sorted(logs)), max_size=3)):
                    proofs[asked] = (produced[asked], aligner.group_tau_s(asked[1]))
            for candidate in data.draw(st.lists(st.sampled_from(sorted(logs)), max_size=2)):
                while read[candidate] < produced[candidate]:
                    read_one(candidate)
            drain(idle=data.draw(st.booleans()) and all(read[t] >= produced[t] for t in logs))
        for tp in sorted(logs):
            while read[tp] < produced[tp]:
                read_one(tp)
        proofs = {tp: (produced[tp], aligner.group_tau_s(tp[1])) for tp in logs}
        drain(idle=True)
        expected, expected_late = reference(logs)
        assert too_late == expected_late
        replay_tick = {(topic, partition, offset): tick for partition, tick, topic, offset in expected}
        assert released.keys() == replay_tick.keys(), "a record was lost or released twice"
        for record, tick in released.items():
            if record in placed_late:
                tick_s = TICK.total_seconds()
                assert replay_tick[record] <= tick <= placed_late[record] // tick_s
            else:
                assert tick == replay_tick[record]


class TestLateRecords:
    def test_a_record_whose_tick_was_released_goes_with_the_next_release_and_is_reported_late(self) -> None:
        """The complaint of 00:30 arrives after tick 0 was scored: it goes out at the next release,
        under tick 0 again and before tick 1, with its own time; not lost."""
        aligner = EventTimeAligner[str](TICK, LATENESS, out_of_orderness=timedelta(minutes=5))
        for tp in [("calls", 0), ("complaints", 0)]:
            aligner.assign(tp, None)
        for offset, at_s in enumerate([600.0, 4200.0]):
            aligner.admit(("calls", 0), offset, at_s)
            assert not aligner.add(("calls", 0), offset, at_s, f"call-{offset}")
        ticks = aligner.release(lambda tp: 4200.0 if tp[0] == "complaints" else None)
        assert [(t.tick, [i.token for i in t.items]) for t in ticks] == [(0, ["call-0"])]
        _, tau_s = aligner.admit(("complaints", 0), 0, 1800.0)
        assert aligner.add(("complaints", 0), 0, tau_s, "complaint")
        ticks = aligner.release(lambda tp: math.inf, lambda p: True)
        assert [(t.tick, [i.token for i in t.items]) for t in ticks] == [(0, ["complaint"]), (1, ["call-1"])]
        assert ticks[0].progress[("complaints", 0)].tau_s == 1800.0  # it keeps its own time

    def test_after_a_restart_the_recorded_progress_marks_the_released_tick(self) -> None:
        """A late record read again after a restart goes under the recorded tick, as it did live."""
        aligner = EventTimeAligner[str](TICK, LATENESS)
        aligner.assign(("calls", 0), PartitionProgress(next_offset=4, tau_s=2 * 3600.0 + 5))
        aligner.assign(("complaints", 0), None)
        _, tau_s = aligner.admit(("complaints", 0), 0, 1800.0)
        assert aligner.add(("complaints", 0), 0, tau_s, "complaint")
        assert [t.tick for t in aligner.release(lambda tp: math.inf, lambda p: True)] == [2]
