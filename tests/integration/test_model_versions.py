"""Scorers take the version of their event-time day from Redis: never a newer one, waiting for it
with a deadline, and the learner's checkpoints and state survive a restart."""

from __future__ import annotations

import pickle
from datetime import date, timedelta

import pytest
import redis.asyncio as aioredis

from models.config import LearningConfig, ScoringConfig
from models.learner import DailyLearner
from pipeline.learning import LearnerLoop, TrainingRecord
from pipeline.model_versions import ModelVersions
from pipeline.storage_health import StorageHealth
from schemas.event_days import day_number
from schemas.outputs import ResolvedDay
from store.checkpoints import CheckpointStore
from streams.metrics import PipelineMetrics
from tests.unit.test_models_learner import examples

pytestmark = pytest.mark.integration
DAY0 = date(2026, 3, 1)
CONFIG = ScoringConfig(learning=LearningConfig(version_lag_days=2, negative_learn_share=1.0))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def learn_days(store: CheckpointStore, learner: DailyLearner, days: range) -> None:
    """One group resolving each of ``days`` (days after DAY0) with 50 examples; checkpoints saved."""
    for offset in days:
        day = DAY0 + timedelta(days=offset)
        for example in examples(day, 50, 0, seed=offset):
            learner.offer(example)
        learner.mark(ResolvedDay(partition=0, resolved_on=day, examples=50))
        await store.save(learner, learner.finalize_ready())


def versions_of(store: CheckpointStore, clock: Clock, metrics: PipelineMetrics) -> ModelVersions:
    return ModelVersions(store, CONFIG, metrics, wait_s=30.0, monotonic=clock)


