"""Baseline (a): a bare aiokafka consumer that only decodes every record with ``orjson.loads``."""

from __future__ import annotations

import time

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.errors import BenchError
from bench.result import Throughput
from bench.stats import events_per_s
from streams.settings import KafkaSettings

_POLL_TIMEOUT_MS = 200


async def measure_raw(
    bootstrap: str, end_offsets: dict[tuple[str, int], int], kafka: KafkaSettings, timeout_s: float
) -> Throughput:
    """Read every partition from offset 0 to its end offset (no group, no commits), first to last record.

    The fetch sizes are the worker's, so the two differ only in what runs above the client.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=kafka.max_fetch_bytes,
        fetch_max_bytes=kafka.max_fetch_bytes * 4,
        max_poll_records=kafka.max_poll_records,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, partition) for topic, partition in end_offsets]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        remaining = sum(end_offsets.values())
        total = remaining
        decoded = 0
        loads = orjson.loads
        first_s: float | None = None
        deadline_s = time.monotonic() + timeout_s
        while remaining > 0:
            if time.monotonic() > deadline_s:
                raise BenchError(f"raw consumer: {remaining} of {total} records unread after {timeout_s} s")
            batches = await consumer.getmany(timeout_ms=_POLL_TIMEOUT_MS)
            if batches and first_s is None:
                first_s = time.perf_counter()
            for records in batches.values():
                for record in records:
                    loads(record.value)
                decoded += len(records)
                remaining -= len(records)
        elapsed_s = time.perf_counter() - (first_s or time.perf_counter())
        return Throughput(decoded, elapsed_s, events_per_s(decoded, elapsed_s))
    finally:
        await consumer.stop()
