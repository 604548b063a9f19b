"""The learner: prequential order, day checkpoints independent of arrival order, skips, restore."""

from __future__ import annotations

import math
import pickle
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sklearn.metrics import roc_auc_score

from models.config import LearningConfig, OnlineModelConfig, ScoringConfig
from models.labels import INPUT_NAMES
from models.learner import Checkpoint, DailyLearner, learns_negative
from models.online import OnlineModel, inputs_from_stored, with_rules
from schemas.event_days import day_number
from schemas.outputs import ResolvedDay, ScoreSource, TrainingExample

DAY0 = date(2026, 3, 1)
SMALL = ScoringConfig(
    online=OnlineModelConfig(min_labels_per_class=5),
    learning=LearningConfig(handover_window_examples=200, handover_days=4, negative_learn_share=1.0),
)


def examples(day: date, count: int, partition: int, seed: int) -> list[TrainingExample]:
    """Examples whose first input separates the classes; rules score half-informatively."""
    rng = random.Random(seed)
    made = []
    for index in range(count):
        churned = rng.random() < 0.2
        signal = rng.gauss(2.0 if churned else 0.0, 1.0)
        made.append(
            TrainingExample(
                example_id=f"{day.isoformat()}-{partition}-{index:04d}",
                customer_id=f"c{partition}-{index}",
                partition=partition,
                snapshot_time=datetime(2026, 1, 1, tzinfo=UTC),
                resolved_on=day,
                churned=churned,
                churn_time=None,
                features={INPUT_NAMES[0]: signal, INPUT_NAMES[1]: rng.gauss(0, 1)},
                score=0.1,
                score_source=ScoreSource.COLD_START_RULES,
                model_version="rules-1",
                model_score=round(1 / (1 + math.exp(2.0 - 1.5 * signal)), 6),  # sharper than the rules
                rules_score=min(1.0, max(0.0, 0.3 + 0.1 * signal + rng.gauss(0, 0.2))),
            )
        )
    return made


def resolved(partition: int, day: date, count: int = 0) -> ResolvedDay:
    return ResolvedDay(partition=partition, resolved_on=day, examples=count)


def feed(learner: DailyLearner, records: list[TrainingExample | ResolvedDay]) -> list[int]:
    days = []
    for record in records:
        if isinstance(record, ResolvedDay):
            learner.mark(record)
        else:
            learner.offer(record)
        days.extend(checkpoint.day for checkpoint in learner.finalize_ready())
    return days


def learned(learner: DailyLearner, records: list[TrainingExample | ResolvedDay]) -> list[Checkpoint]:
    """Every checkpoint the learner writes while fed these records in order."""
    checkpoints: list[Checkpoint] = []
    for record in records:
        if isinstance(record, ResolvedDay):
            learner.mark(record)
        else:
            learner.offer(record)
        checkpoints.extend(learner.finalize_ready())
    return checkpoints


def two_groups(days: int) -> list[list[TrainingExample | ResolvedDay]]:
    """Per group, its records in publishing order: a start mark, then each day's examples and mark."""
    streams: list[list[TrainingExample | ResolvedDay]] = []
    for partition in (0, 1):
        records: list[TrainingExample | ResolvedDay] = [resolved(partition, DAY0 - timedelta(days=1))]
        for offset in range(days):
            day = DAY0 + timedelta(days=offset)
            batch = examples(day, 60, partition, seed=offset * 10 + partition)
            records.extend(batch)
            records.append(resolved(partition, day, len(batch)))
        streams.append(records)
    return streams


def interleave(
    streams: list[list[TrainingExample | ResolvedDay]], seed: int
) -> list[TrainingExample | ResolvedDay]:
    """Merge per-group streams at random, keeping each group's own order (one partition, two producers)."""
    rng = random.Random(seed)
    queues = [list(stream) for stream in streams]
    merged = []
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        merged.append(queue.pop(0))
    return merged


