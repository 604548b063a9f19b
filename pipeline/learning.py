"""The learner's side of ``churn.training``: parse, hold, learn a day at a time, checkpoint.

Plain async Python over the checkpoint store (no Kafka), so the reader only feeds it
records. A record counts as done (``committable``) once the checkpoint that covers it is
in Redis, never before, and in offset order: after a crash the learner restarts from its
last saved state and reads again every record it had not checkpointed, and the examples
of checkpointed days are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, TypeAdapter, ValidationError

from models.config import ScoringConfig
from models.learner import Checkpoint, DailyLearner
from pipeline.acks import InOrderAcks
from pipeline.storage_health import StorageHealth, retrying_redis
from schemas.event_days import DAY_S, day_number
from schemas.outputs import ResolvedDay, TrainingExample
from store.checkpoints import CheckpointStore
from streams.metrics import PipelineMetrics

log = logging.getLogger(__name__)
_TRAINING_RECORD: TypeAdapter[TrainingExample | ResolvedDay] = TypeAdapter(
    Annotated[TrainingExample | ResolvedDay, Field(discriminator="kind")]
)
QUALITY_METRICS = ("roc_auc", "pr_auc", "log_loss", "lift_top_decile", "base_rate")


@dataclass(frozen=True, slots=True)
class TrainingRecord:
    partition: int
    offset: int
    value: bytes


def parse_training(value: bytes) -> TrainingExample | ResolvedDay:
    """A ``churn.training`` record: an example or a group's end-of-day mark.

    >>> parse_training(b'{"kind": "resolved_day", "partition": 1, "resolved_on": "2026-01-02", '
    ...                b'"examples": 0}').partition
    1
    """
    return _TRAINING_RECORD.validate_json(value)


class LearnerLoop:
    """Feeds training records to the ``DailyLearner`` and saves each day it completes."""

    def __init__(
        self,
        store: CheckpointStore,
        config: ScoringConfig,
        metrics: PipelineMetrics,
        topic: str,
        health: StorageHealth,
        partition_groups: int | None = None,
        first_example_after_days: int = 0,
    ) -> None:
        self._partition_groups = partition_groups
        self._first_example_after_days = first_example_after_days
        self._store = store
        self._health = health
        self._config = config
        self._metrics = metrics
        self._acks: InOrderAcks[tuple[int, int]] = InOrderAcks(self._done)
        self.committable: dict[int, int] = {}  # partition -> offset below which everything is done
        self._topic = topic
        self._learner: DailyLearner | None = None
        self._held: list[tuple[int, int, int]] = []  # day, partition, offset of unacknowledged records
        self._configurations: tuple[str, str] | None = None  # champion and challenger on /metrics

    async def _done(self, position: tuple[int, int]) -> None:
        partition, offset = position
        self.committable[partition] = offset + 1

    async def learner(self) -> DailyLearner:
        """The learner, restored from Redis the first time (or after ``reset``)."""
        if self._learner is None:
            restored = await retrying_redis(self._store.learner, self._health, "learner state")
            marks = await retrying_redis(self._store.marks, self._health, "learner marks")
            learner = restored if restored is not None else DailyLearner(self._config)
            learner.partition_groups = self._partition_groups
            learner.first_example_after_days = self._first_example_after_days
            self._learner = learner
            for group, day in marks.items():
                self._learner.groups[group] = max(day, self._learner.groups.get(group, day))
            if restored is not None and restored.last_day is not None:
                log.info(
                    "learner restored at day %d, %d examples learned",
                    restored.last_day,
                    restored.model.n_learned,
                )
        return self._learner

    def reset(self) -> None:
        """Forget everything in memory (the training partition was revoked)."""
        self._learner = None
        self._held.clear()
        self._acks = InOrderAcks(self._done)
        self.committable.clear()

    async def handle(self, records: Sequence[TrainingRecord]) -> list[Checkpoint]:
        """Hold each record's example or mark; learn and save every day now complete."""
        learner = await self.learner()
        done_now: list[tuple[int, int]] = []
        marked = False
        for record in records:
            tp = (self._topic, record.partition)
            self._acks.track(tp, record.offset, (record.partition, record.offset))
            try:
                parsed = parse_training(record.value)
            except ValidationError as error:
                log.error("unreadable training record at offset %d: %s", record.offset, error.errors()[:1])
                self._metrics.training_examples.labels("unreadable").inc()
                done_now.append((record.partition, record.offset))
                continue
            if isinstance(parsed, ResolvedDay):
                learner.mark(parsed)
                marked = True
                self._held.append((day_number(parsed.resolved_on), record.partition, record.offset))
            elif learner.offer(parsed):
                self._metrics.training_examples.labels("held").inc()
                self._held.append((day_number(parsed.resolved_on), record.partition, record.offset))
            else:
                self._metrics.training_examples.labels("already_learned").inc()
                done_now.append((record.partition, record.offset))
        if records:  # read and held: the lag gauge counts what is not read yet
            last = records[-1]
            self._metrics.processed(self._topic, last.partition, last.offset)
        checkpoints = learner.finalize_ready()
        if checkpoints:
            await retrying_redis(lambda: self._store.save(learner, checkpoints), self._health, "checkpoint")
            self._show(checkpoints[-1])
        elif marked:
            # a mark is acknowledged only once it is saved: a group's first mark may be for a
            # day already checkpointed, and an acknowledged record is never read again
            await retrying_redis(lambda: self._store.save_marks(learner.groups), self._health, "marks")
        last_day = learner.last_day
        if last_day is not None:
            done_now.extend((partition, offset) for day, partition, offset in self._held if day <= last_day)
            self._held = [held for held in self._held if held[0] > last_day]
        for partition, offset in sorted(done_now):
            await self._acks.done((self._topic, partition), offset)
        self._metrics.training_held.set(len(self._held))
        return checkpoints

    def _show(self, checkpoint: Checkpoint) -> None:
        metrics = self._metrics
        for scorer, values in checkpoint.metrics.items():
            weight = values.get("weight") or 0.0
            values = {**values, "base_rate": values["positive_weight"] / weight if weight else None}
            for name in QUALITY_METRICS:
                value = values.get(name)
                if value is not None:
                    metrics.model_quality.labels(scorer, name).set(value)
        metrics.model_examples_learned.set(checkpoint.examples_learned)
        metrics.model_checkpoint_day.set((checkpoint.day + 1) * DAY_S)  # the end of its day
        metrics.model_weight.set(checkpoint.model_weight)
        metrics.model_drifts.set(checkpoint.drifts)
        metrics.model_promotions.set(checkpoint.promotions)
        metrics.model_fallbacks.set(checkpoint.fallbacks)
        configurations = (checkpoint.champion, checkpoint.challenger or "none")
        if configurations != self._configurations:  # one series at a time
            if self._configurations is not None:
                metrics.model_champion.remove(*self._configurations)
            metrics.model_champion.labels(*configurations).set(1)
            self._configurations = configurations
