"""The models compared by ``bench.model_comparison``: one small interface over rules and River.

Every candidate scores a ``FeatureVector`` and, unless it is the rule set, learns from one
resolved example. River models see ``models.online.model_inputs`` (the numeric features,
unknowns as indicator pairs, non-finite values neutralised), the same inputs as the
production logistic regression; tree models need no scaling, the Mondrian forest needs
inputs in [0, 1] (a running min-max scaler). Ensembles share ``ensemble_size``.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any, Protocol

from river import compose, ensemble, forest, preprocessing, tree

from features.vector import FeatureVector
from models.cold_start import ColdStartRules
from models.config import ScoringConfig
from models.online import OnlineModel, model_inputs

RULES = "rules"
LOGREG = "logreg"
HOEFFDING_ADAPTIVE_TREE = "hat"
ADAPTIVE_RANDOM_FOREST = "arf"
STREAMING_RANDOM_PATCHES = "srp"
MONDRIAN_FOREST = "amf"
BAGGED_TREES = "bagging"
CANDIDATES = (
    RULES,
    LOGREG,
    HOEFFDING_ADAPTIVE_TREE,
    ADAPTIVE_RANDOM_FOREST,
    STREAMING_RANDOM_PATCHES,
    MONDRIAN_FOREST,
    BAGGED_TREES,
)
"""Every candidate's name, in report order."""


class Candidate(Protocol):
    """A model under comparison: ``score`` is a pure read, ``learn`` a no-op for the rules."""

    @property
    def learns(self) -> bool: ...

    def score(self, features: FeatureVector) -> float: ...

    def learn(self, features: FeatureVector, churned: bool) -> None: ...

    def checkpoint(self) -> bytes:
        """The pickled model, as a checkpoint would store it."""
        ...

    def memory_bytes(self) -> int | None:
        """Live memory of the learned state (River's object-graph walk); None without one."""
        ...


class RulesCandidate:
    """The cold-start playbook rules: they never learn."""

    learns = False

    def __init__(self, config: ScoringConfig) -> None:
        self.rules = ColdStartRules(config)

    def score(self, features: FeatureVector) -> float:
        return self.rules.score(features).value

    def learn(self, features: FeatureVector, churned: bool) -> None:
        """Rules are fixed; resolved examples only update their metrics."""

    def checkpoint(self) -> bytes:
        return pickle.dumps(self.rules)

    def memory_bytes(self) -> int | None:
        return None


class OnlineModelCandidate:
    """The production ``OnlineModel`` (scaled logistic regression), reasons included in its score cost."""

    learns = True

    def __init__(self, config: ScoringConfig) -> None:
        self.model = OnlineModel(config)

    def score(self, features: FeatureVector) -> float:
        return self.model.score(features).value

    def learn(self, features: FeatureVector, churned: bool) -> None:
        self.model.learn(features, churned)

    def checkpoint(self) -> bytes:
        return pickle.dumps(self.model)

    def memory_bytes(self) -> int | None:
        raw: int = self.model.pipeline._raw_memory_usage
        return raw


class RiverCandidate:
    """Any River binary classifier over ``model_inputs``; the score is P(churned)."""

    learns = True

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator  # River is untyped: Any at the library edge

    def score(self, features: FeatureVector) -> float:
        probabilities: dict[bool, float] = self.estimator.predict_proba_one(model_inputs(features))
        return min(1.0, max(0.0, float(probabilities.get(True, 0.0))))

    def learn(self, features: FeatureVector, churned: bool) -> None:
        self.estimator.learn_one(model_inputs(features), churned)

    def checkpoint(self) -> bytes:
        return pickle.dumps(self.estimator)

    def memory_bytes(self) -> int | None:
        raw: int = self.estimator._raw_memory_usage
        return raw


CandidateFactory = Callable[[int], Candidate]
"""Builds a fresh candidate from a seed."""


def candidate_factories(config: ScoringConfig, ensemble_size: int) -> dict[str, CandidateFactory]:
    """Every candidate by name, in report order.

    >>> tuple(candidate_factories(ScoringConfig(), 3)) == CANDIDATES
    True
    """
    return {
        RULES: lambda seed: RulesCandidate(config),
        LOGREG: lambda seed: OnlineModelCandidate(config),
        HOEFFDING_ADAPTIVE_TREE: lambda seed: RiverCandidate(tree.HoeffdingAdaptiveTreeClassifier(seed=seed)),
        ADAPTIVE_RANDOM_FOREST: lambda seed: RiverCandidate(
            forest.ARFClassifier(n_models=ensemble_size, seed=seed)
        ),
        STREAMING_RANDOM_PATCHES: lambda seed: RiverCandidate(
            ensemble.SRPClassifier(n_models=ensemble_size, seed=seed)
        ),
        MONDRIAN_FOREST: lambda seed: RiverCandidate(
            compose.Pipeline(
                preprocessing.MinMaxScaler(), forest.AMFClassifier(n_estimators=ensemble_size, seed=seed)
            )
        ),
        BAGGED_TREES: lambda seed: RiverCandidate(
            ensemble.BaggingClassifier(tree.HoeffdingTreeClassifier(), n_models=ensemble_size, seed=seed)
        ),
    }
