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

Redis outages are waited out with backoff (records stop being taken meanwhile, since
every step holds the one lock) until ``StorageHealth``'s limit; after each failure the
group's marker and the recorded progress are checked again before going on, so a Redis
that came back empty or older is noticed and processing stops instead of going on wrong.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from features.store import PositionedEvent, SourcePosition
from models.labels import day_date, day_end_s, resolve
from models.routing import VersionScorer
from policy.alerts import Decision, sendable
from schemas.errors import OutputUnavailableError, StorageDataLostError, StorageUnavailableError
from schemas.events import EventType
from schemas.outputs import (
    Alert,
    CapacityDay,
    DeadLetter,
    DeadLetterReason,
    Prediction,
    ResolvedDay,
    TrainingExample,
)
from schemas.parsing import Rejection
from streams.acks import InOrderAcks
from streams.activity_index import DAY_S
from streams.alignment import Admission, EventTimeAligner, PartitionProgress, ReleasedTick, TopicPartition
from streams.label_store import LabelStore
from streams.metrics import PipelineMetrics
from streams.model_versions import ModelVersions
from streams.processor import TickProcessor
from streams.progress_store import ProgressStore
from streams.records import SourceRecord, dead_letter
from streams.storage_health import RETRY_BACKOFF_S, StorageHealth
from streams.validation import RecordValidator

CommittedOffsets = Callable[[Sequence[TopicPartition]], Awaitable[Mapping[TopicPartition, int]]]
"""The consumer group's committed offsets of these partitions (absent or -1: none)."""

EndOffsets = Callable[[Mapping[TopicPartition, int]], Awaitable[Mapping[TopicPartition, int]]]
"""The broker's end offsets of these partitions (read from these positions), asked now."""

log = logging.getLogger(__name__)

Token = TypeVar("Token")
RELEASE_CHECK_STALL_S = 0.5  # release checks normally come every drain interval (0.2 s)
END_OFFSETS_TIMEOUT_S = 2.0


class OutputSink(Protocol):
    async def publish(
        self,
        alerts: Sequence[Alert],
        dead_letters: Sequence[DeadLetter],
        predictions: Sequence[Prediction] = (),
        training: Sequence[TrainingExample | ResolvedDay] = (),
        capacity_days: Sequence[CapacityDay] = (),
    ) -> None:
        """Deliver, and return only once the broker has acknowledged every record."""
        ...


