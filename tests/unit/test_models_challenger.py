"""The challenger in shadow, its promotion, and the way back from the model to the rules."""

from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from features.vector import FeatureVector
from models.cold_start import ColdStartRules
from models.config import ChallengerConfig, ForestConfig, LearningConfig, OnlineModelConfig, ScoringConfig
from models.forest import ForestModel
from models.labels import INPUT_NAMES
from models.learner import Checkpoint, DailyLearner
from models.online import OnlineModel, inputs_from_stored, with_rules
from models.prequential import PrequentialMetrics
from models.reason_codes import ReasonCode, fixed_code_for_feature
from models.reason_texts import describe
from models.risk_scale import RiskScale
from models.routing import VersionScorer
from schemas.outputs import ResolvedDay, ScoreSource, TrainingExample
from tests.unit.test_models_learner import DAY0, examples, interleave, learned, resolved, two_groups

LEARNING = LearningConfig(handover_window_examples=200, handover_days=4, negative_learn_share=1.0)
# a champion whose steps are far too large, against a challenger with a sound rate
BAD_CHAMPION = ScoringConfig(
    online=OnlineModelConfig(min_labels_per_class=5, learning_rate=50.0),
    learning=LEARNING,
    challenger=ChallengerConfig(model="logreg", learning_rate=0.05),
)
SOUND_CHAMPION = ScoringConfig(
    online=OnlineModelConfig(min_labels_per_class=5, learning_rate=0.05),
    learning=LEARNING,
    challenger=ChallengerConfig(model="logreg", learning_rate=50.0),
)


def one_group(days: int, rules_perfect: range = range(0)) -> list[TrainingExample | ResolvedDay]:
    """One group's records, day by day; on the days in ``rules_perfect`` the rules score every
    example by its label."""
    records: list[TrainingExample | ResolvedDay] = [resolved(0, DAY0 - timedelta(days=1))]
    for offset in range(days):
        day = DAY0 + timedelta(days=offset)
        batch = examples(day, 120, 0, seed=100 + offset)
        if offset in rules_perfect:
            batch = [e.model_copy(update={"rules_score": 1.0 if e.churned else 0.0}) for e in batch]
        records.extend(batch)
        records.append(resolved(0, day, len(batch)))
    return records


class TestShadowComparison:
    def test_both_models_score_each_example_before_either_learns_it(self) -> None:
        """The windows hold exactly the scores two models give when each scores an example's
        stored inputs and only then learns it; the first example is scored by untrained models."""
        config = ScoringConfig(
            online=OnlineModelConfig(min_labels_per_class=5),
            learning=LEARNING,
            challenger=ChallengerConfig(model="logreg"),
        )
        records = one_group(2)
        checkpoints = learned(DailyLearner(config), records)
        champion, challenger = (
            OnlineModel(config),
            OnlineModel(config.model_copy(update={"online": config.challenger.online()})),
        )
        expected = {
            name: PrequentialMetrics(200, config.learning.metrics_resolution)
            for name in ("champion", "challenger")
        }
        first_scores = first_rules = None
        for example in (r for r in records if isinstance(r, TrainingExample)):
            stored = {name: example.features.get(name, 0.0) for name in INPUT_NAMES}
            inputs = with_rules(inputs_from_stored(stored), example.rules_score)
            scores = champion.probability_of_inputs(inputs), challenger.probability_of_inputs(inputs)
            first_scores = first_scores or scores
            first_rules = first_rules or example.rules_score
            expected["champion"].update(scores[0], example.churned)
            expected["challenger"].update(scores[1], example.churned)
            champion.learn_inputs(inputs, example.churned)
            challenger.learn_inputs(inputs, example.churned)
        # untrained, both models score as the rules they start from
        assert first_scores == pytest.approx((first_rules, first_rules))
        last = checkpoints[-1]
        assert last.promotions == 0
        assert last.metrics["champion_shadow"] == expected["champion"].snapshot().to_dict()
        assert last.metrics["challenger"] == expected["challenger"].snapshot().to_dict()
        assert last.metrics["champion_shadow"] != last.metrics["challenger"]

    def test_no_challenger_when_disabled(self) -> None:
        """Disabled, the learner keeps no shadow model and the checkpoints say so."""
        config = ScoringConfig(learning=LEARNING, challenger=ChallengerConfig(enabled=False))
        last = learned(DailyLearner(config), one_group(2))[-1]
        assert last.challenger is None
        assert last.promotions == 0
        assert "challenger" not in last.metrics
        assert "champion_shadow" not in last.metrics


