"""The worker's consumers in a consumer group: manual commits, from the earliest offset, its timings."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer

from streams.settings import KafkaSettings

FETCH_MAX_BYTES = 52_428_800  # aiokafka's default: one fetch may span many partitions


def group_consumer(
    bootstrap: str, group: str, kafka: KafkaSettings, max_poll_records: int | None = None
) -> AIOKafkaConsumer:
    """A consumer that commits only what its owner says is done (never automatically).

    A group with no commit yet starts from the earliest offset: a new deployment reads the
    topics' whole retained history.
    """
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=int(kafka.session_timeout_s * 1000),
        heartbeat_interval_ms=int(kafka.heartbeat_interval_s * 1000),
        rebalance_timeout_ms=int(kafka.rebalance_timeout_s * 1000),
        max_partition_fetch_bytes=kafka.max_fetch_bytes,
        fetch_max_bytes=max(kafka.max_fetch_bytes, FETCH_MAX_BYTES),
        max_poll_records=max_poll_records,
    )