class TestDailyLearner:
    def test_checkpoints_do_not_depend_on_how_groups_interleave(self) -> None:
        """Two interleavings of the same groups' records give byte-identical models, day by day."""
        streams = two_groups(6)
        results = []
        for seed in (1, 2):
            learner = DailyLearner(SMALL)
            checkpoints = []
            for record in interleave(streams, seed):
                if isinstance(record, ResolvedDay):
                    learner.mark(record)
                else:
                    learner.offer(record)
                checkpoints.extend(learner.finalize_ready())
            results.append([(c.day, c.version, pickle.dumps(c.model.pipeline)) for c in checkpoints])
        assert results[0] == results[1]
        assert [day for day, _, _ in results[0]][-1] == day_number(DAY0 + timedelta(days=5))

    def test_a_day_waits_for_every_known_group(self) -> None:
        """Group 1 has not resolved day 0 yet: no checkpoint of day 0 until it does."""
        learner = DailyLearner(SMALL)
        feed(learner, [resolved(0, DAY0 - timedelta(days=1)), resolved(1, DAY0 - timedelta(days=1))])
        assert learner.last_day == day_number(DAY0) - 1
        assert feed(learner, [*examples(DAY0, 10, 0, 1), resolved(0, DAY0, 10)]) == []
        assert feed(learner, [resolved(1, DAY0, 0)]) == [day_number(DAY0)]
        assert learner.model.n_learned == 10

    def test_metrics_use_the_snapshot_scores_before_learning(self) -> None:
        """Prequential: the metrics equal scikit-learn's on the scores carried by the examples,
        whatever the model learned from them."""
        learner = DailyLearner(SMALL)
        batch = examples(DAY0, 400, 0, 3)
        feed(learner, [resolved(0, DAY0 - timedelta(days=1)), *batch, resolved(0, DAY0, 400)])
        labels = [e.churned for e in batch]
        model = learner.snapshot("model")
        rules = learner.snapshot("rules")
        assert model.roc_auc == pytest.approx(roc_auc_score(labels, [e.model_score for e in batch]), abs=1e-3)
        assert rules.roc_auc == pytest.approx(roc_auc_score(labels, [e.rules_score for e in batch]), abs=1e-3)
        assert model.examples == rules.examples == learner.model.n_learned == 400

    def test_copies_of_learned_days_are_skipped(self) -> None:
        """A republished example of a checkpointed day is not learned twice; one held twice neither."""
        learner = DailyLearner(SMALL)
        batch = examples(DAY0, 20, 0, 5)
        start = resolved(0, DAY0 - timedelta(days=1))
        feed(learner, [start, batch[0], batch[0], *batch, resolved(0, DAY0, 20)])
        assert learner.model.n_learned == 20
        assert not learner.offer(batch[3])
        assert learner.model.n_learned == 20

    def test_model_takes_over_when_it_beats_the_rules(self) -> None:
        """Warm and better than the rules on the recent window: the share rises 1/4, 2/4, ... to 1."""
        checkpoints = learned(DailyLearner(SMALL), interleave(two_groups(12), 3))
        weights = [c.model_weight for c in checkpoints]
        assert weights[0] == 0.0
        start = weights.index(0.25)
        assert weights[start : start + 4] == [0.25, 0.5, 0.75, 1.0]
        assert weights[-1] == 1.0
        handed = checkpoints[start]
        assert handed.metrics["model_recent"]["roc_auc"] > handed.metrics["rules_recent"]["roc_auc"]

    def test_checkpoints_map_the_model_to_the_rules_scale_once_it_has_a_share(self) -> None:
        """No risk scale while the rules score alone; from the hand-over on, the model's recent
        scores mapped through it fall in each zone as often as the rules' scores did."""
        checkpoints = learned(DailyLearner(SMALL), interleave(two_groups(12), 3))
        assert all((c.risk_scale is None) == (c.model_weight == 0.0) for c in checkpoints)
        scale = checkpoints[-1].risk_scale
        assert scale is not None
        recent = [e for record in interleave(two_groups(12), 3) if isinstance(e := record, TrainingExample)][
            -200:
        ]
        for threshold in (0.3, 0.4, 0.5):
            rules_share = sum(e.rules_score >= threshold for e in recent) / len(recent)
            model_share = sum(scale(e.model_score) >= threshold for e in recent) / len(recent)
            assert model_share == pytest.approx(rules_share, abs=0.02)

    def test_the_model_never_takes_over_while_it_is_worse(self) -> None:
        """Rules that are perfect on every example keep the model's share at 0."""
        learner = DailyLearner(SMALL)
        for record in interleave(two_groups(8), 4):
            if isinstance(record, ResolvedDay):
                learner.mark(record)
            else:
                learner.offer(record.model_copy(update={"rules_score": 1.0 if record.churned else 0.0}))
            for checkpoint in learner.finalize_ready():
                assert checkpoint.model_weight == 0.0

    def test_a_model_at_chance_never_takes_over_from_rules_below_it(self) -> None:
        """Snapshot-time scores of an untrained model (all 0.5, ROC AUC 0.5) against rules that
        rank worse than chance: the model is not better than anything, so the rules stay."""
        learner = DailyLearner(SMALL)
        for record in interleave(two_groups(8), 4):
            if isinstance(record, ResolvedDay):
                learner.mark(record)
            else:
                inverted = 0.0 if record.churned else 1.0
                learner.offer(record.model_copy(update={"model_score": 0.5, "rules_score": inverted}))
            for checkpoint in learner.finalize_ready():
                assert checkpoint.metrics["rules_recent"]["roc_auc"] in (None, 0.0)
                assert checkpoint.model_weight == 0.0

    def test_restored_learner_continues_exactly(self) -> None:
        """Pickled after a checkpoint (held examples left out) and fed the rest again: the same
        models as a learner that never stopped."""
        records = interleave(two_groups(5), 6)
        uninterrupted = DailyLearner(SMALL)
        expected = [pickle.dumps(c.model.pipeline) for c in self._run(uninterrupted, records)]
        learner = DailyLearner(SMALL)
        cut = len(records) // 2
        got = [pickle.dumps(c.model.pipeline) for c in self._run(learner, records[:cut])]
        restored = pickle.loads(pickle.dumps(learner))
        # read again from the start: checkpointed days are skipped, held ones are taken again
        got += [pickle.dumps(c.model.pipeline) for c in self._run(restored, records)]
        assert got == expected

    @staticmethod
    def _run(learner: DailyLearner, records: list[TrainingExample | ResolvedDay]) -> list:  # type: ignore[type-arg]
        checkpoints = []
        for record in records:
            if isinstance(record, ResolvedDay):
                learner.mark(record)
            else:
                learner.offer(record)
            checkpoints.extend(learner.finalize_ready())
        return checkpoints


