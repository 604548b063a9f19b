"""How far each input partition goes, asked with a Fetch request sent now.

The release rules need proof that a partition holds nothing unread *after* its group
read up to some event time. A consumer's high-water mark comes from whatever fetch
answered last, which may have been sent before records the other topics already
delivered; and the embedded broker's ListOffsets answer is not the end of a partition
written in batches. A Fetch request built at the moment of asking, waiting for
a millisecond and asking for one byte, answers with the partition's high-water mark as the
broker holds it then.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import NoError as KafkaNoError
from aiokafka.errors import for_code
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.structs import TopicPartition as KafkaTopicPartition

from streams.records import TopicPartition

READ_UNCOMMITTED = 0
MAX_WAIT_MS = 1  # the embedded broker answers a zero wait with no partitions at all


class FetchEndProbe:
    """High-water marks from a Fetch sent on each call, on a connection of its own."""

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._client_started: AIOKafkaClient | None = None  # made in the worker's event loop
        self._topics: set[str] = set()
        self._lock = asyncio.Lock()

    async def stop(self) -> None:
        if self._client_started is not None:
            await self._client_started.close()
            self._client_started = None

    async def __call__(self, positions: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        """The high-water mark of each partition (fetched from ``positions``), as the broker holds
        it after this call began; partitions whose leader did not answer cleanly are left out."""
        async with self._lock:
            client = self._client_started
            if client is None:
                client = AIOKafkaClient(bootstrap_servers=self._bootstrap, client_id="churnwatch-end-probe")
                await client.bootstrap()
                self._client_started = client
                self._topics.clear()
            by_node = await self._by_leader(client, positions)
            answers = await asyncio.gather(
                *(_fetch(client, node, partitions) for node, partitions in by_node.items())
            )
        return {tp: end for answer in answers for tp, end in answer.items()}

    async def _by_leader(
        self, client: AIOKafkaClient, positions: Mapping[TopicPartition, int]
    ) -> dict[int, dict[TopicPartition, int]]:
        """Partitions by their leader; one metadata refresh if a leader is not known yet."""
        topics = {topic for topic, _ in positions}
        if not topics <= self._topics:
            for topic in topics - self._topics:
                client.add_topic(topic)
            self._topics |= topics
            await client.force_metadata_update()
        by_node: dict[int, dict[TopicPartition, int]] = defaultdict(dict)
        for tp, offset in positions.items():
            leader = client.cluster.leader_for_partition(KafkaTopicPartition(*tp))
            if leader is not None and leader != -1:
                by_node[leader][tp] = offset
        if len(positions) > sum(len(partitions) for partitions in by_node.values()):
            await client.force_metadata_update()  # those are asked again on the next call
        return by_node


async def _fetch(
    client: AIOKafkaClient, node: int, positions: Mapping[TopicPartition, int]
) -> dict[TopicPartition, int]:
    topics: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for (topic, partition), offset in positions.items():
        topics[topic].append((partition, offset, 1))
    request = FetchRequest(MAX_WAIT_MS, 0, 1, READ_UNCOMMITTED, list(topics.items()))
    response = await client.send(node, request)
    ends: dict[TopicPartition, int] = {}
    for topic, partitions in response.topics:
        for partition, error_code, highwater, *_ in partitions:
            if for_code(error_code) is KafkaNoError:
                ends[(topic, partition)] = highwater
    return ends
