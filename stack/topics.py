"""Creates topics up front, so the four inputs are co-partitioned before anyone produces."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


async def ensure_topics(bootstrap: str, names: Iterable[str], partitions: int, replicas: int = 1) -> None:
    """Create missing topics with ``partitions`` each; existing ones are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name, num_partitions=partitions, replication_factor=replicas)
            for name in dict.fromkeys(names)
            if name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
    finally:
        await admin.close()


async def partition_counts(bootstrap: str, names: Iterable[str]) -> dict[str, int]:
    """How many partitions each existing topic of ``names`` has (missing topics are left out)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        wanted = list(dict.fromkeys(names))
        described = await admin.describe_topics(wanted)
    finally:
        await admin.close()
    return {
        str(topic["topic"]): len(topic["partitions"])
        for topic in described
        if topic.get("error_code", 0) == 0 and topic.get("partitions")
    }