class TestPromotion:
    def test_a_clearly_better_challenger_takes_over_and_the_old_champion_keeps_learning(self) -> None:
        """The swap puts the challenger in the checkpoint; the demoted model learns on, in shadow."""
        learner = DailyLearner(BAD_CHAMPION)
        checkpoints = learned(learner, interleave(two_groups(6), 3))
        assert checkpoints[0].champion == "logreg-lr50"
        promoted = next(c for c in checkpoints if c.promotions == 1)
        assert (promoted.champion, promoted.challenger) == ("logreg-lr0.05", "logreg-lr50")
        assert promoted.model.name == "logreg-lr0.05"
        assert checkpoints[-1].promotions == 1  # the demoted model stays behind: no swap back
        assert learner.challenger is not None
        assert (
            learner.challenger.model.n_learned == learner.model.n_learned == checkpoints[-1].examples_learned
        )
        # the windows went with their models: the champion's is the better one
        last = checkpoints[-1].metrics
        assert last["champion_shadow"]["roc_auc"] > last["challenger"]["roc_auc"] + 0.05

    def test_a_worse_or_equal_challenger_is_never_promoted(self) -> None:
        """A challenger behind the champion, or one just like it, never takes over."""
        same = ScoringConfig(
            online=OnlineModelConfig(min_labels_per_class=5),
            learning=LEARNING,
            challenger=ChallengerConfig(model="logreg", learning_rate=0.005),
        )
        for config in (SOUND_CHAMPION, same):
            checkpoints = learned(DailyLearner(config), interleave(two_groups(6), 3))
            assert all(c.promotions == 0 for c in checkpoints)
            assert {c.champion for c in checkpoints} == {OnlineModel(config).name}

    def test_promotion_does_not_depend_on_the_order_examples_arrive_in(self) -> None:
        """Two interleavings of the same groups' records promote on the same day and give the
        same checkpoints, champion included."""
        streams = two_groups(6)
        runs = []
        for seed in (1, 2):
            runs.append(
                [
                    (c.day, c.champion, c.challenger, c.promotions, pickle.dumps(c.model.pipeline), c.metrics)
                    for c in learned(DailyLearner(BAD_CHAMPION), interleave(streams, seed))
                ]
            )
        assert runs[0] == runs[1]
        assert runs[0][-1][3] == 1

    def test_after_a_promotion_the_risk_scale_is_fitted_on_the_champions_own_scores(self) -> None:
        """Once promoted, the model in charge is mapped by its learn-time scores of the recent
        examples, not by the snapshot-time scores its predecessor gave them."""
        learner = DailyLearner(BAD_CHAMPION)
        checkpoints = learned(learner, interleave(two_groups(8), 3))
        last = checkpoints[-1]
        assert last.promotions == 1
        assert last.model_weight > 0
        assert learner.challenger is not None
        assert last.risk_scale == RiskScale.fit(
            learner.challenger.champion_window, learner.metrics["rules_recent"]
        )
        assert last.risk_scale != RiskScale.fit(
            learner.metrics["model_recent"], learner.metrics["rules_recent"]
        )


