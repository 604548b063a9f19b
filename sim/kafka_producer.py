"""Kafka adapter of the simulator and replay: the only sim module that imports aiokafka."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner


@asynccontextmanager
async def open_producer(bootstrap: str, *, linger_ms: int = 20) -> AsyncIterator[Any]:
    """A started producer tuned for bulk publishing; flushed and stopped on exit.

    Idempotence stays off: the embedded broker (Tansu) does not support it.
    """
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=linger_ms,
        max_batch_size=256 * 1024,
        acks=1,
        enable_idempotence=False,
    )
    await producer.start()
    try:
        yield producer
        await producer.flush()
    finally:
        await producer.stop()


def partition_of(key: bytes, partitions: int) -> int:
    """The partition ``open_producer``'s default partitioner gives ``key`` among ``partitions``.

    >>> partition_of(b"C0000001", 4) == partition_of(b"C0000001", 4) < 4
    True
    """
    chosen: int = DefaultPartitioner()(key, list(range(partitions)), list(range(partitions)))
    return chosen
