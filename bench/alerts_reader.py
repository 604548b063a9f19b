"""Reads the alerts a latency run published, with their broker timestamps."""

from __future__ import annotations

import time

from aiokafka import AIOKafkaConsumer

from bench.live import alert_latency_ms


async def alert_latencies_ms(bootstrap: str, topic: str, expected: int, timeout_s: float) -> list[float]:
    """Event-to-alert latency of every alert on ``topic`` (stops at ``expected`` or the deadline)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    latencies: list[float] = []
    try:
        deadline_s = time.monotonic() + timeout_s
        while len(latencies) < expected and time.monotonic() < deadline_s:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                latencies.extend(
                    alert_latency_ms(record.value, record.timestamp) for record in records
                    if record.value is not None
                )
    finally:
        await consumer.stop()
    return latencies
