"""The online churn model: a River pipeline that learns one resolved label at a time.

Pipeline: ``StandardScaler | ClipScaled | LogisticRegression`` over ``model_inputs``
(``FeatureVector.numeric()`` without the clock-like inputs, plus the rate ratios of
``models.derived_inputs``). The scaler keeps running means and variances, the clip keeps
one extreme customer from saturating the score, and logistic regression by SGD stays
cheap and explainable: a feature's contribution to the log-odds is its weight
times its clipped standardised value, which is what the reasons report.

``model_version`` is ``river-logreg-<labels learned>``: it changes with every label, so
a prediction names exactly the state that produced it, and a checkpoint restored from
the same count scores identically.
"""

from __future__ import annotations

import math
import struct
from collections import defaultdict
from collections.abc import Hashable, Mapping
from typing import Any

from river import base, compose, linear_model, optim, preprocessing

from features.vector import FeatureVector
from models.cold_start import sigmoid
from models.config import OnlineModelConfig, ScoringConfig
from models.derived_inputs import RULES_INPUT, daily_rates, derived_inputs, plan_indicators
from models.reason_codes import ReasonCode, complaint_aggregate_code, finite, fixed_code_for_feature
from models.reasons import ranked_reasons, reason
from models.scorer import ExplainedOnDemand, Score
from models.weighted_scaler import WeightedStandardScaler
from schemas.outputs import Reason, ScoreSource

MODEL_FAMILY = "river-logreg"


class ClipScaled(base.Transformer):
    """Clips standardised values to ±``bound`` so one outlier cannot saturate the score.

    >>> ClipScaled(5.0).transform_one({"a": 12.0, "b": -1.0})
    {'a': 5.0, 'b': -1.0}
    """

    def __init__(self, bound: float = 5.0) -> None:
        self.bound = bound

    def transform_one(self, x: dict[Hashable, Any]) -> dict[Hashable, Any]:
        bound = self.bound
        # max(-bound, min(bound, value)) without two calls per input (NaN -> bound alike)
        return {
            name: bound if not value <= bound else (-bound if value < -bound else value)
            for name, value in x.items()
        }


CLOCK_INPUTS = frozenset({"history_days"})
"""Numeric features left out of the model: in a stream that starts on one day they count days.

``history_days`` is the time since the customer's first event *seen*, so for everyone active
before the stream began (every replay, and production for every customer who predates the
deployment) it is the same number, the days since the start; a model fitted on the past then
learns the date. Measured with ``churnwatch bench models`` (docs/learning.md). ``tenure_days``
is an input: it comes from the real activation date (``activated_on`` on a lifecycle record,
which operators send at go-live for customers who predate the stream), and tenure is among
the strongest predictors of churn.
"""


STORED_CLOCK_INPUTS = frozenset({"history_days"})
"""Clock inputs kept with a pending snapshot all the same: the rates and ratios need them."""


HALF_MAX = 65504.0
"""The largest half-precision magnitude: a pending snapshot keeps its inputs at half precision."""


def at_half_precision(values: list[float]) -> list[float]:
    """``values`` as a pending snapshot keeps them: clamped to ±``HALF_MAX``, rounded to half
    precision (about three significant digits).

    >>> at_half_precision([0.1, 1e-9, 1e6, -2.5])
    [0.0999755859375, 0.0, 65504.0, -2.5]
    """
    clamped = [min(max(value, -HALF_MAX), HALF_MAX) for value in values]
    packed = struct.pack(f"<{len(clamped)}e", *clamped)
    return list(struct.unpack(f"<{len(clamped)}e", packed))


