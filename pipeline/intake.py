"""Taking a batch of one input topic: validate, admit in event time, queue per partition.

Each record is checked against what this worker owns and has already seen of its
partition (revoked meanwhile, delivered twice, a gap the consumer skipped, a consumer
that started past its committed offset), then validated and admitted by the aligner:
accepted events wait for their tick; rejected ones (invalid, too late, implausibly far
ahead, already done by an earlier owner) are settled at once, as dead letters or not.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from features.store import PositionedEvent, SourcePosition
from pipeline.acks import InOrderAcks
from pipeline.alignment import Admission, EventTimeAligner
from pipeline.release import TickRelease
from pipeline.storage_guard import CommittedOffsets
from schemas.events import EventType
from schemas.outputs import DeadLetter, DeadLetterReason
from schemas.parsing import Rejection
from streams.metrics import PipelineMetrics
from streams.records import SourceRecord, TopicPartition, dead_letter
from streams.validation import RecordValidator

log = logging.getLogger(__name__)

Token = TypeVar("Token")


@dataclass(frozen=True, slots=True)
class Accepted:
    """An admitted event waiting for its tick, with the record it came from."""

    positioned: PositionedEvent
    record: SourceRecord


@dataclass
class IntakeResult:
    """A batch after intake: dead letters to deliver, then records to acknowledge (in this order)."""

    rejected: list[DeadLetter] = field(default_factory=list)
    settled: list[SourceRecord] = field(default_factory=list)


class Intake(Generic[Token]):
    """Per-partition intake state: which partitions were checked against their committed offset,
    and which are being rewound there."""

    def __init__(
        self,
        validator: RecordValidator,
        aligner: EventTimeAligner[Accepted],
        acks: InOrderAcks[Token],
        release: TickRelease[Accepted],
        metrics: PipelineMetrics,
        clock: Callable[[], datetime],
        committed: CommittedOffsets,
        rewind: Callable[[TopicPartition, int], Awaitable[object]],
    ) -> None:
        self._validator = validator
        self._aligner = aligner
        self._acks = acks
        self._release = release
        self._metrics = metrics
        self._clock = clock
        self._committed = committed
        self._rewind = rewind
        self._rewinding: dict[TopicPartition, int] = {}  # sent back to this offset; until then skip
        self._start_checked: set[TopicPartition] = set()  # first record of the assignment checked

    def reset(self, tp: TopicPartition) -> None:
        """A partition assigned or revoked: its first record is checked again."""
        self._start_checked.discard(tp)
        self._rewinding.pop(tp, None)

    async def take(
        self, event_type: EventType, topic: str, records: Sequence[tuple[SourceRecord, Token]]
    ) -> IntakeResult:
        """Validate and queue a batch of one topic; nothing is published or acknowledged yet."""
        result = IntakeResult()
        skipped: Counter[str] = Counter()
        now = self._clock()
        validated = self._validator.validate_batch([(r.key, r.value) for r, _ in records], event_type)
        for (record, token), parsed in zip(records, validated, strict=True):
            tp = (record.topic, record.partition)
            if not self._aligner.owns(tp):
                skipped["not_owned"] += 1  # revoked meanwhile: the next owner reads it again
                continue
            pending_check = tp in self._rewinding or tp not in self._start_checked
            if pending_check and await self._skipped_ahead(tp, record.offset):
                skipped["rewinding"] += 1
                continue
            if self._aligner.done_before(tp) <= record.offset < self._aligner.next_received(tp):
                skipped["delivered_twice"] += 1  # the first delivery is tracked
                continue
            expected = self._aligner.next_received(tp)
            if record.offset > expected and expected > self._aligner.done_before(tp):
                self._gap(record, expected)
            self._acks.track(tp, record.offset, token)
            self._release.received(record.partition)
            if isinstance(parsed, Rejection):
                self._aligner.received(tp, record.offset)
                result.rejected.append(dead_letter(record, parsed, now))
                result.settled.append(record)
                continue
            produced_at_s = record.timestamp_s if record.timestamp_s and record.timestamp_s > 0 else None
            admission, tau_s = self._aligner.admit(
                tp, record.offset, parsed.event_time.timestamp(), produced_at_s
            )
            if admission is Admission.ALREADY_DONE:
                result.settled.append(record)
                self._metrics.events_replayed.inc()
            elif admission is Admission.TOO_LATE:
                watermark = datetime.fromtimestamp(tau_s - self._aligner.lateness_s, tz=now.tzinfo)
                rejection = Rejection(
                    DeadLetterReason.TOO_LATE,
                    f"event_time={parsed.event_time.isoformat()}: older than the partition "
                    f"watermark {watermark.isoformat()}",
                    parsed,
                )
                result.rejected.append(dead_letter(record, rejection, now))
                result.settled.append(record)
            elif admission is Admission.TOO_FAR_AHEAD:
                rejection = Rejection(
                    DeadLetterReason.IMPLAUSIBLE_TIME,
                    f"event_time={parsed.event_time.isoformat()}: too far ahead of the partition's "
                    "effective time and of the record's timestamp "
                    "(CHURNWATCH_EVENT_TIME__MAX_AHEAD_HOURS)",
                    parsed,
                )
                result.rejected.append(dead_letter(record, rejection, now))
                result.settled.append(record)
            else:
                positioned = PositionedEvent(
                    parsed, SourcePosition(record.topic, record.partition, record.offset)
                )
                if self._aligner.add(tp, record.offset, tau_s, Accepted(positioned, record)):
                    self._metrics.events_late.labels(record.topic).inc()
        if skipped:
            self._skipped(topic, skipped)
        return result

    async def _skipped_ahead(self, tp: TopicPartition, offset: int) -> bool:
        """Whether the consumer started this partition past its committed offset; if so, rewind it.

        After a rebalance the consumer must deliver from the committed offset. When its seek
        there fails (seen: Faust's seek during a rebalance raising for a partition no longer
        assigned), it goes on from where it had fetched, past records the previous assignment
        dropped unprocessed; acknowledging later records would commit over them. So the first
        record of an assignment beyond the recorded progress is checked against the committed
        offset, and the partition is sent back there; records until then are not taken.
        """
        target = self._rewinding.get(tp)
        if target is not None:
            if offset != target:
                return True
            del self._rewinding[tp]
            return False
        if tp in self._start_checked:
            return False
        self._start_checked.add(tp)
        done_before = self._aligner.done_before(tp)
        if offset <= done_before or self._aligner.next_received(tp) != done_before:
            return False
        committed = (await self._committed([tp])).get(tp)
        if committed is None or offset <= committed:
            return False
        log.error(
            "%s[%d] started at offset %d, past its committed offset %d: rewinding",
            tp[0],
            tp[1],
            offset,
            committed,
        )
        self._metrics.rewinds.inc()
        self._rewinding[tp] = committed
        await self._rewind(tp, committed)
        return True

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
            expected,
            record.offset - 1,
            record.topic,
            record.partition,
        )

