"""The input topics' reader: one aiokafka consumer that hands whole fetched batches over.

Faust's own consumer path costs about 53 µs per record before an agent sees it (a
``wait_first`` per message in ``Consumer._drain_messages``, the conductor's lock and
``Event`` per message, a ``sleep(0)`` and queue ``get`` per record in the stream, one
ack each). This reader takes what ``getmany`` fetched, per partition, and hands it over
in one call per topic: framework work per batch, not per record. In the worker that call
puts the batch on the topic's channel and waits for the topic's agent to have handled it
(``streams.input_batches``, ``agents/inputs.py``), so the next ``getmany`` waits too.

Offsets are ours: a record's offset is committed only once the coordinator has
acknowledged it (its tick's effects are durable in Redis), in offset order, and the
commit happens every ``commit_interval_s``, when partitions are revoked, and when the
reader stops. The reader's consumer group is the worker's app id, so it continues
from what any earlier worker of the group committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError
from aiokafka.structs import OffsetAndMetadata

from streams.group_consumer import group_consumer
from streams.metrics import PipelineMetrics
from streams.records import SourceRecord
from streams.settings import KafkaSettings

log = logging.getLogger(__name__)

PartitionKey = tuple[str, int]
InputToken = SourceRecord
"""What the coordinator acknowledges: the record itself, which knows its position."""

BatchHandler = Callable[[str, Sequence[tuple[SourceRecord, InputToken]]], Awaitable[object]]
"""Takes one topic's fetched records (several partitions possible), in offset order per partition."""


@dataclass(frozen=True, slots=True)
class ReaderHooks:
    """What the reader calls: the batch handler (awaited, one topic's batch at a time) and the
    rebalance steps."""

    handle: BatchHandler
    assigned: Callable[[list[PartitionKey]], Awaitable[object]]
    revoked: Callable[[list[PartitionKey]], Awaitable[object]]


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, reader: InputReader) -> None:
        self._reader = reader

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._reader.on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._reader.on_assigned(assigned)


