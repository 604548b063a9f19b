"""The consumer group's committed offsets, read and reset through the broker's admin API.

Read by a worker on its first assignment (to tell a fresh group from a Redis that lost
its data), and reset by ``churnwatch rebuild`` (to replay the inputs from their start).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from streams.alignment import TopicPartition as TopicPartitionKey


async def committed_offsets(
    bootstrap: str, group: str, tps: Sequence[TopicPartitionKey]
) -> dict[TopicPartitionKey, int]:
    """Committed offset per partition (partitions with none are left out).

    Partitions are listed explicitly: some Kafka-protocol brokers answer an unfiltered
    request with nothing.
    """
    if not tps:
        return {}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(
            group, partitions=[TopicPartition(topic, partition) for topic, partition in tps]
        )
    finally:
        await admin.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def reset_to_earliest(
    bootstrap: str, group: str, topics: Sequence[str]
) -> Mapping[TopicPartitionKey, int]:
    """Commit each partition's earliest retained offset for the group; returns what was committed.

    The group must have no running members: the broker refuses commits from outside a
    live group's generation.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # loads every topic's partitions
        tps = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        earliest = await consumer.beginning_offsets(tps)
        consumer.assign(tps)
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in earliest.items()})
    finally:
        await consumer.stop()
    return {(tp.topic, tp.partition): offset for tp, offset in earliest.items()}