def stored_inputs(features: FeatureVector) -> dict[str, float]:
    """What a pending snapshot keeps for learning: the numeric features the model reads and
    ``history_days``, every value finite (NaN -> 0, inf clamped) and at half precision
    (``at_half_precision``). The scorer reads the same values the learner later learns, to
    the bit, wherever a threshold or a clamp would tell the two apart. The derived inputs are
    computed again from these (``inputs_from_stored``), so they cost no Redis bytes.

    >>> from datetime import UTC, datetime
    >>> stored = stored_inputs(FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC)))
    >>> "history_days" in stored, "tenure_days" in stored, list(stored)[-1]
    (True, True, 'history_days')
    """
    numeric = features.numeric()
    names = [name for name in numeric if name not in CLOCK_INPUTS] + sorted(STORED_CLOCK_INPUTS)
    return dict(zip(names, at_half_precision([finite(numeric[name]) for name in names]), strict=True))


def inputs_from_stored(stored: Mapping[str, float]) -> dict[str, float]:
    """The model's inputs from stored ones: all but the clock inputs, decayed sums as daily
    rates, the plan as bucket indicators, then the derived inputs.

    >>> from datetime import UTC, datetime
    >>> vector = FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC))
    >>> inputs = inputs_from_stored(stored_inputs(vector))
    >>> inputs["churned"], "history_days" in inputs, inputs["calls_out_rate_7d_per_30d"]
    (0.0, False, 1.0)
    >>> "plan_bucket" in inputs, inputs["plan_1"]
    (False, 0.0)
    """
    inputs = {
        name: value for name, value in stored.items() if name not in CLOCK_INPUTS and name != "plan_bucket"
    }
    inputs.update(daily_rates(stored))
    inputs.update(plan_indicators(stored))
    inputs.update(derived_inputs(stored))
    return inputs


RULES_LOGIT_BOUND = 10.0
"""The rules' log-odds are clipped to ±this (a probability within ~5e-5 of 0 or 1)."""


def with_rules(inputs: Mapping[str, float], rules_score: float) -> dict[str, float]:
    """``inputs`` plus the rules' log-odds (``RULES_INPUT``), the input order kept.

    >>> with_rules({"calls_out_7d": 2.0}, 0.5)
    {'calls_out_7d': 2.0, 'rules_logit': 0.0}
    >>> with_rules({}, 1.0)["rules_logit"]
    10.0
    """
    probability = min(max(finite(rules_score), 0.0), 1.0)
    if probability <= 0.0 or probability >= 1.0:
        logit = -RULES_LOGIT_BOUND if probability <= 0.0 else RULES_LOGIT_BOUND
    else:
        logit = min(max(math.log(probability / (1.0 - probability)), -RULES_LOGIT_BOUND), RULES_LOGIT_BOUND)
    return {**inputs, RULES_INPUT: logit}


def model_inputs(features: FeatureVector) -> dict[str, float]:
    """The model's inputs: the numeric features except ``CLOCK_INPUTS``, then the derived
    inputs (``models.derived_inputs``: short-to-long window rate ratios); every value finite."""
    return inputs_from_stored(stored_inputs(features))


class OffsetLogisticRegression(linear_model.LogisticRegression):
    """Logistic regression whose log-odds start from a fixed offset: ``offset + w.x + b``.

    The offset is the rules' log-odds of the example (set just before each learn), so a
    model that has learned nothing scores as the rules do, and what it learns is how far
    the labels say the rules are off. The offset takes no weight and no gradient step.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.offset = 0.0

    def _raw_dot_one(self, x: dict[Hashable, float]) -> float:
        return float(super()._raw_dot_one(x)) + self.offset


def _optimizer(config: OnlineModelConfig) -> optim.base.Optimizer:
    """The weights' optimizer of ``config`` (the intercept always moves by plain SGD at the same rate)."""
    if config.optimizer == "adam":
        return optim.Adam(config.learning_rate)
    if config.optimizer == "adagrad":
        return optim.AdaGrad(config.learning_rate)
    return optim.SGD(config.learning_rate)


