"""The input reader against the real broker: whole batches per topic, commits only what was acknowledged."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import faust
import pytest

from stack.topics import ensure_topics
from streams.app import create_app
from streams.group_offsets import committed_offsets
from streams.input_batches import BatchChannels, InputBatch, InputRecords, consume_batches
from streams.input_reader import InputReader, InputToken, PartitionKey, ReaderHooks
from streams.metrics import PipelineMetrics
from streams.records import SourceRecord
from streams.settings import KafkaSettings, Settings
from tests.fixtures.deadline import eventually
from tests.fixtures.pipeline import produce

pytestmark = pytest.mark.integration

PER_PARTITION = 30


class Intake:
    """Records what the reader hands over; acknowledges only offsets below ``ack_below``."""

    def __init__(self, reader_of: list[InputReader], ack_below: int) -> None:
        self._reader_of = reader_of
        self.ack_below = ack_below
        self.batches: list[tuple[str, list[tuple[str, int, int]]]] = []
        self.assigned: list[PartitionKey] = []
        self.revoked: list[PartitionKey] = []

    async def handle(self, topic: str, records: Sequence[tuple[SourceRecord, InputToken]]) -> None:
        self.batches.append((topic, [(r.topic, r.partition, r.offset) for r, _ in records]))
        for record, token in records:
            assert record.key is not None
            assert record.value == b"v" + record.key
            if record.offset < self.ack_below:
                await self._reader_of[0].acknowledge(token)

    async def on_assigned(self, tps: list[PartitionKey]) -> None:
        self.assigned.extend(tps)

    async def on_revoked(self, tps: list[PartitionKey]) -> None:
        self.revoked.extend(tps)

    def hooks(self) -> ReaderHooks:
        return ReaderHooks(self.handle, self.on_assigned, self.on_revoked)

    def seen(self) -> set[tuple[str, int, int]]:
        return {position for _, records in self.batches for position in records}


def start(
    intake: Intake, topics: list[str], bootstrap: str, group: str
) -> tuple[InputReader, asyncio.Task[None]]:
    reader = InputReader(topics, bootstrap, group, KafkaSettings(), intake.hooks(), PipelineMetrics(), 500)
    intake._reader_of[:] = [reader]
    return reader, asyncio.create_task(reader.run(lambda: False))


async def test_hands_over_batches_per_topic_and_commits_only_acknowledged_offsets(
    kafka_bootstrap: str, topic_suffix: str
) -> None:
    topics = [f"reader.calls.{topic_suffix}", f"reader.topups.{topic_suffix}"]
    await ensure_topics(kafka_bootstrap, topics, 2)
    records = [
        (topic, f"c{partition}-{i}".encode(), f"vc{partition}-{i}".encode())
        for topic in topics
        for partition in range(2)
        for i in range(PER_PARTITION)
    ]
    ends = await produce(kafka_bootstrap, records)
    total = sum(ends.values())
    group = f"reader-{topic_suffix}"
    intake = Intake([], ack_below=10)
    reader, task = start(intake, topics, kafka_bootstrap, group)
    try:

        async def everything_handed_over() -> None:
            assert len(intake.seen()) == total

        await eventually(everything_handed_over, timeout=30)
    finally:
        await reader.stop(10)
        await task
    for topic, batch in intake.batches:
        assert {position[0] for position in batch} == {topic}, "one call per topic"
        for partition in {position[1] for position in batch}:
            offsets = [o for _, p, o in batch if p == partition]
            assert offsets == sorted(offsets), "offset order within a partition"
    assert max(len(batch) for _, batch in intake.batches) > 1, "records arrive in batches"
    keys = [(tp.topic, tp.partition) for tp in ends]
    committed = await committed_offsets(kafka_bootstrap, group, keys)
    assert committed == {key: 10 for key in keys}, "committed exactly the acknowledged offsets"

    # a restart reads again from the committed offsets, and only from there
    again = Intake([], ack_below=10**9)
    reader, task = start(again, topics, kafka_bootstrap, group)
    try:

        async def rest_handed_over() -> None:
            assert len(again.seen()) == total - 10 * len(keys)

        await eventually(rest_handed_over, timeout=30)
    finally:
        await reader.stop(10)
        await task
    assert min(offset for _, _, offset in again.seen()) == 10
    committed = await committed_offsets(kafka_bootstrap, group, keys)
    assert committed == {(tp.topic, tp.partition): end for tp, end in ends.items()}


async def test_a_second_reader_takes_partitions_over_and_revocation_commits_first(
    kafka_bootstrap: str, topic_suffix: str
) -> None:
    topics = [f"reader.calls.{topic_suffix}"]
    await ensure_topics(kafka_bootstrap, topics, 2)
    ends = await produce(
        kafka_bootstrap,
        [
            (topics[0], f"c{p}-{i}".encode(), f"vc{p}-{i}".encode())
            for p in range(2)
            for i in range(PER_PARTITION)
        ],
    )
    group = f"reader-{topic_suffix}"
    first = Intake([], ack_below=10**9)
    reader, task = start(first, topics, kafka_bootstrap, group)
    second = Intake([], ack_below=10**9)
    other: InputReader | None = None
    other_task: asyncio.Task[None] | None = None
    try:

        async def first_has_all() -> None:
            assert len(first.seen()) == sum(ends.values())

        await eventually(first_has_all, timeout=30)
        other, other_task = start(second, topics, kafka_bootstrap, group)

        joined = other

        async def shared() -> None:
            assert first.revoked, "the first reader gave its partitions up"
            assert second.assigned, "the second reader took some"
            assert not reader.rebalancing
            assert not joined.rebalancing
            assert set(reader.assignment()).isdisjoint(joined.assignment())

        await eventually(shared, timeout=30)
    finally:
        if other is not None and other_task is not None:
            await other.stop(10)
            await other_task
        await reader.stop(10)
        await task
    assert not second.seen(), "revocation committed everything acknowledged: nothing is read twice"
    keys = [(tp.topic, tp.partition) for tp in ends]
    committed = await committed_offsets(kafka_bootstrap, group, keys)
    assert committed == {(tp.topic, tp.partition): end for tp, end in ends.items()}


async def test_an_error_in_an_agent_stops_the_reader_before_its_batch_is_committed(
    kafka_bootstrap: str, topic_suffix: str
) -> None:
    topics = [f"reader.calls.{topic_suffix}"]
    await ensure_topics(kafka_bootstrap, topics, 1)
    ends = await produce(
        kafka_bootstrap, [(topics[0], f"c0-{i}".encode(), f"vc0-{i}".encode()) for i in range(PER_PARTITION)]
    )
    app = create_app(Settings(), kafka_bootstrap)
    channels = BatchChannels(app, topics)
    reader_of: list[InputReader] = []
    handled: list[int] = []

    async def handle(records: InputRecords) -> None:
        """Acknowledges everything below offset 20; fails on the batch that holds offset 20."""
        if any(record.offset >= 20 for record, _ in records):
            raise RuntimeError("offset=20: the pipeline failed")
        for record, token in records:
            handled.append(record.offset)
            await reader_of[0].acknowledge(token)

    @app.agent(channels.of(topics[0]), name="consume_calls")
    async def consume_calls(batches: faust.StreamT[InputBatch]) -> None:
        await consume_batches(batches, handle)

    async def assigned(tps: list[PartitionKey]) -> None:
        return None

    group = f"reader-{topic_suffix}"
    reader = InputReader(
        topics,
        kafka_bootstrap,
        group,
        KafkaSettings(),
        ReaderHooks(channels.hand_over, assigned, assigned),
        PipelineMetrics(),
        10,  # several batches: some are handled before the one holding offset 20 fails
    )
    reader_of.append(reader)
    app.flow_control.resume()  # as the worker app does when it starts
    await consume_calls.start()
    try:
        with pytest.raises(RuntimeError, match="offset=20: the pipeline failed"):
            await asyncio.wait_for(reader.run(lambda: False), timeout=30)
    finally:
        await consume_calls.stop()
    assert handled == list(range(len(handled))), "batches reached the agent whole and in offset order"
    assert 0 < len(handled) <= 20
    keys = [(tp.topic, tp.partition) for tp in ends]
    committed = await committed_offsets(kafka_bootstrap, group, keys)
    assert all(offset <= len(handled) for offset in committed.values()), "nothing of the failed batch"
