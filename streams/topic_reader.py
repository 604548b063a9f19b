"""Read whole topics from their beginning up to each partition's fetch high-water mark.

Used wherever a topic is read as a finished table (evaluation, the demo's tally, tests).
The end is the high-water mark of a fetch (``consumer.highwater``), not ``end_offsets``:
the embedded broker's ListOffsets answer is not a partition's end when it was written
in batches.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from streams.errors import TopicReadError

POLL_MS = 300


async def read_topics(
    bootstrap: str, topics: Sequence[str], timeout_s: float = 120.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of these topics, each partition in offset order, read to its high-water mark.

    Raises ``TopicReadError`` if a topic does not exist or is not read to the end in time.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        known = await consumer.topics()
        missing = [topic for topic in topics if topic not in known]
        if missing:
            raise TopicReadError(", ".join(missing), f"not found on {bootstrap}")
        tps = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        pending = set(tps)
        deadline_s = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline_s:
                behind = {f"{tp.topic}[{tp.partition}]": consumer.highwater(tp) for tp in sorted(pending)}
                raise TopicReadError(
                    ", ".join(topics), f"not read to its high-water marks {behind} within {timeout_s:.0f} s"
                )
            batch = await consumer.getmany(timeout_ms=POLL_MS, max_records=10_000)
            for messages in batch.values():
                records.extend(messages)
            for tp in list(pending):
                highwater = consumer.highwater(tp)
                if highwater is not None and await consumer.position(tp) >= highwater:
                    pending.discard(tp)
        return records
    finally:
        await consumer.stop()
