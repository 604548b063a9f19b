"""The learner's reader of ``churn.training``: its own consumer, so input traffic cannot starve it.

Through the worker's Faust consumer, training records waited behind the input topics'
fetched records: in a replay of 2,000 customers by 70 days, 9 training records stayed
unread for 10 s while the inputs were read, every partition group waited for the
checkpoint those records completed, and 328 s of a 443 s replay of 180 days went to
such waits. So the learner reads with a plain aiokafka consumer in its own consumer
group (``<app id>.learner``): the topic has one partition, so one worker of the group
learns, and another takes over when it leaves. Offsets are committed only up to the
first record not yet covered by a written checkpoint (``LearnerLoop`` acknowledges in
offset order), so a restarted learner reads again exactly what it had not checkpointed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from pipeline.learning import LearnerLoop, TrainingRecord
from streams.group_consumer import group_consumer
from streams.settings import KafkaSettings

log = logging.getLogger(__name__)
FETCH_TIMEOUT_MS = 50
MAX_RECORDS = 2000


def learner_group(consumer_group: str) -> str:
    """The learner's consumer group, beside the workers' own.

    >>> learner_group("churnwatch")
    'churnwatch.learner'
    """
    return f"{consumer_group}.learner"


class _Revocations(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, reader: TrainingReader) -> None:
        self._reader = reader

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        if revoked:
            await self._reader.commit()
            self._reader.loop.reset()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        if assigned:
            log.info("learning from %s", ", ".join(f"{tp.topic}[{tp.partition}]" for tp in assigned))


class TrainingReader:
    """Reads the training topic into the learner loop; commits what the loop acknowledged."""

    def __init__(
        self,
        loop: LearnerLoop,
        topic: str,
        bootstrap: str,
        group: str,
        kafka: KafkaSettings,
    ) -> None:
        self.loop = loop
        self._topic = topic
        self._bootstrap = bootstrap
        self._group = group
        self._kafka = kafka
        self._consumer: AIOKafkaConsumer | None = None
        self._committed: dict[int, int] = {}
        self._handled_next: dict[int, int] = {}  # partition -> offset after the last record handled

    async def run(self, should_stop: Callable[[], bool]) -> None:
        consumer = group_consumer(self._bootstrap, self._group, self._kafka)
        consumer.subscribe([self._topic], listener=_Revocations(self))
        self._consumer = consumer
        await consumer.start()
        try:
            while not should_stop():
                fetched = await consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS, max_records=MAX_RECORDS)
                records = [
                    TrainingRecord(tp.partition, message.offset, message.value or b"")
                    for tp, messages in sorted(fetched.items())
                    for message in messages
                ]
                if records:
                    await self.loop.handle(records)
                    for record in records:
                        self._handled_next[record.partition] = record.offset + 1
                    await self.commit()
        finally:
            self._consumer = None
            await consumer.stop()

    async def end_offsets(self) -> dict[int, int] | None:
        """The training partitions' end offsets now, asked of the broker (None before an assignment)."""
        consumer = self._consumer
        if consumer is None or not consumer.assignment():
            return None
        ends = await consumer.end_offsets(list(consumer.assignment()))
        return {tp.partition: offset for tp, offset in ends.items()}

    def handled_through(self, ends: dict[int, int]) -> bool:
        """Whether every record below these offsets has been handled (learned or held for a day
        not complete yet): what a measurement waits for before it stops."""
        return all(self._handled_next.get(partition, 0) >= end for partition, end in ends.items())

    async def commit(self) -> None:
        """Commit what the learner has checkpointed (nothing else, and nothing twice)."""
        consumer = self._consumer
        changed = {p: o for p, o in self.loop.committable.items() if self._committed.get(p) != o}
        if consumer is None or not changed:
            return
        assigned = {tp.partition for tp in consumer.assignment()}
        offsets = {
            TopicPartition(self._topic, partition): OffsetAndMetadata(offset, "")
            for partition, offset in changed.items()
            if partition in assigned
        }
        if offsets:
            await consumer.commit(offsets)
            self._committed.update({tp.partition: meta.offset for tp, meta in offsets.items()})
