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


MIN_SECONDS = 2.0
"""The ceiling is read over at least this long: one pass over 200,000 records takes ~0.3 s,
too short to be more than start-up noise, so the topics are read again from the start."""


async def measure_raw(
    bootstrap: str,
    end_offsets: dict[tuple[str, int], int],
    kafka: KafkaSettings,
    timeout_s: float,
    min_seconds: float = MIN_SECONDS,
) -> Throughput:
    """Read every partition from offset 0 to its end offset (no group, no commits), from the first
    record to the last, in as many whole passes as it takes to read for ``min_seconds``.

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
        total = sum(end_offsets.values())
        decoded = 0
        loads = orjson.loads
        first_s: float | None = None
        deadline_s = time.monotonic() + timeout_s
        while first_s is None or time.perf_counter() - first_s < min_seconds:
            await consumer.seek_to_beginning(*partitions)
            remaining = total
            while remaining > 0:
                if time.monotonic() > deadline_s:
                    unread = f"{remaining} of {total} records unread after {timeout_s} s"
                    raise BenchError(f"raw consumer: {unread}")
                batches = await consumer.getmany(timeout_ms=_POLL_TIMEOUT_MS)
                if batches and first_s is None:
                    first_s = time.perf_counter()
                for records in batches.values():
                    for record in records:
                        loads(record.value)
                    decoded += len(records)
                    remaining -= len(records)
            if total == 0:
                break
        elapsed_s = time.perf_counter() - (first_s or time.perf_counter())
        return Throughput(decoded, elapsed_s, events_per_s(decoded, elapsed_s))
    finally:
        await consumer.stop()
