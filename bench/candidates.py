"""The models compared by ``bench.model_comparison``: one small interface over rules and River.

Every candidate scores a ``FeatureVector`` and, unless it is the rule set, learns from one
resolved example. River models see ``models.online.model_inputs`` (the numeric features,
unknowns as indicator pairs, non-finite values neutralised), the same inputs as the
production logistic regression; tree models need no scaling, the Mondrian forest needs
inputs in [0, 1] (a running min-max scaler). Ensembles share ``ensemble_size``.

Two candidates take settings in their name, so variants run side by side on the same
examples: ``logreg:optimizer=adam,weighted_scaling=true`` (``OnlineModelConfig`` over the
worker's settings) and ``forest:kind=arf,n_models=3`` (``ForestConfig`` over the
challenger's), the production classes with those settings. ``batch_logreg`` and
``batch_gbm`` are not candidates: scikit-learn models fitted offline on the earlier half
of a run's examples (``bench.model_comparison``).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import ValidationError
from river import compose, ensemble, forest, preprocessing, tree

from features.vector import FeatureVector
from models.cold_start import ColdStartRules
from models.config import ForestConfig, ScoringConfig
from models.forest import ForestModel
from models.online import OnlineModel, model_inputs, with_rules

RULES = "rules"
LOGREG = "logreg"
FOREST = "forest"
HOEFFDING_ADAPTIVE_TREE = "hat"
ADAPTIVE_RANDOM_FOREST = "arf"
STREAMING_RANDOM_PATCHES = "srp"
MONDRIAN_FOREST = "amf"
BAGGED_TREES = "bagging"
BATCH_LOGREG = "batch_logreg"
BATCH_GBM = "batch_gbm"
CANDIDATES = (
    RULES,
    LOGREG,
    FOREST,
    HOEFFDING_ADAPTIVE_TREE,
    ADAPTIVE_RANDOM_FOREST,
    STREAMING_RANDOM_PATCHES,
    MONDRIAN_FOREST,
    BAGGED_TREES,
)
"""Every online candidate's base name, in report order."""
BATCH_MODELS = (BATCH_LOGREG, BATCH_GBM)
"""Offline yardsticks: fitted on the earlier half of the examples, judged on the later half."""
ALL_MODELS = CANDIDATES + BATCH_MODELS
CONFIGURABLE = (LOGREG, FOREST)
"""Candidates that take ``name:key=value,...`` settings."""


def parse_settings(spec: str) -> tuple[str, dict[str, Any]]:
    """``forest:kind=amf,n_models=5`` -> ``("forest", {"kind": "amf", "n_models": "5"})``
    (values are validated by the config they go to); ``max_depth=none`` is None.

    >>> parse_settings("logreg:optimizer=adam,weighted_scaling=true")
    ('logreg', {'optimizer': 'adam', 'weighted_scaling': 'true'})
    >>> parse_settings("rules")
    ('rules', {})
    """
    name, _, rest = spec.partition(":")
    settings: dict[str, Any] = {}
    for pair in filter(None, rest.split(",")):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{spec!r}: settings are key=value pairs separated by commas")
        settings[key.strip()] = None if value.strip().lower() == "none" else value.strip()
    if settings and name not in CONFIGURABLE:
        raise ValueError(f"{spec!r}: only {', '.join(CONFIGURABLE)} take settings")
    return name, settings


def check_model_spec(spec: str, config: ScoringConfig) -> None:
    """Raise ``ValueError`` unless ``spec`` names a known model with valid settings."""
    name, _ = parse_settings(spec)
    if name not in ALL_MODELS:
        raise ValueError(f"{spec!r}: choose from {', '.join(ALL_MODELS)}")
    if name in CONFIGURABLE:
        try:
            _configured(spec, config)
        except ValidationError as error:
            raise ValueError(f"{spec!r}: {error.errors()[0]['loc']}: {error.errors()[0]['msg']}") from error


def _configured(spec: str, config: ScoringConfig) -> tuple[ScoringConfig, ForestConfig]:
    """The scoring config and forest config a configurable spec names."""
    name, settings = parse_settings(spec)
    forest_config = config.challenger.forest
    if name == LOGREG and settings:
        online = type(config.online).model_validate({**config.online.model_dump(), **settings})
        config = config.model_copy(update={"online": online})
    if name == FOREST and settings:
        forest_config = ForestConfig.model_validate({**forest_config.model_dump(), **settings})
    return config, forest_config