@dataclass(frozen=True, slots=True)
class CaughtUpProof:
    """The broker's end offset of a partition, asked when its group had read up to ``group_tau_s``
    and had received ``inputs`` batches: once read to it, nothing sent before then is unread."""

    end_offset: int
    group_tau_s: float
    inputs: int


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
        end_offsets: EndOffsets,
        metrics: PipelineMetrics,
        clock: Callable[[], datetime],
        health: StorageHealth,
        committed: CommittedOffsets,
        rewind: Callable[[TopicPartition, int], Awaitable[object]],
        versions: ModelVersions,
        labels: LabelStore,
        horizon_days: int = 30,
        resolution_delay_days: int = 33,
        release_idle_s: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._validator = validator
        self._processor = processor
        self._aligner = aligner
        self._progress = progress
        self._sink = sink
        self._acks: InOrderAcks[Token] = InOrderAcks(acknowledge)
        self._caught_up = caught_up  # by the last fetch's high-water mark: cheap, possibly stale
        self._end_offsets = end_offsets
        self._proofs: dict[TopicPartition, CaughtUpProof] = {}
        self._inputs: dict[int, int] = {}  # partition group -> records received so far
        self._ready: deque[ReleasedTick[Accepted]] = deque()
        self._metrics = metrics
        self._clock = clock
        self._lock = asyncio.Lock()
        self._outbox_partitions: set[int] = set()
        self._health = health
        self._committed = committed
        self._release_idle_s = release_idle_s
        self._monotonic = monotonic
        self._last_input: dict[int, float] = {}  # partition group -> when it last received a record
        self._last_release_check = monotonic()
        self._not_idle_before = -math.inf
        self._recorded: dict[TopicPartition, PartitionProgress] = {}  # what Redis must still hold
        self._marker_known = False
        self._swept: dict[int, int] = {}  # partition group -> last event-time day swept
        self._rewind = rewind
        self._rewinding: dict[TopicPartition, int] = {}  # sent back to this offset; until then skip
        self._start_checked: set[TopicPartition] = set()  # first record of the assignment checked
        self._versions = versions
        self._labels = labels
        self._horizon_days = horizon_days
        self._resolution_delay_days = resolution_delay_days

    @property
    def health(self) -> StorageHealth:
        return self._health

    async def assign(self, tps: Iterable[TopicPartition]) -> None:
        """Take ownership: restore progress of partitions not owned yet; flush their outboxes."""
        if self._health.data_lost:
            return
        async with self._lock:
            new = sorted(set(tps) - self._aligner.assigned)
            restored = await self._retrying(lambda: self._progress.load(new))
            if not self._marker_known and new:
                try:
                    await self._retrying(lambda: self._check_marker(new, restored))
                except StorageDataLostError:
                    return
            groups = {tp[1] for tp in new} - set(self._swept)
            self._swept.update(await self._retrying(lambda: self._progress.swept_days(groups)))
            for tp in new:
                self._start_checked.discard(tp)
                self._rewinding.pop(tp, None)
                self._aligner.assign(tp, restored.get(tp))
                if tp in restored:
                    self._recorded[tp] = restored[tp]
                self._outbox_partitions.add(tp[1])
                done_before = self._aligner.done_before(tp)
                if done_before > 0:  # lag counts from what earlier owners finished, not from 0
                    self._metrics.processed(tp[0], tp[1], done_before - 1)

    async def revoke(self, tps: Iterable[TopicPartition]) -> None:
        """Give up partitions; their unacknowledged records will be read again by the next owner."""
        async with self._lock:
            revoked = set(tps)
            for tp in revoked:
                self._start_checked.discard(tp)
                self._rewinding.pop(tp, None)
                self._aligner.revoke(tp)
                self._recorded.pop(tp, None)
                self._proofs.pop(tp, None)
                self._acks.forget(tp)
                self._processor.forget(tp[1])
                self._outbox_partitions.discard(tp[1])
            groups = {tp[1] for tp in revoked}
            self._ready = deque(tick for tick in self._ready if tick.partition not in groups)
            for partition in groups - {tp[1] for tp in self._aligner.assigned}:
                self._swept.pop(partition, None)

    async def submit(self, event_type: EventType, records: Sequence[tuple[SourceRecord, Token]]) -> None:
        """Validate and queue a batch of one topic; dead letters are delivered before anything is acked."""
        if not records:
            return
        topic = records[0][0].topic
        self._metrics.events_in.labels(topic).inc(len(records))
        await self._hold_if_halted()
        try:
            await self._submit(event_type, topic, records)
        except StorageDataLostError:
            await self._hold_if_halted()

    async def _submit(
        self, event_type: EventType, topic: str, records: Sequence[tuple[SourceRecord, Token]]
    ) -> None:
        async with self._lock:
            if self._health.data_lost:  # noticed while this batch waited for the lock
                raise StorageDataLostError(self._health.data_lost)
            rejected: list[DeadLetter] = []
            settled: list[SourceRecord] = []
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
                self._last_input[record.partition] = self._monotonic()
                self._inputs[record.partition] = self._inputs.get(record.partition, 0) + 1
                if isinstance(parsed, Rejection):
                    self._aligner.received(tp, record.offset)
                    rejected.append(dead_letter(record, parsed, now))
                    settled.append(record)
                    continue
                produced_at_s = record.timestamp_s if record.timestamp_s and record.timestamp_s > 0 else None
                admission, tau_s = self._aligner.admit(
                    tp, record.offset, parsed.event_time.timestamp(), produced_at_s
                )
                if admission is Admission.ALREADY_DONE:
                    settled.append(record)
                    self._metrics.events_replayed.inc()
                elif admission is Admission.TOO_LATE:
                    watermark = datetime.fromtimestamp(tau_s - self._aligner.lateness_s, tz=now.tzinfo)
                    rejection = Rejection(
                        DeadLetterReason.TOO_LATE,
                        f"event_time={parsed.event_time.isoformat()}: older than the partition "
                        f"watermark {watermark.isoformat()}",
                        parsed,
                    )
                    rejected.append(dead_letter(record, rejection, now))
                    settled.append(record)
                elif admission is Admission.TOO_FAR_AHEAD:
                    rejection = Rejection(
                        DeadLetterReason.IMPLAUSIBLE_TIME,
                        f"event_time={parsed.event_time.isoformat()}: too far ahead of the partition's "
                        "effective time and of the record's timestamp "
                        "(CHURNWATCH_EVENT_TIME__MAX_AHEAD_HOURS)",
                        parsed,
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
                    "caught_up": self._proven(tp) is not None,
                    "ahead": self._aligner.is_ahead(tp, self._proven),
                }
            )
        return rows

    async def drain(self) -> int:
        """Process every complete tick, one at a time, so batches can be admitted in between."""
        if self._health.data_lost:
            return 0
        try:
            return await self._drain()
        except StorageDataLostError:
            return 0

    async def _drain(self) -> int:
        processed = 0
        while True:
            async with self._lock:
                if self._health.data_lost:  # noticed while this drain waited for the lock
                    return processed
                for partition in sorted(self._outbox_partitions):
                    await self._retrying(lambda p=partition: self._flush_outbox(p))  # type: ignore[misc]
                self._outbox_partitions.clear()
                self._note_release_check()
                self._ready.extend(self._aligner.release(self._proven, self._idle))
                steps = await self._retrying(self._next_steps)
                self._metrics.ticks_waiting_for_model.set(len(self._ready) if not steps else 0)
                if not steps:
                    return processed
                for tick, sweep_day, scorer in steps:
                    if scorer is not None and sweep_day is None:
                        self._take(tick)
                # groups are independent (own keys, progress, outbox): their steps overlap in
                # time, so a tick's Redis and broker round trips do not wait for another group's
                async with asyncio.TaskGroup() as running:
                    for step in steps:
                        running.create_task(self._run_step(*step))
                processed += sum(
                    1 for _, sweep_day, scorer in steps if scorer is not None and sweep_day is None
                )

    async def _run_step(
        self, tick: ReleasedTick[Accepted], sweep_day: int | None, scorer: VersionScorer | None
    ) -> None:
        if scorer is None:  # the group's first tick ever
            await self._retrying(lambda: self._start_group(tick))
        elif sweep_day is not None:
            await self._retrying(lambda: self._sweep_day(tick.partition, sweep_day, scorer))
        else:
            await self._retrying(lambda: self._process_tick(tick, scorer))

    def _take(self, tick: ReleasedTick[Accepted]) -> None:
        """Remove this very tick (the first of its group) from the released ones."""
        for index, waiting in enumerate(self._ready):
            if waiting is tick:
                del self._ready[index]
                return

    async def _next_steps(
        self,
    ) -> list[tuple[ReleasedTick[Accepted], int | None, VersionScorer | None]]:
        """Per group, the first released tick's next step if it can run now: a day's sweep due
        before it, or the tick itself; each needs its day's model version written.

        A group whose version is not written yet waits without holding the others up: their
        sweeps are what the learner needs to write it.
        """
        steps: list[tuple[ReleasedTick[Accepted], int | None, VersionScorer | None]] = []
        seen: set[int] = set()
        for tick in self._ready:
            if tick.partition in seen:
                continue
            seen.add(tick.partition)  # later ticks of this group wait for this one
            day = int(self._aligner.tick_start_s(tick.tick) // DAY_S)
            last_swept = self._swept.get(tick.partition)
            if last_swept is None:
                steps.append((tick, None, None))
                continue
            step_day = last_swept + 1 if last_swept + 1 < day else day
            scorer = await self._versions.scorer_for(step_day)
            if scorer is not None:
                steps.append((tick, (step_day if step_day < day else None), scorer))
        return steps

    def _note_release_check(self) -> None:
        """A long gap since the last release check means this worker itself was busy or stalled,
        and could not read either: that time does not count as the input being idle."""
        now = self._monotonic()
        if now - self._last_release_check > RELEASE_CHECK_STALL_S:
            self._not_idle_before = now
        self._last_release_check = now

    def _idle(self, partition: int) -> bool:
        """Nothing new for this partition group for ``release_idle_s`` while this worker kept reading,
        and every member's proof of being caught up was asked after the group's last record."""
        last = max(self._last_input.get(partition, -math.inf), self._not_idle_before)
        if self._monotonic() - last < self._release_idle_s:
            return False
        inputs = self._inputs.get(partition, 0)
        members = [tp for tp in self._aligner.assigned if tp[1] == partition]
        return all((proof := self._proofs.get(tp)) is not None and proof.inputs == inputs for tp in members)

    def _proven(self, tp: TopicPartition) -> float | None:
        """The group time as of which this partition is proven to have read all the broker held."""
        proof = self._proofs.get(tp)
        if proof is None or self._aligner.next_received(tp) < proof.end_offset:
            return None
        return proof.group_tau_s

    async def prove_caught_up(self) -> None:
        """Ask the broker's end offsets of partitions that look caught up in groups holding events.

        A fetch's high-water mark may be older than records the other topics already
        delivered; an answer asked after them proves the partition holds nothing sent
        before them. No answer (broker busy, rebalance) proves nothing and is retried
        on the next call.
        """
        candidates = [
            tp
            for tp in sorted(self._aligner.assigned)
            if self._aligner.group_pending(tp[1]) > 0 and self._caught_up(tp)
        ]
        if not candidates:
            return
        asked = {tp[1]: (self._aligner.group_tau_s(tp[1]), self._inputs.get(tp[1], 0)) for tp in candidates}
        try:
            positions = {tp: self._aligner.next_received(tp) for tp in candidates}
            ends = await asyncio.wait_for(self._end_offsets(positions), END_OFFSETS_TIMEOUT_S)
        except Exception as exc:  # no answer is no proof, and the next call asks again
            log.debug("end offsets not available: %r", exc)
            return
        for tp in candidates:
            end = ends.get(tp)
            if end is not None and self._aligner.owns(tp):  # not revoked while asking
                group_tau_s, inputs = asked[tp[1]]
                self._proofs[tp] = CaughtUpProof(end, group_tau_s, inputs)

    async def check_storage(self) -> None:
        """Verify that Redis still holds this group's marker and recorded progress (periodic)."""
        if self._health.data_lost:
            return
        try:
            async with self._lock:
                await self._retrying(self._verify_store)
        except StorageDataLostError:
            return

    async def _check_marker(
        self, tps: Sequence[TopicPartition], restored: Mapping[TopicPartition, PartitionProgress]
    ) -> None:
        """On first assignment: a marker, or progress (written by an older version), or a fresh group.

        Without either, committed offsets mean Redis lost what this group wrote.
        """
        if await self._progress.marker() is None:
            if not restored:
                committed = await self._committed(tps)
                behind = {tp: offset for tp, offset in committed.items() if offset > 0}
                if behind:
                    self._lose(
                        f"the consumer group has committed offsets ({len(behind)} partitions) but Redis "
                        f"holds neither its marker nor its progress"
                    )
            await self._progress.write_marker(self._clock().isoformat())
        self._marker_known = True

    async def _verify_store(self) -> None:
        """Raises ``StorageDataLostError`` if the marker or recorded progress is gone or older."""
        if self._marker_known and await self._progress.marker() is None:
            self._lose("the consumer group's marker is gone (Redis restarted without its data?)")
        owned = sorted(tp for tp in self._recorded if self._aligner.owns(tp))
        if not owned:
            return
        stored = await self._progress.load(owned)
        for tp in owned:
            expected = self._recorded[tp]
            found = stored.get(tp)
            if found is None or found.next_offset < expected.next_offset:
                self._lose(
                    f"progress of {tp[0]}[{tp[1]}] went back from offset {expected.next_offset} to "
                    f"{found.next_offset if found else 'nothing'} (Redis restored an older state?)"
                )

    def _lose(self, reason: str) -> None:
        self._health.lost(reason)
        raise StorageDataLostError(reason)

    async def _hold_if_halted(self) -> None:
        """After data loss, agents wait here (taking nothing) until the worker is stopped."""
        if self._health.data_lost:
            await asyncio.Event().wait()

    async def _flush_outbox(self, partition: int) -> None:
        pending = await self._progress.outbox(partition)
        if pending:
            log.info("republishing %d alerts from the outbox of partition %d", len(pending), partition)
            await self._sink.publish(pending, ())
            await self._progress.published(partition, [alert.alert_id for alert in pending])

    async def _start_group(self, tick: ReleasedTick[Accepted]) -> None:
        """A group's first tick ever: nothing ended before it. The learner hears of the group
        (an empty ``ResolvedDay``) before any of its days can be waited for."""
        day = int(self._aligner.tick_start_s(tick.tick) // DAY_S)
        started = ResolvedDay(partition=tick.partition, resolved_on=day_date(day - 1), examples=0)
        await self._sink.publish((), (), (), [started])
        await self._progress.record({}, tick.partition, (), {}, swept_day=day - 1)
        self._swept[tick.partition] = day - 1

    async def _sweep_day(self, partition: int, day: int, scorer: VersionScorer) -> None:
        """The end of event-time ``day`` for a group, before any later event is applied:

        snapshots (published and kept pending), the silent's alerts, and the resolution of
        the snapshots whose horizon and lateness ended with this day (training examples and
        the day's ``ResolvedDay``, published before the sweep is recorded, so a crash
        anywhere redoes the same sweep with the same results).
        """
        sweep = await self._processor.sweep(partition, day, scorer)
        if sweep.snapshots:
            await self._sink.publish((), (), sweep.snapshots)
            self._metrics.snapshots.inc(len(sweep.snapshots))
        self._metrics.pending_bytes.inc(
            await self._labels.keep(partition, day, sweep.model_version, sweep.pending)
        )
        due_day = day - self._resolution_delay_days
        start_s = day_end_s(due_day)
        version, pending, churns = await self._labels.due(
            partition, due_day, start_s, start_s + self._horizon_days * DAY_S
        )
        examples = resolve(pending, version, churns, self._horizon_days, partition, day)
        marker = ResolvedDay(partition=partition, resolved_on=day_date(day), examples=len(examples))
        await self._sink.publish(
            (), (), (), [*examples, marker], [sweep.capacity_day] if sweep.capacity_day else []
        )
        for example in examples:
            self._metrics.examples_resolved.labels("churned" if example.churned else "stayed").inc()
        await self._labels.resolved(partition, due_day, day_end_s(due_day + 1))
        alerts = self._sendable(sweep.decisions)
        states = {decision.alert.customer_id: decision.state for decision in sweep.decisions}
        await self._progress.record(
            {},
            partition,
            alerts,
            states,
            swept_day=day,
            snapshots=sweep.snapshots,
            capacity=sweep.capacity_write,
        )
        self._swept[partition] = day
        self._processor.remember(partition, states)
        self._processor.remember_capacity(partition, sweep.capacity)
        if alerts:
            await self._sink.publish(alerts, ())
            await self._progress.published(partition, [alert.alert_id for alert in alerts])
            self._observe_alerts(alerts, [])

    def _sendable(self, decisions: Sequence[Decision]) -> list[Alert]:
        """The alerts to send; held ones (suppressed customers, over the daily capacity) are counted."""
        alerts, held = sendable(decisions)
        for reason, count in held.items():
            self._metrics.alerts_suppressed.labels(reason.value).inc(count)
        for decision in decisions:
            if decision.over_capacity:
                self._metrics.alerts_held_back.labels(decision.alert.value_tier.value).inc()
        return alerts

    async def _process_tick(self, tick: ReleasedTick[Accepted], scorer: VersionScorer) -> None:
        """The tick's events: apply, score, decide; record; publish; acknowledge."""
        started = time.perf_counter()
        accepted = [item.token for item in tick.items]
        outcome = await self._processor.process(tick.partition, [a.positioned for a in accepted], scorer)
        if outcome.duplicates:
            by_position = {a.positioned.position: a.record for a in accepted}
            now = self._clock()
            letters = [
                dead_letter(
                    by_position[duplicate.position],
                    Rejection(
                        DeadLetterReason.DUPLICATE,
                        f"event_id={duplicate.event.event_id!r}: already applied from an earlier record "
                        f"of this topic",
                        duplicate.event,
                    ),
                    now,
                )
                for duplicate in outcome.duplicates
            ]
            await self._sink.publish((), letters)
            self._count_dead_letters(letters)
        alerts = self._sendable(outcome.decisions)
        states = {decision.alert.customer_id: decision.state for decision in outcome.decisions}
        seen = {c: v.as_of.timestamp() for c, v in outcome.vectors.items() if not v.churned}
        gone = [c for c, v in outcome.vectors.items() if v.churned]
        await self._progress.record(
            tick.progress,
            tick.partition,
            alerts,
            states,
            seen,
            gone,
            churns=outcome.churns,
            capacity=outcome.capacity_write(),
        )
        self._recorded.update(tick.progress)
        self._processor.remember(tick.partition, states)
        self._processor.remember_capacity(tick.partition, outcome.capacity)
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
        """Run a step until Redis and the broker take it: a stalled partition beats a lost record.

        After a Redis failure, the next attempt first checks that Redis still holds the
        group's marker and progress (it may have come back empty or from an older state).
        """
        attempt = 0
        while True:
            delay = RETRY_BACKOFF_S[min(attempt, len(RETRY_BACKOFF_S) - 1)]
            try:
                if self._health.unavailable:
                    await self._verify_store()
                result = await step()
            except StorageUnavailableError as error:
                self._health.note_error()
                outage_s = self._health.failed()
                log.warning(
                    "Redis unavailable for %.1f s (attempt %d), retrying in %.2f s: %s",
                    outage_s,
                    attempt + 1,
                    delay,
                    error,
                )
            except OutputUnavailableError as error:
                self._metrics.publish_errors.inc()
                log.warning(
                    "broker did not take outputs (attempt %d), retrying in %.2f s: %s",
                    attempt + 1,
                    delay,
                    error,
                )
            else:
                self._health.recovered()
                return result
            attempt += 1
            await asyncio.sleep(delay)


_T = TypeVar("_T")