class OnlineModel:
    """Scorer and Learner backed by River; ``score`` reads the pipeline, never updates it.

    >>> from datetime import UTC, datetime
    >>> model = OnlineModel()
    >>> model.score(FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC))).value
    0.5
    >>> model.model_version, model.is_warm()
    ('river-logreg-0', False)
    """

    def __init__(self, config: ScoringConfig | None = None) -> None:
        self.config = config or ScoringConfig()
        online = self.config.online
        scaler = WeightedStandardScaler() if online.weighted_scaling else preprocessing.StandardScaler()
        self.pipeline: compose.Pipeline = compose.Pipeline(
            ("scale", scaler),
            ("clip", ClipScaled(online.scaled_clip)),
            (
                "logreg",
                OffsetLogisticRegression(
                    optimizer=_optimizer(online),
                    l2=online.l2,
                    intercept_lr=online.learning_rate,
                ),
            ),
        )
        self.labels_learned: dict[bool, int] = {False: 0, True: 0}

    @property
    def model_version(self) -> str:
        return f"{MODEL_FAMILY}-{self.n_learned}"

    @property
    def n_learned(self) -> int:
        return self.labels_learned[False] + self.labels_learned[True]

    def is_warm(self) -> bool:
        """True once at least ``min_labels_per_class`` labels of each class were learned."""
        needed = self.config.online.min_labels_per_class
        return min(self.labels_learned.values()) >= needed

    @property
    def name(self) -> str:
        """The configuration in short, ``logreg-lr0.005``: which of champion and challenger this is.

        >>> OnlineModel().name, OnlineModel(ScoringConfig(online={"learning_rate": 0.002, "l2": 0.0})).name
        ('logreg-lr0.005', 'logreg-lr0.002-l20')
        """
        online = self.config.online
        defaults = OnlineModelConfig.model_fields
        name = f"logreg-lr{online.learning_rate:g}"
        if online.l2 != defaults["l2"].default:
            name += f"-l2{online.l2:g}"
        if online.scaled_clip != defaults["scaled_clip"].default:
            name += f"-clip{online.scaled_clip:g}"
        if online.optimizer != defaults["optimizer"].default:
            name += f"-{online.optimizer}"
        if online.weighted_scaling != defaults["weighted_scaling"].default:
            name += "-wscale" if online.weighted_scaling else "-uscale"
        if online.rules_offset != defaults["rules_offset"].default:
            name += "-offset" if online.rules_offset else "-nooffset"
        return name

    def learn(self, features: FeatureVector, churned: bool) -> None:
        """Update scaler and weights with one resolved example (prequential: score first)."""
        self.learn_inputs(model_inputs(features), churned)

    def learn_inputs(self, inputs: dict[str, float], churned: bool, weight: float = 1.0) -> None:
        """``learn`` from model inputs as a training example carries them (every input present)."""
        logreg: OffsetLogisticRegression = self.pipeline["logreg"]
        logreg.offset = self._offset(inputs)
        try:
            self.pipeline.learn_one(inputs, churned, w=weight)
        finally:
            logreg.offset = 0.0
        self.labels_learned[churned] += 1

    def _offset(self, inputs: Mapping[str, float]) -> float:
        """The log-odds the model starts from: the rules' (``RULES_INPUT``) when
        ``rules_offset`` is on and the inputs carry them, else 0."""
        return inputs.get(RULES_INPUT, 0.0) if self.config.online.rules_offset else 0.0

    def probability(self, features: FeatureVector, inputs: Mapping[str, float] | None = None) -> float:
        """The score's value alone, without reasons (a shadow score needs no explanation);
        ``inputs``: ``model_inputs(features)`` when the caller has them already."""
        return self.probability_of_inputs(model_inputs(features) if inputs is None else inputs)

    def probability_of_inputs(self, inputs: Mapping[str, float]) -> float:
        """``probability`` from model inputs as a training example carries them (the learner's
        prequential score of an example, made just before it learns it).

        The arithmetic of ``_contributions_of_inputs`` in one pass, without its dicts: the
        learner scores every example twice with it (champion and challenger).
        """
        scaler: Any = self.pipeline["scale"]
        counts, means, variances = scaler.counts, scaler.means, scaler.vars
        bound = self.pipeline["clip"].bound
        logreg: linear_model.LogisticRegression = self.pipeline["logreg"]
        weights: dict[str, float] = logreg.weights
        logit = 0.0
        for name, value in inputs.items():
            if counts.get(name, 0) > 0:
                variance = variances[name]
                scaled = (value - means[name]) / variance**0.5 if variance else 0.0
                clipped = bound if not scaled <= bound else (-bound if scaled < -bound else scaled)
                logit += weights.get(name, 0.0) * float(clipped)
        return sigmoid(float(logreg.intercept) + self._offset(inputs) + logit)

    def score(self, features: FeatureVector, inputs: Mapping[str, float] | None = None) -> Score:
        """``inputs``: ``model_inputs(features)`` when the caller has them already."""
        if inputs is None:
            inputs = model_inputs(features)
        contributions, intercept = self._contributions_of_inputs(inputs)
        logit = 0.0
        for contribution in contributions.values():  # in input order, as probability adds them
            logit += contribution
        value = sigmoid(intercept + self._offset(inputs) + logit)
        return Score(
            value=value,
            reasons=ExplainedOnDemand(lambda: self._reasons(features, contributions, intercept, value)),
            source=ScoreSource.ONLINE_MODEL,
            model_version=self.model_version,
        )

    def _contributions_of_inputs(self, inputs: Mapping[str, float]) -> tuple[dict[str, float], float]:
        """Per-input log-odds contributions (weight * clipped scaled value), and intercept.

        Only inputs the scaler has seen take part, so scoring never adds entries to
        River's default dicts (scoring must leave the model byte-for-byte unchanged).
        """
        # Steps are applied one by one: Pipeline.transform_one caches an execution plan
        # on first use, and River's StandardScaler is untyped (Any at the library edge).
        scaler: Any = self.pipeline["scale"]
        clip: ClipScaled = self.pipeline["clip"]
        logreg: linear_model.LogisticRegression = self.pipeline["logreg"]
        known = {name: value for name, value in inputs.items() if scaler.counts.get(name, 0) > 0}
        scaled = clip.transform_one(scaler.transform_one(known))
        weights: dict[str, float] = logreg.weights
        contributions = {
            str(name): weights.get(str(name), 0.0) * float(value) for name, value in scaled.items()
        }
        return contributions, float(logreg.intercept)

    def _reasons(
        self,
        features: FeatureVector,
        contributions: dict[str, float],
        intercept: float,
        value: float,
    ) -> tuple[Reason, ...]:
        """Contributions summed per reason code; the positive ones become reasons."""
        by_code: defaultdict[ReasonCode, float] = defaultdict(float)
        aggregate_code: ReasonCode | None = None  # the same for every complaint aggregate
        for name, contribution in contributions.items():
            if name == RULES_INPUT:  # the rules explain themselves: routing lends their reasons
                continue
            code = fixed_code_for_feature(name)
            if code is None:
                if aggregate_code is None:
                    aggregate_code = complaint_aggregate_code(features)
                code = aggregate_code
            by_code[code] += contribution
        by_code[ReasonCode.MODEL_BASELINE] += intercept
        # the churned flag is reported by ranked_reasons, whatever its learned weight
        by_code.pop(ReasonCode.ALREADY_CHURNED, None)
        positive = {code: w for code, w in by_code.items() if w > 0}
        floor = self.config.min_reason_weight
        kept = {code: w for code, w in positive.items() if w >= floor}
        if not kept and positive and value > 0.5:
            strongest = max(positive, key=lambda code: positive[code])
            kept = {strongest: positive[strongest]}
        return ranked_reasons(
            features,
            (reason(code, weight, features) for code, weight in kept.items()),
            self.config.max_reasons,
        )

    def __getstate__(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "pipeline": self.pipeline,
            "labels_learned": dict(self.labels_learned),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.config = state["config"]
        self.pipeline = state["pipeline"]
        self.labels_learned = state["labels_learned"]