class TestModelVersions:
    async def test_a_day_scores_with_its_checkpoint_and_never_a_newer_one(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """Checkpoints of days 0..9 written: day 8 scores with day 5's (8 - 1 - lag 2), day 3 with
        day 0's; a day before the first checkpoint scores with the rules and an untrained model."""
        store = CheckpointStore(redis_client, key_prefix, "g")
        learner = DailyLearner(CONFIG)
        await learn_days(store, learner, range(10))
        versions = versions_of(store, Clock(), PipelineMetrics())
        day = day_number(DAY0)
        scorer = await versions.scorer_for(day + 8)
        expected = await store.load(day + 5)
        assert scorer is not None
        assert expected is not None
        assert scorer.model.n_learned == expected.examples_learned == 6 * 50
        early = await versions.scorer_for(day + 2)
        assert early is versions.untrained

    async def test_waits_for_an_unwritten_version_then_takes_it_up(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """Day 7 needs day 4's checkpoint: None while only days 0..3 exist, the checkpoint once
        the learner writes it (hot swap, no restart), with the wait counted."""
        store = CheckpointStore(redis_client, key_prefix, "g")
        learner = DailyLearner(CONFIG)
        await learn_days(store, learner, range(4))
        clock, metrics = Clock(), PipelineMetrics()
        versions = versions_of(store, clock, metrics)
        day = day_number(DAY0)
        assert await versions.scorer_for(day + 7) is None
        clock.now = 5.0
        assert await versions.scorer_for(day + 7) is None
        await learn_days(store, learner, range(4, 5))
        clock.now = 6.0
        scorer = await versions.scorer_for(day + 7)
        assert scorer is not None
        assert scorer.model.n_learned == 5 * 50
        assert metrics.total(metrics.model_version_loads) == 1
        text = metrics.exposition().decode()
        assert 'churnwatch_model_version_loads_total{outcome="waited"} 1.0' in text

    async def test_past_the_deadline_the_newest_version_scores(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """The learner stays behind: after wait_s the newest checkpoint scores, counted as a timeout."""
        store = CheckpointStore(redis_client, key_prefix, "g")
        learner = DailyLearner(CONFIG)
        await learn_days(store, learner, range(4))
        clock, metrics = Clock(), PipelineMetrics()
        versions = versions_of(store, clock, metrics)
        day = day_number(DAY0)
        assert await versions.scorer_for(day + 9) is None
        clock.now = 31.0
        scorer = await versions.scorer_for(day + 9)
        assert scorer is not None
        assert scorer.model.n_learned == 4 * 50
        assert 'outcome="timeout"} 1.0' in metrics.exposition().decode()

    async def test_learner_state_restores_to_the_same_next_checkpoint(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """The learner restored from Redis and one that never stopped write the same next model."""
        store = CheckpointStore(redis_client, key_prefix, "g")
        learner = DailyLearner(CONFIG)
        await learn_days(store, learner, range(6))
        restored = await store.learner()
        assert restored is not None
        assert restored.last_day == learner.last_day
        await learn_days(store, learner, range(6, 7))
        await learn_days(CheckpointStore(redis_client, f"{key_prefix}x", "g"), restored, range(6, 7))
        assert pickle.dumps(restored.model.pipeline) == pickle.dumps(learner.model.pipeline)


class TestLearnerLoop:
    async def test_a_mark_acknowledged_without_a_checkpoint_survives_a_restart(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """Group 1 starts after day 0 was checkpointed: its first mark is committed at once, so a
        learner restored afterwards must still wait for group 1 before its next day."""
        store = CheckpointStore(redis_client, key_prefix, "g")
        metrics = PipelineMetrics()
        loop = LearnerLoop(store, CONFIG, metrics, "churn.training", StorageHealth(metrics, 60.0))

        def mark(offset: int, partition: int, day: date) -> TrainingRecord:
            return TrainingRecord(
                0,
                offset,
                ResolvedDay(partition=partition, resolved_on=day, examples=0).model_dump_json().encode(),
            )

        assert [c.day for c in await loop.handle([mark(0, 0, DAY0)])] == [day_number(DAY0)]
        await loop.handle([mark(1, 1, DAY0 - timedelta(days=1))])
        assert loop.committable == {0: 2}
        loop.reset()
        checkpoints = await loop.handle([mark(2, 0, DAY0 + timedelta(days=1))])
        assert checkpoints == [], "day 1 checkpointed without group 1"
        restored = await loop.learner()
        assert restored.groups == {0: day_number(DAY0) + 1, 1: day_number(DAY0) - 1}

    async def test_metrics_show_the_champion_the_challenger_and_their_windows(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """After a checkpoint, /metrics names both configurations, counts promotions and fallbacks
        and reports both models' learn-time quality on the window."""
        store = CheckpointStore(redis_client, key_prefix, "g")
        metrics = PipelineMetrics()
        loop = LearnerLoop(store, CONFIG, metrics, "churn.training", StorageHealth(metrics, 60.0))
        start = ResolvedDay(partition=0, resolved_on=DAY0 - timedelta(days=1), examples=0)
        batch = examples(DAY0, 50, 0, seed=1)
        records = [start, *batch, ResolvedDay(partition=0, resolved_on=DAY0, examples=50)]
        checkpoints = await loop.handle(
            [
                TrainingRecord(0, offset, record.model_dump_json().encode())
                for offset, record in enumerate(records)
            ]
        )
        assert [c.day for c in checkpoints] == [day_number(DAY0)]
        sample = metrics.registry.get_sample_value
        assert (
            sample(
                "churnwatch_model_champion", {"champion": "logreg-lr0.005", "challenger": "arf-n3-d6-g200"}
            )
            == 1
        )
        assert sample("churnwatch_model_promotions") == 0
        assert sample("churnwatch_model_fallbacks") == 0
        for scorer in ("champion_shadow", "challenger"):
            base_rate = sample("churnwatch_model_quality", {"scorer": scorer, "metric": "base_rate"})
            assert base_rate == pytest.approx(sum(e.churned for e in batch) / 50)
            assert sample("churnwatch_model_quality", {"scorer": scorer, "metric": "roc_auc"}) is not None