class TestExpectedGroups:
    def test_days_a_late_group_could_resolve_wait_for_it(self) -> None:
        """Two groups expected, examples possible from about 5 days after the first start: group 0
        alone completes the days before (with a 2-day margin), however far it runs; group 1's
        first mark completes the rest up to the days both have resolved."""
        learner = DailyLearner(SMALL, partition_groups=2, first_example_after_days=5)
        days = feed(learner, [resolved(0, DAY0 + timedelta(days=offset)) for offset in range(8)])
        assert days == list(range(day_number(DAY0), day_number(DAY0) + 4))  # up to start + 5 - 2
        later = feed(learner, [resolved(1, DAY0 + timedelta(days=5))])
        assert later == [day_number(DAY0) + 4, day_number(DAY0) + 5]


class TestNegativeShare:
    def test_a_share_of_the_negatives_is_learned_with_weight_and_every_example_counts(self) -> None:
        """Positives always, negatives by the id's draw with weight 1 / share; the metrics see all."""
        share = 0.25
        config = SMALL.model_copy(
            update={"learning": SMALL.learning.model_copy(update={"negative_learn_share": share})}
        )
        learner = DailyLearner(config)
        batch = examples(DAY0, 400, 0, 3)
        feed(learner, [resolved(0, DAY0 - timedelta(days=1)), *batch, resolved(0, DAY0, 400)])
        chosen = [e for e in batch if e.churned or learns_negative(e.example_id, share)]
        negatives = [e for e in batch if not e.churned]
        assert 0.15 * len(negatives) < len(chosen) - (len(batch) - len(negatives)) < 0.35 * len(negatives)
        assert learner.model.n_learned == len(chosen)
        assert learner.snapshot("model").examples == 400
        checkpoint = learner.finalize(day_number(DAY0) + 1)
        assert checkpoint.examples_learned == 400

        # the same model as one that learns exactly the chosen examples, negatives weighted
        reference = OnlineModel(config)
        for example in sorted(chosen, key=lambda e: e.example_id):
            stored = {name: example.features.get(name, 0.0) for name in INPUT_NAMES}
            weight = 1.0 if example.churned else 1.0 / share
            reference.learn_inputs(
                with_rules(inputs_from_stored(stored), example.rules_score), example.churned, weight
            )
        assert pickle.dumps(reference.pipeline) == pickle.dumps(learner.model.pipeline)
