"""A tree ensemble learned online: the nonlinear churn model, a Scorer and Learner like ``OnlineModel``.

River's adaptive random forest, aggregated Mondrian forest or bagged Hoeffding adaptive
trees (``ForestConfig.kind``) over the same inputs as the logistic regression
(``models.online.model_inputs``: whatever names it returns, new ones included; trees
need no scaling). Three things the trees do not do are done here:

- **Example weights.** The learner learns half of the negatives at weight 2; ARF and AMF
  ignore weights (ARF draws its own Poisson weights). The trees learn each example once,
  and the probability is moved back to the weighted stream's odds by the ratio of the
  classes' mean weights (prior correction: monotone, so every ranking metric is the trees').
- **Reasons.** Occlusion against the population's running means of every input, kept
  here as the model learns (``models.attribution``), worked out only when an alert reads them.
- **Determinism.** Every random draw comes from ``ForestConfig.seed`` and River sorts
  input names before drawing from them, so the same examples in the same order give the
  same pickled model, byte for byte.

``model_version`` is ``river-<kind>-<labels learned>``, as for the logistic regression.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from river import compose, ensemble, forest, preprocessing, tree
from river.proba import Gaussian

from features.vector import FeatureVector
from models.attribution import attributed_reasons, group_contributions, logit, reason_groups
from models.cold_start import sigmoid
from models.config import ForestConfig, ScoringConfig
from models.online import model_inputs
from models.scorer import ExplainedOnDemand, Score
from schemas.outputs import Reason, ScoreSource


class _UndrawnRandom(random.Random):
    """A generator pickled as a reference to the one module-level instance, not as its state."""

    def __reduce__(self) -> str:
        return "_UNDRAWN_RNG"


_UNDRAWN_RNG = _UndrawnRandom(0)
"""The generator every split observer's Gaussian holds: the trees never sample from them, and a
restored model's Gaussians share it with those created later (identical pickles after a restore)."""


class SeededGaussianSplitter(tree.splitter.GaussianSplitter):
    """River's Gaussian split observer, with one seeded generator shared by every Gaussian.

    River creates each class's Gaussian with its own unseeded ``random.Random``, which the
    trees never draw from but which a pickle carries: two forests learned alike pickled to
    different bytes, and the ~3 KiB state of each (two per input a leaf observes) was most of
    a checkpoint (3.1 MiB for three trees of depth 8, 142 KiB shared). Shared and seeded,
    they pickle alike, once, and the trees learn exactly as before.
    """

    def update(self, att_val: Any, target_val: Any, w: float) -> None:
        if att_val is not None and target_val not in self._att_dist_per_class:
            gaussian = Gaussian(seed=0)  # type: ignore[no-untyped-call]
            gaussian._rng = _UNDRAWN_RNG
            self._att_dist_per_class[target_val] = gaussian
            self._min_per_class[target_val] = att_val
            self._max_per_class[target_val] = att_val
        super().update(att_val, target_val, w)  # type: ignore[no-untyped-call]


def forest_estimator(config: ForestConfig) -> Any:
    """The River estimator of ``config`` (untyped library: ``Any`` at its edge).

    >>> type(forest_estimator(ForestConfig(kind="bagged_hat"))).__name__
    'BaggingClassifier'
    """
    if config.kind == "arf":
        return forest.ARFClassifier(
            n_models=config.n_models,
            max_features="sqrt" if config.max_features is None else config.max_features,
            grace_period=config.grace_period,
            max_depth=config.max_depth,
            leaf_prediction="mc",  # class shares at the leaf: naive Bayes leaves cost ~3x per score
            splitter=SeededGaussianSplitter(),
            seed=config.seed,
        )
    if config.kind == "amf":
        return compose.Pipeline(
            preprocessing.MinMaxScaler(),
            forest.AMFClassifier(n_estimators=config.n_models, max_nodes=config.max_nodes, seed=config.seed),
        )
    return ensemble.BaggingClassifier(
        tree.HoeffdingAdaptiveTreeClassifier(
            grace_period=config.grace_period,
            max_depth=config.max_depth,
            leaf_prediction="mc",
            splitter=SeededGaussianSplitter(),
            seed=config.seed,
        ),
        n_models=config.n_models,
        seed=config.seed,
    )


def forest_name(config: ForestConfig) -> str:
    """The configuration in short, ``arf-n3-d6-g200``: which model is champion or challenger.

    >>> forest_name(ForestConfig()), forest_name(ForestConfig(kind="amf", n_models=5))
    ('arf-n3-d6-g200', 'amf-n5-nodes1000')
    """
    if config.kind == "amf":
        return f"amf-n{config.n_models}-nodes{config.max_nodes or 'all'}"
    depth = config.max_depth or "all"
    name = f"{config.kind}-n{config.n_models}-d{depth}-g{config.grace_period}"
    if config.kind == "arf" and config.max_features is not None:
        name += f"-f{config.max_features}"
    return name


