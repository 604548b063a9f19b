"""The end of each event-time day of a partition group, and the group's very first tick.

A day's sweep runs before any event of a later day is applied: snapshots (published and
kept pending for their labels), the silent customers' alerts, the capacity day closed,
and the resolution of the snapshots whose horizon and lateness ended with this day
(training examples and the day's ``ResolvedDay``, published before the sweep is
recorded, so a crash anywhere redoes the same sweep with the same results).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from models.labels import resolve
from models.routing import VersionScorer
from pipeline.delivery import AlertDelivery, OutputSink
from pipeline.processor import TickProcessor
from schemas.event_days import DAY_S, day_date, day_end_s
from schemas.outputs import ResolvedDay
from store.commit import GroupCommit
from store.labels import LabelStore
from streams.metrics import PipelineMetrics


class DailySweep:
    """Sweeps each partition group's days in order; remembers the last day swept per group."""

    def __init__(
        self,
        processor: TickProcessor,
        labels: LabelStore,
        sink: OutputSink,
        delivery: AlertDelivery,
        metrics: PipelineMetrics,
        horizon_days: int = 30,
        resolution_delay_days: int = 33,
    ) -> None:
        self._processor = processor
        self._labels = labels
        self._sink = sink
        self._delivery = delivery
        self._metrics = metrics
        self._horizon_days = horizon_days
        self._resolution_delay_days = resolution_delay_days
        self._swept: dict[int, int] = {}  # partition group -> last event-time day swept

    def last_swept(self, partition: int) -> int | None:
        """The last day swept of a group; None before its first tick ever."""
        return self._swept.get(partition)

    def unknown(self, partitions: Iterable[int]) -> set[int]:
        """Groups whose last swept day is not known here yet."""
        return set(partitions) - set(self._swept)

    def restored(self, swept: Mapping[int, int]) -> None:
        """Last swept days read from Redis."""
        self._swept.update(swept)

    def forget(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self._swept.pop(partition, None)

    async def start_group(self, partition: int, day: int) -> None:
        """A group's first tick ever, of event-time ``day``: nothing ended before it. The learner
        hears of the group (an empty ``ResolvedDay``) before any of its days can be waited for."""
        started = ResolvedDay(partition=partition, resolved_on=day_date(day - 1), examples=0)
        await self._sink.publish((), (), (), [started])
        await self._delivery.commit(GroupCommit(partition, swept_day=day - 1), None)
        self._swept[partition] = day - 1

    async def sweep_day(self, partition: int, day: int, scorer: VersionScorer) -> None:
        """The end of event-time ``day`` for a group, before any later event is applied."""
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
        step = GroupCommit(
            partition,
            alerts=self._delivery.sendable(sweep.decisions),
            alert_states={decision.alert.customer_id: decision.state for decision in sweep.decisions},
            snapshots=sweep.snapshots,
            swept_day=day,
            capacity=sweep.capacity_write,
        )
        await self._delivery.commit(step, sweep.capacity)
        self._swept[partition] = day
        await self._delivery.publish(step, {})
