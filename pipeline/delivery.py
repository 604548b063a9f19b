"""A step's outcome, recorded and then delivered: the alert outbox in between.

A tick's or a sweep's effects are written in one commit (``store.commit``) with its alerts
in the group's outbox; only then are the alerts published and cleared from the outbox, so
a crash between the two republishes them (same ids) instead of losing them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from features.store import PositionedEvent
from pipeline.intake import Accepted
from pipeline.processor import TickProcessor
from policy.alerts import Decision, sendable
from policy.capacity_state import CapacityState
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
from store.commit import CommitStore, GroupCommit
from store.progress import ProgressStore
from streams.metrics import PipelineMetrics
from streams.records import dead_letter

log = logging.getLogger(__name__)


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


def produced_at(accepted: Sequence[Accepted]) -> dict[str, float]:
    """When the broker took each customer's latest record of a tick (epoch seconds), where known."""
    times: dict[str, float] = {}
    for item in accepted:
        if item.record.timestamp_s is not None:
            times[item.positioned.event.customer_id] = item.record.timestamp_s
    return times


class AlertDelivery:
    """Records steps' outcomes, publishes their alerts, clears the outbox, counts what went."""

    def __init__(
        self,
        commits: CommitStore,
        progress: ProgressStore,
        sink: OutputSink,
        processor: TickProcessor,
        metrics: PipelineMetrics,
        clock: Callable[[], datetime],
    ) -> None:
        self._clock = clock
        self._commits = commits
        self._progress = progress
        self._sink = sink
        self._processor = processor
        self._metrics = metrics

    def sendable(self, decisions: Sequence[Decision]) -> list[Alert]:
        """The alerts to send; held ones (suppressed customers, over the daily capacity) are counted."""
        alerts, held = sendable(decisions)
        for reason, count in held.items():
            self._metrics.alerts_suppressed.labels(reason.value).inc(count)
        for decision in decisions:
            if decision.over_capacity:
                self._metrics.alerts_held_back.labels(decision.alert.value_tier.value).inc()
        return alerts

    async def commit(self, step: GroupCommit, capacity: CapacityState | None) -> None:
        """Write a step's outcome; the processor's caches then hold what Redis holds."""
        await self._commits.commit(step)
        self._processor.remember(step.partition, step.alert_states)
        self._processor.remember_capacity(step.partition, capacity)

    async def publish(self, step: GroupCommit, produced: Mapping[str, float]) -> None:
        """Publish a committed step's alerts, then clear them from the outbox."""
        if not step.alerts:
            return
        await self._sink.publish(step.alerts, ())
        await self._progress.published(step.partition, [alert.alert_id for alert in step.alerts])
        self._observe_alerts(step.alerts, produced)

    async def flush_outbox(self, partition: int) -> None:
        """Publish what an earlier owner recorded but perhaps did not publish (same ids)."""
        pending = await self._progress.outbox(partition)
        if pending:
            log.info("republishing %d alerts from the outbox of partition %d", len(pending), partition)
            await self._sink.publish(pending, ())
            await self._progress.published(partition, [alert.alert_id for alert in pending])

    async def publish_duplicates(
        self, duplicates: Sequence[PositionedEvent], accepted: Sequence[Accepted]
    ) -> None:
        """Dead letters for events whose id was already applied from an earlier record (at least once)."""
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
            for duplicate in duplicates
        ]
        await self._sink.publish((), letters)
        self.count_dead_letters(letters)

    def count_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        for letter in letters:
            self._metrics.dead_letters.labels(letter.reason.value).inc()

    def _observe_alerts(self, alerts: Sequence[Alert], produced: Mapping[str, float]) -> None:
        published_at = time.time()
        for alert in alerts:
            self._metrics.alerts.labels(alert.zone.value).inc()
            if alert.customer_id in produced:
                self._metrics.event_to_alert_seconds.observe(
                    max(0.0, published_at - produced[alert.customer_id])
                )
