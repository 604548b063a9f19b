"""Behaviour of the River online model and of the scorer of a model version (rules, model, blend)."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from features.vector import FeatureVector
from models.cold_start import ColdStartRules
from models.config import OnlineModelConfig, ScoringConfig
from models.derived_inputs import RULES_INPUT
from models.online import ClipScaled, OnlineModel, model_inputs, with_rules
from models.reason_codes import ReasonCode
from models.routing import VersionScorer
from schemas.outputs import ScoreSource

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
EMPTY = FeatureVector.empty("c1", AS_OF)


def synthetic_examples(n: int, seed: int) -> list[tuple[FeatureVector, bool]]:
    """Leavers see top-ups lapse and usage fall; noise features carry no signal."""
    rng = random.Random(seed)
    examples = []
    for _ in range(n):
        churned = rng.random() < 0.25
        examples.append(
            (
                replace(
                    EMPTY,
                    history_days=rng.uniform(60, 700),
                    usage_trend=rng.gauss(-0.45 if churned else 0.0, 0.3),
                    days_since_last_topup=rng.expovariate(1 / (25 if churned else 8)),
                    usual_topup_gap_days=rng.uniform(5, 15),
                    minutes_out_30d=rng.uniform(0, 400),
                    revenue_90d=rng.uniform(0, 300),
                    off_net_share_30d=rng.random(),
                ),
                churned,
            )
        )
    return examples


def roc_auc(scored: list[tuple[float, bool]]) -> float:
    """Probability that a random leaver outscores a random stayer (ties count half)."""
    positives = [s for s, y in scored if y]
    negatives = [s for s, y in scored if not y]
    wins = sum((p > q) + 0.5 * (p == q) for p in positives for q in negatives)
    return wins / (len(positives) * len(negatives))


def small_warmup(labels_per_class: int) -> ScoringConfig:
    return ScoringConfig(online=OnlineModelConfig(min_labels_per_class=labels_per_class))


class TestOnlineModel:
    def test_learns_a_separable_signal(self) -> None:
        """After 2000 examples the model ranks held-out leavers above stayers (AUC > 0.8)."""
        model = OnlineModel()
        for features, churned in synthetic_examples(2000, seed=1):
            model.learn(features, churned)
        held_out = synthetic_examples(600, seed=2)
        auc = roc_auc([(model.score(f).value, y) for f, y in held_out])
        assert auc > 0.8

    def test_reasons_name_the_learned_signal(self) -> None:
        """A customer whose usage collapsed is told so first."""
        model = OnlineModel()
        for features, churned in synthetic_examples(2000, seed=1):
            model.learn(features, churned)
        leaver = replace(EMPTY, history_days=300.0, usage_trend=-0.9, days_since_last_topup=5.0)
        assert model.score(leaver).reasons[0].code == ReasonCode.USAGE_DECLINE

    def test_model_version_counts_labels_learned(self) -> None:
        """Each learned label bumps the version, so a prediction names the state behind it."""
        model = OnlineModel()
        for features, churned in synthetic_examples(3, seed=1):
            model.learn(features, churned)
        assert model.model_version == "river-logreg-3"

    def test_is_not_warm_with_one_class_only(self) -> None:
        """Many labels of a single class do not make the model warm."""
        model = OnlineModel(small_warmup(5))
        for _ in range(50):
            model.learn(EMPTY, False)
        assert not model.is_warm()

    def test_is_warm_once_both_classes_reach_the_minimum(self) -> None:
        """The model is warm as soon as each class has min_labels_per_class labels."""
        model = OnlineModel(small_warmup(5))
        for _ in range(5):
            model.learn(EMPTY, False)
        for _ in range(4):
            model.learn(replace(EMPTY, usage_trend=-1.0), True)
        before = model.is_warm()
        model.learn(replace(EMPTY, usage_trend=-1.0), True)
        assert (before, model.is_warm()) == (False, True)

    def test_probability_of_inputs_is_the_score_without_reasons(self) -> None:
        """The learner's one-pass probability equals the scorer's value bit for bit, outliers
        beyond the clip included."""
        model = OnlineModel(ScoringConfig(online=OnlineModelConfig(scaled_clip=1.5)))
        examples = synthetic_examples(400, seed=11)
        for features, churned in examples[:300]:
            model.learn(features, churned)
        for features, _ in examples[300:]:
            outlier = replace(features, minutes_out_30d=features.minutes_out_30d * 40)
            for vector in (features, outlier):
                value = model.score(vector).value
                assert model.probability(vector) == value
                assert model.probability_of_inputs(model_inputs(vector)) == value

    def test_clip_matches_max_min_for_every_value(self) -> None:
        """The clip bounds values as ``max(-b, min(b, v))`` would, NaN and the bounds included."""
        clip = ClipScaled(2.0)
        values = [-math.inf, -3.0, -2.0, -0.0, 0.5, 2.0, 7.0, math.inf, math.nan]
        clipped = clip.transform_one(dict(enumerate(values)))
        assert list(clipped.values()) == [max(-2.0, min(2.0, value)) for value in values]

    def test_name_tells_configurations_apart(self) -> None:
        """Champion and challenger are named by what differs from the defaults."""
        assert OnlineModel().name == "logreg-lr0.005"
        assert OnlineModel(ScoringConfig(online=OnlineModelConfig(scaled_clip=3.0))).name == (
            "logreg-lr0.005-clip3"
        )

    def test_model_scores_say_they_come_from_the_model(self) -> None:
        """Model scores carry the online-model source."""
        assert OnlineModel().score(EMPTY).source == ScoreSource.ONLINE_MODEL


def model_value(model: OnlineModel, features: FeatureVector) -> float:
    """The model's probability on what a version scorer gives it: its inputs and the rules' log-odds."""
    return model.score(
        features, with_rules(model_inputs(features), ColdStartRules().score(features).value)
    ).value


class TestVersionScorer:
    def test_rules_score_before_the_hand_over(self) -> None:
        """Model weight 0: the rules' score, with the rules' version, whatever the model learned."""
        model = OnlineModel(small_warmup(5))
        for features, churned in synthetic_examples(80, seed=3):
            model.learn(features, churned)
        scorer = VersionScorer(ColdStartRules(), model, 0.0, "river-logreg-2026-01-01-n80")
        leaver = replace(EMPTY, usage_trend=-0.8)
        assert scorer.score(leaver) == ColdStartRules().score(leaver)
        assert scorer.model_version == "rules-3"

    def test_the_model_alone_after_the_hand_over(self) -> None:
        """Model weight 1: the model's value, labelled with the checkpoint's version."""
        model = OnlineModel(small_warmup(5))
        for features, churned in synthetic_examples(80, seed=3):
            model.learn(features, churned)
        score = VersionScorer(ColdStartRules(), model, 1.0, "v80").score(EMPTY)
        assert (score.source, score.model_version, score.value) == (
            ScoreSource.ONLINE_MODEL,
            "v80",
            model_value(model, EMPTY),
        )

    def test_blend_mixes_the_probabilities_by_the_model_share(self) -> None:
        """Weight 0.25: a quarter of the model's probability and three quarters of the rules'."""
        model = OnlineModel(small_warmup(5))
        for features, churned in synthetic_examples(80, seed=3):
            model.learn(features, churned)
        leaver = replace(EMPTY, usage_trend=-0.8)
        score = VersionScorer(ColdStartRules(), model, 0.25, "v80").score(leaver)
        expected = 0.75 * ColdStartRules().score(leaver).value + 0.25 * model_value(model, leaver)
        assert score.source == ScoreSource.BLEND
        assert score.value == pytest.approx(expected)

    def test_blend_led_by_a_model_without_reasons_gives_the_rules_reasons(self) -> None:
        """Half-way through the hand-over the model leads the reasons; seeing none, the rules' explain."""
        model = OnlineModel(small_warmup(5))
        for features, churned in synthetic_examples(80, seed=3):
            model.learn(features, churned)
        gone_quiet = replace(
            EMPTY,
            history_days=300.0,
            days_since_last_topup=2.0,
            usual_topup_gap_days=10.0,
            calls_out_30d=60.0,
            calls_out_90d=160.0,
        )
        assert not model.score(gone_quiet).reasons
        rules = ColdStartRules().score(gone_quiet)
        assert rules.reasons[0].code == ReasonCode.RECENT_CALLS_DROP
        blended = VersionScorer(ColdStartRules(), model, 0.5, "v80").score(gone_quiet)
        assert tuple(blended.reasons) == tuple(rules.reasons)

    def test_snapshot_keeps_both_opinions(self) -> None:
        """A snapshot records the model's and the rules' scores whoever is in charge."""
        model = OnlineModel(small_warmup(5))
        for features, churned in synthetic_examples(80, seed=3):
            model.learn(features, churned)
        leaver = replace(EMPTY, usage_trend=-0.8)
        scored = VersionScorer(ColdStartRules(), model, 0.0, "v80").snapshot(leaver)
        assert scored.used == ColdStartRules().score(leaver)
        assert (scored.model_score, scored.rules_score) == (
            model_value(model, leaver),
            ColdStartRules().score(leaver).value,
        )


