"""The tree-ensemble churn model: determinism, pickling, weights, settings."""

from __future__ import annotations

import os
import pickle
import random
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sklearn.metrics import roc_auc_score

from features.vector import FeatureVector
from models.config import ChallengerConfig, ForestConfig, OnlineModelConfig, ScoringConfig
from models.forest import ForestModel
from models.online import model_inputs

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
CONFIG = ScoringConfig(online=OnlineModelConfig(min_labels_per_class=20))
KINDS = ("arf", "amf", "bagged_hat")


def synthetic_examples(count: int, seed: int = 7) -> list[tuple[FeatureVector, bool]]:
    """Churners' usage and top-ups fall and their top-ups lapse; everyone else is steady."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        churned = rng.random() < 0.2
        drift = -0.6 if churned else 0.0
        features = replace(
            FeatureVector.empty("c", AS_OF),
            history_days=120.0,
            usage_trend=rng.gauss(drift, 0.25),
            topup_trend=rng.gauss(drift, 0.25),
            days_since_last_topup=rng.uniform(0, 40 if churned else 12),
            usual_topup_gap_days=10.0,
            minutes_out_30d=rng.uniform(0, 300),
            revenue_90d=rng.uniform(0, 200),
        )
        rows.append((features, churned))
    return rows


def trained(kind: str = "arf", count: int = 600) -> ForestModel:
    model = ForestModel(CONFIG, ForestConfig(kind=kind))
    for features, churned in synthetic_examples(count):
        model.learn_inputs(model_inputs(features), churned, 1.0 if churned else 2.0)
    return model


_TRAIN_IN_A_PROCESS = """
import sys
from tests.unit.test_models_forest import trained
sys.stdout.buffer.write(__import__("pickle").dumps(trained(sys.argv[1], 300)))
"""


class TestDeterminism:
    @pytest.mark.parametrize("kind", KINDS)
    def test_the_same_examples_in_the_same_order_give_byte_identical_models(self, kind: str) -> None:
        """Two models learning the same examples pickle to the same bytes."""
        assert pickle.dumps(trained(kind, 300)) == pickle.dumps(trained(kind, 300))

    def test_models_learned_in_processes_with_different_hash_seeds_are_byte_identical(self) -> None:
        """Set and dict orders of another process (PYTHONHASHSEED) do not reach the checkpoint."""
        pickles = []
        for hash_seed in ("1", "2"):
            environment = {**os.environ, "PYTHONHASHSEED": hash_seed}
            done = subprocess.run(
                [sys.executable, "-c", _TRAIN_IN_A_PROCESS, "arf"],
                env=environment,
                capture_output=True,
                check=True,
                timeout=120,
            )
            pickles.append(done.stdout)
        assert pickles[0] == pickles[1]
        assert pickles[0] == pickle.dumps(trained("arf", 300))

    def test_another_seed_gives_another_forest(self) -> None:
        """The seed is what fixes the random draws."""
        other = ForestModel(CONFIG, ForestConfig(seed=43))
        for features, churned in synthetic_examples(300):
            other.learn_inputs(model_inputs(features), churned, 1.0 if churned else 2.0)
        assert pickle.dumps(other.estimator) != pickle.dumps(trained("arf", 300).estimator)


class TestPickling:
    @pytest.mark.parametrize("kind", KINDS)
    def test_a_restored_model_scores_and_learns_on_identically(self, kind: str) -> None:
        """Pickled and restored, the model gives the same scores and reasons and learns on to
        the same state (compared through a pickle round trip of each: pickle writes a name
        once per string object, and a restored model's names are other objects than the inputs')."""
        model = trained(kind, 300)
        restored: ForestModel = pickle.loads(pickle.dumps(model))
        later = synthetic_examples(50, seed=8)
        for features, _ in later:
            assert restored.score(features) == model.score(features)
        for features, churned in later:
            model.learn(features, churned)
            restored.learn(features, churned)

        def canonical(m: ForestModel) -> bytes:
            return pickle.dumps(pickle.loads(pickle.dumps(m)))

        if kind != "amf":  # its nodes share name objects differently once restored: equal, not identical
            assert canonical(restored) == canonical(model)
        assert [restored.probability(f) for f, _ in later] == [model.probability(f) for f, _ in later]

    def test_a_leaf_costs_a_few_kib_in_a_checkpoint(self) -> None:
        """The split observers' Gaussians share one generator: a pickle does not carry one per
        input and class (~3 KiB each, ≥ 40 KiB a leaf observing 7 inputs)."""
        model = trained("arf", 2_000)
        leaves = sum(member.n_leaves for member in model.estimator.data)
        assert leaves > 3
        assert len(pickle.dumps(model)) / leaves < 16_384


class TestQualityAndWeights:
    @pytest.mark.parametrize("kind", KINDS)
    def test_churners_rank_above_stayers(self, kind: str) -> None:
        """Trained on the synthetic signal, the model ranks unseen churners well above stayers."""
        model = trained(kind, 1_000)
        held_out = synthetic_examples(400, seed=9)
        scores = [model.probability(features) for features, _ in held_out]
        assert roc_auc_score([churned for _, churned in held_out], scores) > 0.8

    def test_negatives_learned_at_weight_two_halve_the_odds(self) -> None:
        """The prior correction moves the trees' odds by the classes' mean weights."""
        unweighted = ForestModel(CONFIG)
        weighted = ForestModel(CONFIG)
        for features, churned in synthetic_examples(300):
            inputs = model_inputs(features)
            unweighted.learn_inputs(inputs, churned, 1.0)
            weighted.learn_inputs(inputs, churned, 1.0 if churned else 2.0)
        features = synthetic_examples(1, seed=11)[0][0]
        p, q = unweighted.probability(features), weighted.probability(features)
        assert 0.0 < p < 1.0
        assert q / (1 - q) == pytest.approx(0.5 * p / (1 - p))

    def test_an_untrained_model_scores_one_half(self) -> None:
        """Before any example, every customer scores 0.5, as the untrained logistic regression."""
        assert ForestModel().probability(synthetic_examples(1)[0][0]) == 0.5

    def test_inputs_that_appear_later_are_learned_and_scored(self) -> None:
        """New input names (profile features landing later) need no change to the model."""
        model = trained("arf", 200)
        inputs = model_inputs(synthetic_examples(1)[0][0])
        model.learn_inputs({**inputs, "input_added_later": 30.0}, True, 1.0)
        assert 0.0 <= model.probability_of_inputs({**inputs, "input_added_later": 30.0}) <= 1.0
        assert model.baseline()["input_added_later"] == 30.0


class TestSettings:
    def test_the_default_challenger_is_the_forest(self) -> None:
        """A challenger config without settings names the tree ensemble; logreg stays available."""
        assert ChallengerConfig().model == "forest"
        assert ChallengerConfig(model="logreg").model == "logreg"

    @pytest.mark.parametrize(
        "settings",
        [
            {"kind": "gbm"},
            {"n_models": 0},
            {"max_depth": 0},
            {"grace_period": 1},
            {"max_nodes": 2},
            {"max_features": 0},
            {"trees": 3},
        ],
    )
    def test_invalid_forest_settings_are_refused(self, settings: dict[str, object]) -> None:
        """Unknown kinds, sizes out of range and unknown names fail validation."""
        with pytest.raises(ValidationError):
            ForestConfig.model_validate(settings)

    def test_an_unknown_challenger_model_is_refused(self) -> None:
        """Only logreg and forest can learn in shadow."""
        with pytest.raises(ValidationError):
            ChallengerConfig.model_validate({"model": "svm"})

    def test_forest_settings_come_from_the_environment_shape(self) -> None:
        """Nested settings validate from plain values, as the worker's environment gives them."""
        config = ScoringConfig.model_validate(
            {"challenger": {"forest": {"kind": "amf", "n_models": "4", "max_depth": None}}}
        )
        assert (config.challenger.forest.kind, config.challenger.forest.n_models) == ("amf", 4)
        assert ForestModel(config).name == "amf-n4-nodes1000"
