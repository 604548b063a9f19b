"""Tick release: a quiet partition stalls its group until proven caught up, and idle groups let go."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from aiokafka import AIOKafkaProducer

from pipeline.alignment import EventTimeAligner
from pipeline.release import TickRelease
from stack.topics import ensure_topics
from streams.end_probe import FetchEndProbe
from streams.records import TopicPartition

HOUR_S = 3600.0


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def unused_port() -> int:
    """A local port nothing listens on: a broker that does not answer."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Broker:
    """The real broker's calls and top-ups topics of one test, asked for their ends through the
    worker's own probe; ``down`` sends the question to a port where no broker answers."""

    bootstrap: str
    calls: TopicPartition
    topups: TopicPartition
    down: bool = False
    asked: list[dict[TopicPartition, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._probe = FetchEndProbe(self.bootstrap)
        self._nowhere = FetchEndProbe(f"127.0.0.1:{unused_port()}")

    async def end_offsets(self, positions: Mapping[TopicPartition, int]) -> Mapping[TopicPartition, int]:
        self.asked.append(dict(positions))
        return await (self._nowhere if self.down else self._probe)(positions)

    async def write(self, tp: TopicPartition, records: int) -> None:
        """Append ``records`` records to a partition (the ends the probe will report)."""
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks=1)
        await producer.start()
        try:
            for _ in range(records):
                await producer.send_and_wait(tp[0], b"{}", partition=tp[1])
        finally:
            await producer.stop()

    async def stop(self) -> None:
        await self._probe.stop()
        await self._nowhere.stop()


@pytest.fixture
async def broker(kafka_bootstrap: str, topic_suffix: str) -> AsyncIterator[Broker]:
    calls, topups = (f"calls.{topic_suffix}", 0), (f"topups.{topic_suffix}", 0)
    await ensure_topics(kafka_bootstrap, [calls[0], topups[0]], 1)
    on_broker = Broker(kafka_bootstrap, calls, topups)
    try:
        yield on_broker
    finally:
        await on_broker.stop()


def release_over(
    broker: Broker, clock: Clock, caught_up: set[TopicPartition]
) -> tuple[EventTimeAligner[str], TickRelease[str]]:
    """Calls and top-ups of partition 0, a one-hour tick, six hours of allowed out-of-orderness."""
    aligner = EventTimeAligner[str](
        timedelta(hours=1), timedelta(days=3), out_of_orderness=timedelta(hours=6)
    )
    for tp in (broker.calls, broker.topups):
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
    aligner.add(tp, offset, tau_s, f"{tp[0].split('.')[0]}-{offset}")
    release.received(tp[1])


def released_tokens(release: TickRelease[str]) -> list[list[str]]:
    ticks = release.first_per_group()
    for tick in ticks:
        release.take(tick)
    return [[item.token for item in tick.items] for tick in ticks]


class TestTickRelease:
    async def test_a_quiet_partition_holds_its_group_until_proven_caught_up(self, broker: Broker) -> None:
        """Calls reach hour 10, top-ups are silent: nothing goes until top-ups are proven read to the end."""
        clock = Clock()
        calls, topups = broker.calls, broker.topups
        aligner, release = release_over(broker, clock, caught_up={topups})
        receive(aligner, release, calls, 1 * HOUR_S)
        receive(aligner, release, calls, 10 * HOUR_S)
        release.release()
        assert release.waiting == 0
        await release.prove_caught_up()
        release.release()
        assert released_tokens(release) == [["calls-0"]]  # hour 1 is before 10 h - 6 h; hour 10 is not

    async def test_no_answer_from_the_broker_proves_nothing(self, broker: Broker) -> None:
        """A failed end-offset request leaves the partition unproven, and the next call asks again."""
        clock = Clock()
        calls, topups = broker.calls, broker.topups
        aligner, release = release_over(broker, clock, caught_up={topups})
        receive(aligner, release, calls, 1 * HOUR_S)
        receive(aligner, release, calls, 10 * HOUR_S)
        broker.down = True
        await release.prove_caught_up()
        assert release.proven(topups) is None
        broker.down = False
        await release.prove_caught_up()
        assert release.proven(topups) == 10 * HOUR_S
        assert len(broker.asked) == 2

    async def test_an_idle_group_proven_after_its_last_record_releases_all(self, broker: Broker) -> None:
        """Both partitions proven after the last record and quiet for 2 s: the last tick goes too."""
        clock = Clock()
        calls, topups = broker.calls, broker.topups
        aligner, release = release_over(broker, clock, caught_up={calls, topups})
        receive(aligner, release, calls, 1 * HOUR_S)
        receive(aligner, release, topups, 1 * HOUR_S + 60)
        await broker.write(calls, 1)
        await broker.write(topups, 1)
        await release.prove_caught_up()
        for now_s in (0.4, 0.8, 1.2, 1.6):  # release checks come every drain interval
            clock.now_s = now_s
            release.release()
        assert release.waiting == 0  # not idle for long enough yet
        clock.now_s = 2.0
        release.release()
        assert released_tokens(release) == [["calls-0", "topups-0"]]

    async def test_a_record_after_the_proof_keeps_the_group_from_idling(self, broker: Broker) -> None:
        """A proof asked before the group's latest record does not count for idleness."""
        clock = Clock()
        calls, topups = broker.calls, broker.topups
        aligner, release = release_over(broker, clock, caught_up={calls, topups})
        receive(aligner, release, calls, 1 * HOUR_S)
        await broker.write(calls, 1)
        await release.prove_caught_up()
        receive(aligner, release, topups, 1 * HOUR_S + 60)
        for now_s in (0.4, 0.8, 1.2, 1.6, 2.0, 2.4, 2.8):
            clock.now_s = now_s
            release.release()
        assert release.waiting == 0

    async def test_time_this_worker_was_stalled_does_not_count_as_idle(self, broker: Broker) -> None:
        """A gap between release checks longer than the stall limit restarts the idle wait."""
        clock = Clock()
        calls, topups = broker.calls, broker.topups
        aligner, release = release_over(broker, clock, caught_up={calls, topups})
        receive(aligner, release, calls, 1 * HOUR_S)
        await broker.write(calls, 1)
        await release.prove_caught_up()
        clock.now_s = 5.0  # the worker itself was busy for 5 s
        release.release()
        assert release.waiting == 0

    async def test_a_forgotten_partition_loses_its_proof_and_released_ticks(self, broker: Broker) -> None:
        """Revoked: the released ticks of its group and its caught-up proof are gone."""
        clock = Clock()
        calls, topups = broker.calls, broker.topups
        aligner, release = release_over(broker, clock, caught_up={topups})
        receive(aligner, release, calls, 1 * HOUR_S)
        receive(aligner, release, calls, 10 * HOUR_S)
        await release.prove_caught_up()
        release.release()
        assert release.waiting == 1
        release.forget([topups])
        assert (release.waiting, release.proven(topups)) == (0, None)