class Candidate(Protocol):
    """A model under comparison: ``score`` is a pure read, ``learn`` a no-op for the rules."""

    @property
    def learns(self) -> bool: ...

    @property
    def weighs(self) -> bool:
        """Whether it learns example weights (else its scores are at the subsampled odds)."""
        ...

    def score(self, features: FeatureVector) -> float: ...

    def learn(self, features: FeatureVector, churned: bool, weight: float) -> None: ...

    def checkpoint(self) -> bytes:
        """The pickled model, as a checkpoint would store it."""
        ...

    def memory_bytes(self) -> int | None:
        """Live memory of the learned state (River's object-graph walk); None without one."""
        ...


class RulesCandidate:
    """The cold-start playbook rules: they never learn."""

    learns = False
    weighs = True

    def __init__(self, config: ScoringConfig) -> None:
        self.rules = ColdStartRules(config)

    def score(self, features: FeatureVector) -> float:
        return self.rules.score(features).value

    def learn(self, features: FeatureVector, churned: bool, weight: float) -> None:
        """Rules are fixed; resolved examples only update their metrics."""

    def checkpoint(self) -> bytes:
        return pickle.dumps(self.rules)

    def memory_bytes(self) -> int | None:
        return None


def stacked_inputs(features: FeatureVector, rules: ColdStartRules) -> dict[str, float]:
    """The production models' inputs: ``model_inputs`` and the rules' log-odds, as the worker
    scores a snapshot and the learner learns it (``models.routing``, ``models.learner``)."""
    return with_rules(model_inputs(features), rules.score(features).value)


class OnlineModelCandidate:
    """The production ``OnlineModel`` (scaled logistic regression over the rules' log-odds);
    its score is the probability alone, as for every candidate (reasons are worked out only
    for alerts)."""

    learns = True
    weighs = True

    def __init__(self, config: ScoringConfig) -> None:
        self.model = OnlineModel(config)
        self.rules = ColdStartRules(config)

    def score(self, features: FeatureVector) -> float:
        return self.model.probability(features, stacked_inputs(features, self.rules))

    def learn(self, features: FeatureVector, churned: bool, weight: float) -> None:
        self.model.learn_inputs(stacked_inputs(features, self.rules), churned, weight)

    def checkpoint(self) -> bytes:
        return pickle.dumps(self.model)

    def memory_bytes(self) -> int | None:
        raw: int = self.model.pipeline._raw_memory_usage
        return raw


class ForestCandidate:
    """The production ``ForestModel`` (a tree ensemble with weights as prior correction)."""

    learns = True
    weighs = True

    def __init__(self, config: ScoringConfig, forest_config: ForestConfig) -> None:
        self.model = ForestModel(config, forest_config)
        self.rules = ColdStartRules(config)

    def score(self, features: FeatureVector) -> float:
        return self.model.probability(features, stacked_inputs(features, self.rules))

    def learn(self, features: FeatureVector, churned: bool, weight: float) -> None:
        self.model.learn_inputs(stacked_inputs(features, self.rules), churned, weight)

    def checkpoint(self) -> bytes:
        return pickle.dumps(self.model)

    def memory_bytes(self) -> int | None:
        raw: int = self.model.estimator._raw_memory_usage
        return raw


class RiverCandidate:
    """Any River binary classifier over ``model_inputs``; the score is P(churned)."""

    learns = True
    weighs = False  # River's ensembles draw their own weights; the scores are mapped back

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator  # River is untyped: Any at the library edge

    def score(self, features: FeatureVector) -> float:
        probabilities: dict[bool, float] = self.estimator.predict_proba_one(model_inputs(features))
        return min(1.0, max(0.0, float(probabilities.get(True, 0.0))))

    def learn(self, features: FeatureVector, churned: bool, weight: float) -> None:
        self.estimator.learn_one(model_inputs(features), churned)

    def checkpoint(self) -> bytes:
        return pickle.dumps(self.estimator)

    def memory_bytes(self) -> int | None:
        raw: int = self.estimator._raw_memory_usage
        return raw


CandidateFactory = Callable[[int], Candidate]
"""Builds a fresh candidate from a seed."""


def candidate_factory(spec: str, config: ScoringConfig, ensemble_size: int) -> CandidateFactory:
    """The candidate ``spec`` names (``check_model_spec`` first); River's defaults for the
    plain tree models, ``ensemble_size`` members.

    >>> candidate_factory("forest:n_models=2", ScoringConfig(), 5)(1).model.name
    'arf-n2-d6-g200'
    """
    name, _ = parse_settings(spec)
    if name == LOGREG:
        scoring, _ = _configured(spec, config)
        return lambda seed: OnlineModelCandidate(scoring)
    if name == FOREST:
        scoring, forest_config = _configured(spec, config)
        return lambda seed: ForestCandidate(scoring, forest_config)
    factories: dict[str, CandidateFactory] = {
        RULES: lambda seed: RulesCandidate(config),
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
    return factories[name]