def rules_informed_examples(n: int, seed: int) -> list[tuple[dict[str, float], bool]]:
    """Stacked inputs whose rules' log-odds carry most of the signal, the usage trend the rest."""
    rng = random.Random(seed)
    examples = []
    for features, _ in synthetic_examples(n, seed):
        rules_logit = rng.gauss(-2.0, 1.0)
        true_logit = rules_logit - 1.5 * features.usage_trend
        churned = rng.random() < 1.0 / (1.0 + math.exp(-true_logit))
        examples.append((with_rules(model_inputs(features), 1.0 / (1.0 + math.exp(-rules_logit))), churned))
    return examples


class TestRulesOffset:
    def test_a_model_that_learned_nothing_scores_as_the_rules(self) -> None:
        """The rules' log-odds are the starting point: untrained, the model's probability is theirs."""
        model = OnlineModel()
        for rules_score in (0.01, 0.2, 0.5, 0.93):
            inputs = with_rules(model_inputs(EMPTY), rules_score)
            assert model.probability_of_inputs(inputs) == pytest.approx(rules_score, abs=1e-12)
            assert model.score(EMPTY, inputs).value == pytest.approx(rules_score, abs=1e-12)

    def test_without_the_offset_an_untrained_model_scores_one_half(self) -> None:
        model = OnlineModel(ScoringConfig(online=OnlineModelConfig(rules_offset=False)))
        assert model.probability_of_inputs(with_rules(model_inputs(EMPTY), 0.2)) == 0.5

    def test_few_labels_keep_the_rules_ranking_and_more_improve_on_it(self) -> None:
        """After 100 labels the model ranks about as the rules do (the offset model) where a model
        from scratch still ranks worse; after 3000 it ranks better than the rules."""
        held_out = rules_informed_examples(2000, seed=11)
        rules_auc = roc_auc([(inputs[RULES_INPUT], churned) for inputs, churned in held_out])

        def auc_after(n: int, offset: bool) -> float:
            model = OnlineModel(ScoringConfig(online=OnlineModelConfig(rules_offset=offset)))
            for inputs, churned in rules_informed_examples(n, seed=12):
                model.learn_inputs(inputs, churned)
            return roc_auc([(model.probability_of_inputs(inputs), churned) for inputs, churned in held_out])

        assert auc_after(100, offset=True) >= rules_auc - 0.01
        assert auc_after(100, offset=False) < auc_after(100, offset=True) - 0.02
        assert auc_after(3000, offset=True) > rules_auc + 0.01