class TestFallback:
    def test_rules_take_charge_again_when_the_model_falls_behind_and_hand_over_later(self) -> None:
        """Rules perfect for a while: the share drops to 0 the day the model is behind them by
        the margin; once the rules are ordinary again, a new hand-over raises it from 1/4."""
        config = ScoringConfig(online=OnlineModelConfig(min_labels_per_class=5), learning=LEARNING)
        checkpoints = learned(DailyLearner(config), one_group(14, rules_perfect=range(5, 7)))
        weights = [c.model_weight for c in checkpoints]
        fallen = next(i for i, c in enumerate(checkpoints) if c.fallbacks == 1)
        assert weights[fallen - 1] > 0  # the model had a share before
        assert weights[fallen] == 0.0
        assert checkpoints[fallen].handover_day is None
        assert checkpoints[fallen].risk_scale is None
        recent = checkpoints[fallen].metrics
        assert recent["model_recent"]["roc_auc"] < recent["rules_recent"]["roc_auc"] - 0.02
        again = next(i for i in range(fallen, len(weights)) if weights[i] > 0)
        assert weights[again : again + 4] == [0.25, 0.5, 0.75, 1.0]
        assert checkpoints[again].handover_day == checkpoints[again].day
        assert checkpoints[-1].fallbacks == 1

    def test_a_model_level_with_the_rules_keeps_its_share(self) -> None:
        """Without a margin's worth of difference, no fallback."""
        checkpoints = learned(
            DailyLearner(ScoringConfig(online=OnlineModelConfig(min_labels_per_class=5), learning=LEARNING)),
            one_group(10),
        )
        assert checkpoints[-1].fallbacks == 0
        assert checkpoints[-1].model_weight == 1.0


FOREST_CHALLENGER = ScoringConfig(
    online=OnlineModelConfig(min_labels_per_class=5, learning_rate=50.0),
    learning=LEARNING,
    # every input at each split: the examples carry their signal in one input of ~50
    challenger=ChallengerConfig(forest=ForestConfig(grace_period=20, max_features=100)),
)


class TestNonlinearChallenger:
    def test_a_better_forest_is_promoted_and_scores_alerts_with_reasons(self) -> None:
        """A tree ensemble ahead of a poor linear champion takes over; the checkpoint scores with
        it, and a customer high on the signal gets the signal's reason with its text."""
        learner = DailyLearner(FOREST_CHALLENGER)
        checkpoints = learned(learner, interleave(two_groups(6), 3))
        promoted = next(c for c in checkpoints if c.promotions == 1)
        assert (promoted.champion, promoted.challenger) == ("arf-n3-d6-g20-f100", "logreg-lr50")
        assert isinstance(promoted.model, ForestModel)
        assert checkpoints[-1].champion == "arf-n3-d6-g20-f100"
        restored = Checkpoint.from_bytes(checkpoints[-1].to_bytes())
        scorer = VersionScorer(
            ColdStartRules(FOREST_CHALLENGER), restored.model, 1.0, restored.version, restored.risk_scale
        )
        signal = INPUT_NAMES[0]
        plain = FeatureVector.empty("c1", datetime(2026, 1, 20, tzinfo=UTC))
        risky = replace(plain, **{signal: 4.0})
        score = scorer.score(risky)
        assert score.value > scorer.score(plain).value
        assert score.source is ScoreSource.ONLINE_MODEL
        assert score.model_version == restored.version
        assert score.reasons
        assert score.reasons[0].code == fixed_code_for_feature(signal)
        assert score.reasons[0].text == describe(ReasonCode(score.reasons[0].code), risky)

    def test_the_forest_challenger_learns_the_same_examples_byte_for_byte_in_any_arrival_order(self) -> None:
        """Two interleavings of the same records give byte-identical checkpoints, forest included."""
        streams = two_groups(6)
        runs = [
            [c.to_bytes() for c in learned(DailyLearner(FOREST_CHALLENGER), interleave(streams, seed))]
            for seed in (1, 2)
        ]
        assert runs[0] == runs[1]
