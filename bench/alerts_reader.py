"""Reads the alerts a latency run published, with their broker timestamps."""

from __future__ import annotations

import time

from aiokafka import AIOKafkaConsumer


async def read_alerts(bootstrap: str, topic: str, expected: int, timeout_s: float) -> list[tuple[bytes, int]]:
    """Every alert record on ``topic`` as (value, broker timestamp in ms); stops at ``expected`` or
    the deadline."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    alerts: list[tuple[bytes, int]] = []
    try:
        deadline_s = time.monotonic() + timeout_s
        while len(alerts) < expected and time.monotonic() < deadline_s:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                alerts.extend(
                    (record.value, record.timestamp) for record in records if record.value is not None
                )
    finally:
        await consumer.stop()
    return alerts