class ForestModel:
    """Scorer and Learner backed by a River tree ensemble; ``score`` never updates it.

    >>> from datetime import UTC, datetime
    >>> model = ForestModel()
    >>> model.score(FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC))).value
    0.5
    >>> model.model_version, model.name, model.is_warm()
    ('river-arf-0', 'arf-n3-d6-g200', False)
    """

    def __init__(
        self, config: ScoringConfig | None = None, forest_config: ForestConfig | None = None
    ) -> None:
        self.config = config or ScoringConfig()
        self.forest = forest_config or self.config.challenger.forest
        self.estimator: Any = forest_estimator(self.forest)
        self.labels_learned: dict[bool, int] = {False: 0, True: 0}
        self.weight_learned: dict[bool, float] = {False: 0.0, True: 0.0}
        # the population's means of every input (weighted like the examples): the attribution baseline
        self.input_sums: dict[str, float] = {}
        self.input_weights: dict[str, float] = {}

    @property
    def model_version(self) -> str:
        return f"river-{self.forest.kind}-{self.n_learned}"

    @property
    def n_learned(self) -> int:
        return self.labels_learned[False] + self.labels_learned[True]

    @property
    def name(self) -> str:
        return forest_name(self.forest)

    def is_warm(self) -> bool:
        """True once at least ``min_labels_per_class`` labels of each class were learned."""
        return min(self.labels_learned.values()) >= self.config.online.min_labels_per_class

    def learn(self, features: FeatureVector, churned: bool) -> None:
        """Learn one resolved example (prequential: score first)."""
        self.learn_inputs(model_inputs(features), churned)

    def learn_inputs(self, inputs: dict[str, float], churned: bool, weight: float = 1.0) -> None:
        """``learn`` from model inputs as a training example carries them; ``weight`` moves the
        baseline and the prior correction, the trees learn the example once."""
        self.estimator.learn_one(inputs, churned)
        self.labels_learned[churned] += 1
        self.weight_learned[churned] += weight
        sums, weights = self.input_sums, self.input_weights
        for name, value in inputs.items():
            sums[name] = sums.get(name, 0.0) + weight * value
            weights[name] = weights.get(name, 0.0) + weight

    def baseline(self) -> dict[str, float]:
        """The population's mean of every input learned so far (weighted like the examples)."""
        return {name: total / self.input_weights[name] for name, total in self.input_sums.items()}

    def probability(self, features: FeatureVector, inputs: Mapping[str, float] | None = None) -> float:
        """The score's value alone; ``inputs``: ``model_inputs(features)`` when the caller has them."""
        return self.probability_of_inputs(model_inputs(features) if inputs is None else inputs)

    def probability_of_inputs(self, inputs: Mapping[str, float]) -> float:
        """P(churn) from model inputs: the trees' vote at the weighted stream's odds; 0.5 untrained."""
        return sigmoid(self._log_odds(inputs))

    def _log_odds(self, inputs: Mapping[str, float]) -> float:
        if self.n_learned == 0:
            return 0.0  # and the estimator is not asked: an untrained ARF builds its trees when asked
        votes: dict[bool, float] = self.estimator.predict_proba_one(dict(inputs))
        total = sum(votes.values())
        if not total > 0.0:
            return 0.0
        return logit(votes.get(True, 0.0) / total) + self._prior_shift()

    def _prior_shift(self) -> float:
        """Log of (mean weight of the positives learned / mean weight of the negatives learned)."""
        counts, weights = self.labels_learned, self.weight_learned
        if min(counts.values()) == 0 or min(weights.values()) <= 0.0:
            return 0.0
        return math.log((weights[True] / counts[True]) / (weights[False] / counts[False]))

    def score(self, features: FeatureVector, inputs: Mapping[str, float] | None = None) -> Score:
        """``inputs``: ``model_inputs(features)`` when the caller has them already."""
        model_input = model_inputs(features) if inputs is None else inputs
        value = self.probability_of_inputs(model_input)
        return Score(
            value=value,
            reasons=ExplainedOnDemand(lambda: self._reasons(features, model_input, value)),
            source=ScoreSource.ONLINE_MODEL,
            model_version=self.model_version,
        )

    def _reasons(
        self, features: FeatureVector, inputs: Mapping[str, float], value: float
    ) -> tuple[Reason, ...]:
        """Occlusion of each reason group against the running means (``models.attribution``)."""
        baseline = self.baseline()
        contributions = group_contributions(self._log_odds, inputs, baseline, reason_groups(inputs, features))
        at_baseline = {name: baseline.get(name, value_) for name, value_ in inputs.items()}
        return attributed_reasons(
            features,
            contributions,
            self._log_odds(at_baseline),
            value,
            self.config.min_reason_weight,
            self.config.max_reasons,
        )

    def __getstate__(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "forest": self.forest,
            "estimator": self.estimator,
            "labels_learned": dict(self.labels_learned),
            "weight_learned": dict(self.weight_learned),
            "input_sums": self.input_sums,
            "input_weights": self.input_weights,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
