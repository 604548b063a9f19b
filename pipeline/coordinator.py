"""The worker's conductor: takes validated batches, runs released ticks and day sweeps in order.

The order of effects in a tick is what makes a crash at any moment harmless:

1. apply events to features (idempotent per source position);
2. score and decide alerts (pure, from the state right after this tick);
3. publish dead letters for duplicates (at-least-once, keyed by source position);
4. record the alert outbox, alert states and partition progress in one commit (``store.commit``);
5. publish the alerts and clear them from the outbox (``pipeline.delivery``);
6. acknowledge the records in offset order (``pipeline.acks``), so Faust may commit them.

A restart skips what progress says is done, republishes the outbox (same alert ids),
and redoes everything else exactly as before, because ticks depend only on the records.

The parts each own their state: ``pipeline.intake`` (per-partition checks, admission),
``pipeline.release`` (caught-up proofs, idle groups, released ticks), ``pipeline.sweep``
(the daily sweep), ``pipeline.storage_guard`` (marker, recorded progress, retries) and
``pipeline.delivery`` (commit, outbox, publish). This module holds the one lock every
step runs under and decides which step of each group runs next.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

from models.routing import VersionScorer
from pipeline.acks import InOrderAcks
from pipeline.alignment import EventTimeAligner, ReleasedTick
from pipeline.delivery import AlertDelivery, OutputSink, produced_at
from pipeline.intake import Accepted, Intake
from pipeline.model_versions import ModelVersions
from pipeline.processor import TickProcessor
from pipeline.release import TickRelease
from pipeline.storage_guard import StorageGuard
from pipeline.storage_health import StorageHealth
from pipeline.sweep import DailySweep
from schemas.errors import StorageDataLostError
from schemas.event_days import day_of_s
from schemas.events import EventType
from store.capacity import CapacityWrite
from store.commit import GroupCommit
from store.progress import ProgressStore
from streams.metrics import PipelineMetrics
from streams.records import SourceRecord, TopicPartition

Token = TypeVar("Token")
Step = tuple[ReleasedTick[Accepted], int | None, VersionScorer | None]
"""A group's next step: its first released tick, the day to sweep before it (None: the tick
itself), and the day's scorer (None: the group's first tick ever)."""
Run = list[ReleasedTick[Accepted]]
"""Consecutive released ticks of one group in one event-time day, run as one step."""


class IngestCoordinator(Generic[Token]):
    """The worker's single point of decision: one drain at a time, in tick order."""

    def __init__(
        self,
        aligner: EventTimeAligner[Accepted],
        intake: Intake[Token],
        release: TickRelease[Accepted],
        acks: InOrderAcks[Token],
        processor: TickProcessor,
        sweep: DailySweep,
        delivery: AlertDelivery,
        guard: StorageGuard,
        progress: ProgressStore,
        sink: OutputSink,
        versions: ModelVersions,
        metrics: PipelineMetrics,
        max_run_ticks: int = 1,
        max_run_events: int = 1,
    ) -> None:
        self._aligner = aligner
        self._intake = intake
        self._release = release
        self._acks = acks
        self._processor = processor
        self._sweep = sweep
        self._delivery = delivery
        self._guard = guard
        self._progress = progress
        self._sink = sink
        self._versions = versions
        self._metrics = metrics
        self._max_run_ticks = max_run_ticks
        self._max_run_events = max_run_events
        self._lock = asyncio.Lock()
        self._outbox_partitions: set[int] = set()

    @property
    def health(self) -> StorageHealth:
        return self._guard.health

    async def assign(self, tps: Iterable[TopicPartition]) -> None:
        """Take ownership: restore progress of partitions not owned yet; flush their outboxes."""
        if self._guard.data_lost:
            return
        async with self._lock:
            new = sorted(set(tps) - self._aligner.assigned)
            restored = await self._guard.retrying(lambda: self._progress.load(new))
            if not self._guard.marker_known and new:
                try:
                    await self._guard.retrying(lambda: self._guard.check_marker(new, restored))
                except StorageDataLostError:
                    return
            groups = self._sweep.unknown(tp[1] for tp in new)
            self._sweep.restored(await self._guard.retrying(lambda: self._progress.swept_days(groups)))
            for tp in new:
                self._intake.reset(tp)
                self._aligner.assign(tp, restored.get(tp))
                if tp in restored:
                    self._guard.recorded({tp: restored[tp]})
                self._outbox_partitions.add(tp[1])
                done_before = self._aligner.done_before(tp)
                if done_before > 0:  # lag counts from what earlier owners finished, not from 0
                    self._metrics.processed(tp[0], tp[1], done_before - 1)

    async def revoke(self, tps: Iterable[TopicPartition]) -> None:
        """Give up partitions; their unacknowledged records will be read again by the next owner."""
        async with self._lock:
            revoked = set(tps)
            for tp in revoked:
                self._intake.reset(tp)
                self._aligner.revoke(tp)
                self._guard.forget(tp)
                self._acks.forget(tp)
                self._processor.forget(tp[1])
                self._outbox_partitions.discard(tp[1])
            self._release.forget(revoked)
            groups = {tp[1] for tp in revoked}
            self._sweep.forget(groups - {tp[1] for tp in self._aligner.assigned})

    async def submit(self, event_type: EventType, records: Sequence[tuple[SourceRecord, Token]]) -> None:
        """Validate and queue a batch of one topic; dead letters are delivered before anything is acked."""
        if not records:
            return
        topic = records[0][0].topic
        self._metrics.events_in.labels(topic).inc(len(records))
        await self._guard.hold_if_halted()
        try:
            async with self._lock:
                if self._guard.data_lost:  # noticed while this batch waited for the lock
                    raise StorageDataLostError(self._guard.data_lost)
                taken = await self._intake.take(event_type, topic, records)
                if taken.rejected:
                    await self._guard.retrying(lambda: self._sink.publish((), taken.rejected))
                    self._delivery.count_dead_letters(taken.rejected)
                for record in taken.settled:
                    await self._acks.done((record.topic, record.partition), record.offset)
                    self._metrics.processed(record.topic, record.partition, record.offset)
        except StorageDataLostError:
            await self._guard.hold_if_halted()

    def status(self) -> list[dict[str, object]]:
        """Per input partition: what waits for its tick and why (for ``/alignment``)."""
        return [
            {
                "topic": tp[0],
                "partition": tp[1],
                "pending": self._aligner.pending_count(tp),
                "waiting_acks": self._acks.waiting(tp),
                "next_received": self._aligner.next_received(tp),
                "done_before": self._aligner.done_before(tp),
                "caught_up": self._release.proven(tp) is not None,
                "ahead": self._aligner.is_ahead(tp, self._release.proven),
            }
            for tp in sorted(self._aligner.assigned)
        ]

    async def prove_caught_up(self) -> None:
        """Ask the broker's end offsets of partitions that look caught up (``pipeline.release``)."""
        await self._release.prove_caught_up()

    async def check_storage(self) -> None:
        """Verify that Redis still holds this group's marker and recorded progress (periodic)."""
        if self._guard.data_lost:
            return
        try:
            async with self._lock:
                await self._guard.retrying(self._guard.verify)
        except StorageDataLostError:
            return

    async def drain(self) -> int:
        """Process every complete tick, one at a time, so batches can be admitted in between."""
        if self._guard.data_lost:
            return 0
        try:
            return await self._drain()
        except StorageDataLostError:
            return 0

    async def _drain(self) -> int:
        processed = 0
        while True:
            async with self._lock:
                if self._guard.data_lost:  # noticed while this drain waited for the lock
                    return processed
                for partition in sorted(self._outbox_partitions):
                    await self._guard.retrying(lambda p=partition: self._delivery.flush_outbox(p))  # type: ignore[misc]
                self._outbox_partitions.clear()
                self._release.release()
                steps = await self._guard.retrying(self._next_steps)
                self._metrics.ticks_waiting_for_model.set(self._release.waiting if not steps else 0)
                if not steps:
                    return processed
                runs = [
                    self._take_run(tick) if scorer is not None and sweep_day is None else [tick]
                    for tick, sweep_day, scorer in steps
                ]
                # groups are independent (own keys, progress, outbox): their steps overlap in
                # time, so a tick's Redis and broker round trips do not wait for another group's
                async with asyncio.TaskGroup() as running:
                    for run, (_, sweep_day, scorer) in zip(runs, steps, strict=True):
                        running.create_task(self._run_step(run, sweep_day, scorer))
                processed += sum(
                    len(run)
                    for run, (_, sweep_day, scorer) in zip(runs, steps, strict=True)
                    if scorer is not None and sweep_day is None
                )

    def _take_run(self, first: ReleasedTick[Accepted]) -> Run:
        """Take a group's first released tick and the released ticks right after it in the same
        event-time day (the day's sweep and model version sit between days), up to the caps."""
        run = [first]
        self._release.take(first)
        day = day_of_s(self._aligner.tick_start_s(first.tick))
        events = len(first.items)
        while len(run) < self._max_run_ticks:
            after = self._release.first_of(first.partition)
            if (
                after is None
                or events + len(after.items) > self._max_run_events
                or day_of_s(self._aligner.tick_start_s(after.tick)) != day
            ):
                break
            self._release.take(after)
            run.append(after)
            events += len(after.items)
        return run

    async def _run_step(self, run: Run, sweep_day: int | None, scorer: VersionScorer | None) -> None:
        tick = run[0]
        if scorer is None:  # the group's first tick ever
            day = day_of_s(self._aligner.tick_start_s(tick.tick))
            await self._guard.retrying(lambda: self._sweep.start_group(tick.partition, day))
        elif sweep_day is not None:
            await self._guard.retrying(lambda: self._sweep.sweep_day(tick.partition, sweep_day, scorer))
        else:
            await self._guard.retrying(lambda: self._process_run(run, scorer))

    async def _next_steps(self) -> list[Step]:
        """Per group, the first released tick's next step if it can run now: a day's sweep due
        before it, or the tick itself; each needs its day's model version written.

        A group whose version is not written yet waits without holding the others up: their
        sweeps are what the learner needs to write it.
        """
        steps: list[Step] = []
        for tick in self._release.first_per_group():  # later ticks of a group wait for its first
            day = day_of_s(self._aligner.tick_start_s(tick.tick))
            last_swept = self._sweep.last_swept(tick.partition)
            if last_swept is None:
                steps.append((tick, None, None))
                continue
            step_day = last_swept + 1 if last_swept + 1 < day else day
            scorer = await self._versions.scorer_for(step_day)
            if scorer is not None:
                steps.append((tick, (step_day if step_day < day else None), scorer))
        return steps

    async def _process_run(self, run: Run, scorer: VersionScorer) -> None:
        """The run's events, tick by tick: apply, score, decide; record once; publish; acknowledge.

        One commit holds what the ticks would have written one by one: each partition's
        progress after its last tick, every alert, each customer's last alert state and
        activity, the churns, and the capacity state after the run.
        """
        started = time.perf_counter()
        ticks = [[item.token for item in tick.items] for tick in run]
        accepted = [token for tokens in ticks for token in tokens]
        partition = run[0].partition
        outcomes = await self._processor.process_run(
            partition, [[a.positioned for a in tokens] for tokens in ticks], scorer
        )
        duplicates = [duplicate for outcome in outcomes for duplicate in outcome.duplicates]
        if duplicates:
            await self._delivery.publish_duplicates(duplicates, accepted)
        progress = {tp: p for tick in run for tp, p in tick.progress.items()}
        decisions = [decision for outcome in outcomes for decision in outcome.decisions]
        last_vectors = {c: v for outcome in outcomes for c, v in outcome.vectors.items()}
        churns: dict[str, list[float]] = {}
        for outcome in outcomes:
            for customer_id, times in outcome.churns.items():
                churns.setdefault(customer_id, []).extend(times)
        capacity = next((o.capacity for o in reversed(outcomes) if o.capacity is not None), None)
        step = GroupCommit(
            partition,
            progress=progress,
            alerts=self._delivery.sendable(decisions),
            alert_states={decision.alert.customer_id: decision.state for decision in decisions},
            seen={c: v.as_of.timestamp() for c, v in last_vectors.items() if not v.churned},
            gone=[c for c, v in last_vectors.items() if v.churned],
            churns=churns,
            capacity=None if capacity is None else CapacityWrite.after_tick(capacity),
        )
        await self._delivery.commit(step, capacity)
        self._guard.recorded(progress)
        await self._delivery.publish(step, produced_at(accepted))
        for item in accepted:
            await self._acks.done((item.record.topic, item.record.partition), item.record.offset)
        for tick in run:
            for (topic, tick_partition), tick_progress in tick.progress.items():
                self._metrics.processed(topic, tick_partition, tick_progress.next_offset - 1)
        self._metrics.events_applied.inc(sum(outcome.applied for outcome in outcomes))
        self._metrics.events_replayed.inc(sum(outcome.replayed for outcome in outcomes))
        per_tick_s = (time.perf_counter() - started) / len(run)
        for _ in run:
            self._metrics.batch_seconds.observe(per_tick_s)
        self._metrics.run_ticks.observe(len(run))
