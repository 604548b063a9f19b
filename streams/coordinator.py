"""Takes validated batches from the agents, aligns them in event time, processes complete ticks.

The order of effects in a tick is what makes a crash at any moment harmless:

1. apply events to features (idempotent per source position);
2. score and decide alerts (pure, from the state right after this tick);
3. publish dead letters for duplicates (at-least-once, keyed by source position);
4. record the alert outbox, alert states and partition progress in one pipeline;
5. publish the alerts and clear them from the outbox;
6. acknowledge the records in offset order (``streams.acks``), so Faust may commit them.

A restart skips what progress says is done, republishes the outbox (same alert ids),
and redoes everything else exactly as before, because ticks depend only on the records.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from features.store import PositionedEvent, SourcePosition
from schemas.errors import OutputUnavailableError, StorageUnavailableError
from schemas.events import EventType
from schemas.outputs import Alert, DeadLetter, DeadLetterReason
from schemas.parsing import Rejection
from streams.acks import InOrderAcks
from streams.alignment import Admission, EventTimeAligner, ReleasedTick, TopicPartition
from streams.metrics import PipelineMetrics
from streams.processor import TickProcessor
from streams.progress_store import ProgressStore
from streams.records import SourceRecord, dead_letter
from streams.validation import RecordValidator

log = logging.getLogger(__name__)

Token = TypeVar("Token")
RETRY_BACKOFF_S = (0.05, 0.2, 0.5, 1.0, 2.0, 5.0)


class OutputSink(Protocol):
    async def publish(self, alerts: Sequence[Alert], dead_letters: Sequence[DeadLetter]) -> None:
        """Deliver, and return only once the broker has acknowledged every record."""
        ...


@dataclass(frozen=True, slots=True)
class Accepted:
    """An admitted event waiting for its tick, with the record it came from."""

    positioned: PositionedEvent
    record: SourceRecord


class IngestCoordinator(Generic[Token]):
    """The worker's single point of decision: one drain at a time, in tick order."""

    def __init__(
        self,
        validator: RecordValidator,
        processor: TickProcessor,
        aligner: EventTimeAligner[Accepted],
        progress: ProgressStore,
        sink: OutputSink,
        acknowledge: Callable[[Token], Awaitable[object]],
        caught_up: Callable[[TopicPartition], bool],
        metrics: PipelineMetrics,
        clock: Callable[[], datetime],
    ) -> None:
        self._validator = validator
        self._processor = processor
        self._aligner = aligner
        self._progress = progress
        self._sink = sink
        self._acks: InOrderAcks[Token] = InOrderAcks(acknowledge)
        self._caught_up = caught_up
        self._ready: deque[ReleasedTick[Accepted]] = deque()
        self._metrics = metrics
        self._clock = clock
        self._lock = asyncio.Lock()
        self._outbox_partitions: set[int] = set()

    async def assign(self, tps: Iterable[TopicPartition]) -> None:
        """Take ownership: restore progress of partitions not owned yet; flush their outboxes."""
        async with self._lock:
            new = sorted(set(tps) - self._aligner.assigned)
            restored = await self._retrying(lambda: self._progress.load(new))
            for tp in new:
                self._aligner.assign(tp, restored.get(tp))
                self._outbox_partitions.add(tp[1])
                done_before = self._aligner.done_before(tp)
                if done_before > 0:  # lag counts from what earlier owners finished, not from 0
                    self._metrics.processed(tp[0], tp[1], done_before - 1)

    async def revoke(self, tps: Iterable[TopicPartition]) -> None:
        """Give up partitions; their unacknowledged records will be read again by the next owner."""
        async with self._lock:
            revoked = set(tps)
            for tp in revoked:
                self._aligner.revoke(tp)
                self._acks.forget(tp)
                self._processor.forget(tp[1])
                self._outbox_partitions.discard(tp[1])
            groups = {tp[1] for tp in revoked}
            self._ready = deque(tick for tick in self._ready if tick.partition not in groups)

    async def submit(self, event_type: EventType, records: Sequence[tuple[SourceRecord, Token]]) -> None:
        """Validate and queue a batch of one topic; dead letters are delivered before anything is acked."""
        if not records:
            return
        topic = records[0][0].topic
        self._metrics.events_in.labels(topic).inc(len(records))
        async with self._lock:
            rejected: list[DeadLetter] = []
            settled: list[SourceRecord] = []
            skipped: Counter[str] = Counter()
            now = self._clock()
            for record, token in records:
                tp = (record.topic, record.partition)
                if not self._aligner.owns(tp):
                    skipped["not_owned"] += 1  # revoked meanwhile: the next owner reads it again
                    continue
                if self._aligner.done_before(tp) <= record.offset < self._aligner.next_received(tp):
                    skipped["delivered_twice"] += 1  # the first delivery is tracked
                    continue
                expected = self._aligner.next_received(tp)
                if record.offset > expected and expected > self._aligner.done_before(tp):
                    self._gap(record, expected)
                self._acks.track(tp, record.offset, token)
                parsed = self._validator.validate(record.value, event_type)
                if isinstance(parsed, Rejection):
                    self._aligner.received(tp, record.offset)
                    rejected.append(dead_letter(record, parsed, now))
                    settled.append(record)
                    continue
                admission, tau_s = self._aligner.admit(tp, record.offset, parsed.event_time.timestamp())
                if admission is Admission.ALREADY_DONE:
                    settled.append(record)
                    self._metrics.events_replayed.inc()
                elif admission is Admission.TOO_LATE:
                    watermark = datetime.fromtimestamp(tau_s - self._aligner.lateness_s, tz=now.tzinfo)
                    rejection = Rejection(
                        DeadLetterReason.TOO_LATE,
                        f"event_time={parsed.event_time.isoformat()}: older than the partition "
                        f"watermark {watermark.isoformat()}",
                    )
                    rejected.append(dead_letter(record, rejection, now))
                    settled.append(record)
                else:
                    positioned = PositionedEvent(
                        parsed, SourcePosition(record.topic, record.partition, record.offset)
                    )
                    self._aligner.add(tp, record.offset, tau_s, Accepted(positioned, record))
            if skipped:
                self._skipped(topic, skipped)
            if rejected:
                await self._retrying(lambda: self._sink.publish((), rejected))
                self._count_dead_letters(rejected)
            for record in settled:
                await self._acks.done((record.topic, record.partition), record.offset)
                self._metrics.processed(record.topic, record.partition, record.offset)

    def _skipped(self, topic: str, counts: Counter[str]) -> None:
        """One log line per batch: a rebalance can skip a whole batch."""
        for reason, count in counts.items():
            self._metrics.records_skipped.labels(reason).inc(count)
        log.warning("skipped records of %s: %s", topic, dict(counts))

    def _gap(self, record: SourceRecord, expected: int) -> None:
        """Offsets the consumer never handed over: the consumer commits them unseen, so say so loudly."""
        missing = record.offset - expected
        self._metrics.offset_gaps.inc(missing)
        log.error(
            "offsets %d..%d of %s[%d] were never delivered to the agent",
            expected, record.offset - 1, record.topic, record.partition,
        )

    def status(self) -> list[dict[str, object]]:
        """Per input partition: what waits for its tick and why (for ``/alignment``)."""
        rows: list[dict[str, object]] = []
        for tp in sorted(self._aligner.assigned):
            rows.append(
                {
                    "topic": tp[0],
                    "partition": tp[1],
                    "pending": self._aligner.pending_count(tp),
                    "waiting_acks": self._acks.waiting(tp),
                    "next_received": self._aligner.next_received(tp),
                    "done_before": self._aligner.done_before(tp),
                    "caught_up": self._caught_up(tp),
                    "ahead": self._aligner.is_ahead(tp, self._caught_up),
                }
            )
        return rows

    async def drain(self) -> int:
        """Process every complete tick, one at a time, so batches can be admitted in between."""
        processed = 0
        while True:
            async with self._lock:
                for partition in sorted(self._outbox_partitions):
                    await self._retrying(lambda p=partition: self._flush_outbox(p))  # type: ignore[misc]
                self._outbox_partitions.clear()
                if not self._ready:
                    self._ready.extend(self._aligner.release(self._caught_up))
                if not self._ready:
                    return processed
                tick = self._ready.popleft()
                await self._retrying(lambda t=tick: self._process_tick(t))  # type: ignore[misc]
                processed += 1

    async def _flush_outbox(self, partition: int) -> None:
        pending = await self._progress.outbox(partition)
        if pending:
            log.info("republishing %d alerts from the outbox of partition %d", len(pending), partition)
            await self._sink.publish(pending, ())
            await self._progress.published(partition, [alert.alert_id for alert in pending])

    async def _process_tick(self, tick: ReleasedTick[Accepted]) -> None:
        started = time.perf_counter()
        accepted = [item.token for item in tick.items]
        outcome = await self._processor.process(tick.partition, [a.positioned for a in accepted])
        if outcome.duplicates:
            by_position = {a.positioned.position: a.record for a in accepted}
            now = self._clock()
            letters = [
                dead_letter(
                    by_position[duplicate.position],
                    Rejection(
                        DeadLetterReason.DUPLICATE,
                        f"event_id={duplicate.event.event_id!r}: already applied from another record",
                    ),
                    now,
                )
                for duplicate in outcome.duplicates
            ]
            await self._sink.publish((), letters)
            self._count_dead_letters(letters)
        alerts = [decision.alert for decision in outcome.decisions]
        states = {decision.alert.customer_id: decision.state for decision in outcome.decisions}
        await self._progress.record(tick.progress, tick.partition, alerts, states)
        self._processor.remember(tick.partition, states)
        if alerts:
            await self._sink.publish(alerts, ())
            await self._progress.published(tick.partition, [alert.alert_id for alert in alerts])
            self._observe_alerts(alerts, accepted)
        for item in accepted:
            await self._acks.done((item.record.topic, item.record.partition), item.record.offset)
        for (topic, partition), progress in tick.progress.items():
            self._metrics.processed(topic, partition, progress.next_offset - 1)
        self._metrics.events_applied.inc(outcome.applied)
        self._metrics.events_replayed.inc(outcome.replayed)
        self._metrics.batch_seconds.observe(time.perf_counter() - started)

    def _observe_alerts(self, alerts: Sequence[Alert], accepted: Sequence[Accepted]) -> None:
        produced_at: dict[str, float] = {}
        for item in accepted:
            if item.record.timestamp_s is not None:
                produced_at[item.positioned.event.customer_id] = item.record.timestamp_s
        published_at = time.time()
        for alert in alerts:
            self._metrics.alerts.labels(alert.zone.value).inc()
            if alert.customer_id in produced_at:
                self._metrics.event_to_alert_seconds.observe(
                    max(0.0, published_at - produced_at[alert.customer_id])
                )

    def _count_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        for letter in letters:
            self._metrics.dead_letters.labels(letter.reason.value).inc()

    async def _retrying(self, step: Callable[[], Awaitable[_T]]) -> _T:
        """Run a step until Redis and the broker take it: a stalled partition beats a lost record."""
        attempt = 0
        while True:
            try:
                return await step()
            except (StorageUnavailableError, OutputUnavailableError) as error:
                if isinstance(error, StorageUnavailableError):
                    self._metrics.redis_errors.inc()
                else:
                    self._metrics.publish_errors.inc()
                delay = RETRY_BACKOFF_S[min(attempt, len(RETRY_BACKOFF_S) - 1)]
                log.warning(
                    "storage unavailable (attempt %d), retrying in %.2fs: %s", attempt + 1, delay, error
                )
                attempt += 1
                await asyncio.sleep(delay)


_T = TypeVar("_T")