class InputReader:
    """Reads the input topics in bulk for one worker; commits only what was acknowledged."""

    def __init__(
        self,
        topics: Iterable[str],
        bootstrap: str,
        group: str,
        kafka: KafkaSettings,
        hooks: ReaderHooks,
        metrics: PipelineMetrics,
        max_records: int,
        poll_timeout_s: float = 0.1,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._topics = sorted(topics)
        self._bootstrap = bootstrap
        self._group = group
        self._kafka = kafka
        self._hooks = hooks
        self._metrics = metrics
        self._max_records = max_records
        self._poll_timeout_ms = int(poll_timeout_s * 1000)
        self._monotonic = monotonic
        self._consumer: AIOKafkaConsumer | None = None
        self._acked: dict[PartitionKey, int] = {}  # next offset to commit, per partition
        self._committed: dict[PartitionKey, int] = {}
        self._last_commit = monotonic()
        self._rebalance_started: float | None = None
        self._stopping = False
        self._finished = asyncio.Event()

    # -- what the worker and its pages ask -----------------------------------------------

    @property
    def rebalancing(self) -> bool:
        """Between giving partitions up and receiving the new assignment."""
        return self._rebalance_started is not None

    def assignment(self) -> list[PartitionKey]:
        consumer = self._consumer
        if consumer is None:
            return []
        return sorted((tp.topic, tp.partition) for tp in consumer.assignment())

    def highwater(self, tp: PartitionKey) -> int | None:
        """The last fetch's high-water mark (right on every broker, unlike ``end_offsets``)."""
        consumer = self._consumer
        if consumer is None:
            return None
        try:
            return consumer.highwater(TopicPartition(*tp))  # type: ignore[no-any-return]
        except IllegalStateError:
            return None

    async def acknowledge(self, token: InputToken) -> None:
        """Mark a record done; the coordinator acknowledges in offset order per partition."""
        self._acked[(token.topic, token.partition)] = token.offset + 1

    async def rewind(self, tp: PartitionKey, offset: int) -> None:
        """Deliver a partition again from ``offset`` (a no-op if it is no longer assigned)."""
        consumer = self._consumer
        if consumer is None:
            return
        try:
            consumer.seek(TopicPartition(*tp), offset)
        except IllegalStateError:
            log.warning("%s[%d] is no longer assigned: not rewound", tp[0], tp[1])

    # -- the loop --------------------------------------------------------------------------

    async def run(self, should_stop: Callable[[], bool]) -> None:
        """Fetch, hand over, commit, until the worker stops; then commit and leave the group."""
        kafka = self._kafka
        consumer = group_consumer(self._bootstrap, self._group, kafka, self._max_records)
        consumer.subscribe(self._topics, listener=_Rebalance(self))
        self._consumer = consumer
        self._rebalance_started = self._monotonic()
        await consumer.start()
        try:
            while not (self._stopping or should_stop()):
                fetched = await consumer.getmany(
                    timeout_ms=self._poll_timeout_ms, max_records=self._max_records
                )
                if fetched:
                    await self._hand_over(fetched)
                if self._monotonic() - self._last_commit >= kafka.commit_interval_s:
                    await self.commit()
            await self.commit()
        finally:
            self._consumer = None
            try:
                await consumer.stop()
            finally:
                self._finished.set()

    async def stop(self, timeout_s: float) -> None:
        """Finish the batch in hand, commit, leave the group; before the producer goes away."""
        self._stopping = True
        if self._consumer is None:
            return
        try:
            await asyncio.wait_for(self._finished.wait(), timeout_s)
        except TimeoutError:
            log.warning("input reader did not stop within %.1f s", timeout_s)

    async def _hand_over(self, fetched: Mapping[TopicPartition, list[object]]) -> None:
        by_topic: dict[str, list[tuple[SourceRecord, InputToken]]] = {}
        for tp in sorted(fetched, key=lambda tp: (tp.topic, tp.partition)):
            topic, partition = tp.topic, tp.partition
            records = by_topic.setdefault(topic, [])
            for message in fetched[tp]:
                record = SourceRecord(
                    topic=topic,
                    partition=partition,
                    offset=message.offset,  # type: ignore[attr-defined]
                    key=message.key,  # type: ignore[attr-defined]
                    value=message.value,  # type: ignore[attr-defined]
                    timestamp_s=message.timestamp / 1000.0,  # type: ignore[attr-defined]
                )
                records.append((record, record))
        for topic, records in by_topic.items():
            await self._hooks.handle(topic, records)

    async def commit(self, only: Iterable[PartitionKey] | None = None) -> None:
        """Commit every acknowledged offset that changed (of ``only`` these partitions)."""
        self._last_commit = self._monotonic()
        consumer = self._consumer
        if consumer is None:
            return
        wanted = set(self._acked) if only is None else set(only) & set(self._acked)
        assigned = {(tp.topic, tp.partition) for tp in consumer.assignment()}
        offsets = {
            TopicPartition(*tp): OffsetAndMetadata(self._acked[tp], "")
            for tp in sorted(wanted & assigned)
            if self._committed.get(tp) != self._acked[tp]
        }
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as error:  # the next owner then reads a little more again
            self._metrics.commit_failures.inc()
            log.warning("offset commit failed (%s): the next owner re-reads from the last commit", error)
            return
        self._committed.update({(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()})

    # -- rebalances ------------------------------------------------------------------------

    async def on_revoked(self, revoked: list[TopicPartition]) -> None:
        if self._rebalance_started is None:
            self._rebalance_started = self._monotonic()
            self._metrics.rebalances.inc()
        keys = sorted((tp.topic, tp.partition) for tp in revoked)
        if not keys:
            return
        await self._hooks.revoked(keys)  # waits for the tick in hand; acks are final after it
        await self.commit(keys)
        for key in keys:
            self._acked.pop(key, None)
            self._committed.pop(key, None)

    async def on_assigned(self, assigned: list[TopicPartition]) -> None:
        keys = sorted((tp.topic, tp.partition) for tp in assigned)
        if keys:
            log.info("reading %s", ", ".join(f"{topic}[{partition}]" for topic, partition in keys))
        await self._hooks.assigned(keys)
        if self._rebalance_started is not None:
            self._metrics.rebalance_seconds.observe(self._monotonic() - self._rebalance_started)
            self._rebalance_started = None
