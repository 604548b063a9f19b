"""Replay and live publishing against the real embedded Kafka-protocol broker."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from sim.kafka_producer import open_producer
from sim.publish import publish_live
from sim.replay import replay
from sim.simulate import Simulation
from sim.sink import EventTopics, ProducerSink
from tests.fixtures.deadline import eventually

pytestmark = pytest.mark.integration

START = datetime(2025, 11, 3, tzinfo=UTC)
PARTITIONS = 2


async def _create_topics(bootstrap: str, topics: EventTopics) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [topics.calls, topics.topups, topics.complaints, topics.lifecycle]
        await admin.create_topics([NewTopic(name, PARTITIONS, 1) for name in names])
    finally:
        await admin.close()


async def _count_messages(bootstrap: str, topics: EventTopics, expected: Counter[str]) -> Counter[str]:
    """Read every partition from the start until the expected counts are reached (or the deadline)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    counts: Counter[str] = Counter()
    keys_ok = True
    try:
        partitions = [
            TopicPartition(name, p)
            for name in (topics.calls, topics.topups, topics.complaints, topics.lifecycle)
            for p in range(PARTITIONS)
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)

        async def all_read() -> Counter[str]:
            nonlocal keys_ok
            batches = await consumer.getmany(timeout_ms=200, max_records=50_000)
            for partition, records in batches.items():
                counts[partition.topic] += len(records)
                keys_ok &= all(record.key for record in records)
            assert counts == expected, f"read {dict(counts)}, expected {dict(expected)}"
            return counts

        result = await eventually(all_read, timeout=30)
        assert keys_ok
        return result
    finally:
        await consumer.stop()


async def test_replayed_simulation_lands_on_the_topic_of_each_type(
    kafka_bootstrap: str, topic_suffix: str, tmp_path: Path
) -> None:
    """Replaying a 200-customer, 60-day simulation puts every event on its type's topic."""
    topics = EventTopics(
        calls=f"calls-{topic_suffix}",
        topups=f"topups-{topic_suffix}",
        complaints=f"complaints-{topic_suffix}",
        lifecycle=f"lifecycle-{topic_suffix}",
    )
    await _create_topics(kafka_bootstrap, topics)
    written = Simulation(200, 60, 21, START).write(tmp_path)
    async with open_producer(kafka_bootstrap) as producer:
        summary = await replay([tmp_path], ProducerSink(producer), topics)
    assert summary.rejected == 0
    assert summary.published == written.events
    await _count_messages(kafka_bootstrap, topics, summary.per_topic)


async def test_live_publishing_delivers_population_and_bad_records(
    kafka_bootstrap: str, topic_suffix: str
) -> None:
    """The demo feed publishes a small population day by day, with the requested bad records."""
    topics = EventTopics(
        calls=f"lcalls-{topic_suffix}",
        topups=f"ltopups-{topic_suffix}",
        complaints=f"lcomplaints-{topic_suffix}",
        lifecycle=f"llifecycle-{topic_suffix}",
    )
    await _create_topics(kafka_bootstrap, topics)
    async with open_producer(kafka_bootstrap) as producer:
        summary = await asyncio.wait_for(
            publish_live(
                producer,
                topics,
                customers=50,
                days=10,
                seed=5,
                start=START,
                seconds_per_day=0.05,
                bad_record_count=4,
            ),
            timeout=60,
        )
    assert summary.bad_records == 4
    await _count_messages(kafka_bootstrap, topics, summary.per_topic)
