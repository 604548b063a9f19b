"""The consumer group's committed offsets, read and reset through the broker's admin API.

Read by a worker on its first assignment (to tell a fresh group from a Redis that lost
its data), and reset by ``churnwatch rebuild`` (to replay the inputs from their start).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from streams.errors import GroupBusyError
from streams.records import TopicPartition as TopicPartitionKey


class WorkerProtocolAssignor(RoundRobinPartitionAssignor):  # type: ignore[misc]
    """Round robin under the name the workers' assignor uses, so the group accepts this member.

    A broker keeps a group's protocol (and may keep a stopped member until the next
    join), and refuses a joiner that shares no protocol name with it.
    """

    name = "faust"


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
    bootstrap: str,
    group: str,
    topics: Sequence[str],
    join_timeout_s: float = 30.0,
    to_end: Sequence[str] = (),
) -> Mapping[TopicPartitionKey, int]:
    """Commit each partition's earliest retained offset for the group (for ``to_end`` topics:
    the end offset, so what they hold now is skipped); returns what was committed.

    Joins the group as its only member (a commit is only accepted from inside the group's
    current generation), so every worker of the group must be stopped first; raises
    ``GroupBusyError`` if the group still hands partitions to someone else.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        partition_assignment_strategy=(WorkerProtocolAssignor, RoundRobinPartitionAssignor),
    )
    await consumer.start()
    try:
        await consumer.topics()  # loads every topic's partitions
        every = [*topics, *to_end]
        wanted = {
            TopicPartition(topic, partition)
            for topic in every
            for partition in consumer.partitions_for_topic(topic) or ()
        }
        consumer.subscribe(every)
        deadline = time.monotonic() + join_timeout_s
        while consumer.assignment() != wanted:
            if time.monotonic() >= deadline:
                raise GroupBusyError(
                    f"consumer group {group!r} still gives {len(wanted - consumer.assignment())} of "
                    f"{len(wanted)} partitions to other members: stop every worker first"
                )
            await consumer.getmany(timeout_ms=200, max_records=1)
        skipped = {tp for tp in wanted if tp.topic in set(to_end)}
        chosen = await consumer.beginning_offsets(sorted(wanted - skipped))
        if skipped:
            chosen.update(await consumer.end_offsets(sorted(skipped)))
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in chosen.items()})
    finally:
        await consumer.stop()
    return {(tp.topic, tp.partition): offset for tp, offset in chosen.items()}
