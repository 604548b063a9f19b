"""Who scores with one model version: the rules, the online model, or a blend of both.

DESIGN "Cold start": until the model has learned enough labels of both classes and its
prequential ROC AUC beats the rules' on the same examples, transparent rules score and
alerts say so. Then the model takes over over a hand-over window: its share of the
probability rises from 0 to 1, one step per daily checkpoint (``Score.source`` is
``blend`` meanwhile). The share is decided by the learner and stored in the checkpoint,
so every worker scoring with a version scores exactly alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from features.vector import FeatureVector
from models.churn_model import ChurnModel
from models.cold_start import ColdStartRules
from models.online import model_inputs, with_rules
from models.risk_scale import RiskScale
from models.scorer import ExplainedOnDemand, Score
from schemas.outputs import ScoreSource


@dataclass(frozen=True, slots=True)
class ScoredSnapshot:
    """A kept snapshot's scores: the one used, and what the model and the rules each said."""

    used: Score
    model_score: float
    rules_score: float


class VersionScorer:
    """Scorer of one model version: ``model_weight`` 0 is the rules alone, 1 the model alone.

    >>> from datetime import UTC, datetime
    >>> from models.online import OnlineModel
    >>> scorer = VersionScorer(ColdStartRules(), OnlineModel(), 0.0, "rules-1")
    >>> vector = FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC))
    >>> snapshot = scorer.snapshot(vector)  # a model that learned nothing starts from the rules
    >>> scorer.score(vector).source.value, snapshot.model_score == snapshot.rules_score
    ('cold_start_rules', True)
    """

    def __init__(
        self,
        rules: ColdStartRules,
        model: ChurnModel,
        model_weight: float,
        model_version: str,
        risk_scale: RiskScale | None = None,
    ) -> None:
        self.rules = rules
        self.model = model
        self.model_weight = min(1.0, max(0.0, model_weight))
        self._version = model_version
        self.risk_scale = risk_scale

    @property
    def model_version(self) -> str:
        """The version in charge: the rules' until the hand-over starts, then the checkpoint's."""
        return self.rules.model_version if self.model_weight == 0.0 else self._version

    def score(self, features: FeatureVector) -> Score:
        return self.score_many((features,))[0]

    def score_many(self, vectors: Sequence[FeatureVector]) -> list[Score]:
        """``score`` of each vector, in order: every customer gets, to the bit, the score it
        gets alone, whatever the batch (a live tick scores a few, a replay's run many).

        The rules score the batch in one call; the model, when it has a share, scores each
        vector on its own (its inputs are built per customer anyway).
        """
        rules_scores = self.rules.score_many(vectors)
        if self.model_weight == 0.0:
            return rules_scores
        return [
            self._with_model(features, rules) for features, rules in zip(vectors, rules_scores, strict=True)
        ]

    def _with_model(self, features: FeatureVector, rules: Score) -> Score:
        """The used score of ``features`` once the rules have scored them as ``rules``."""
        stacked = with_rules(model_inputs(features), rules.value)
        model = self._on_risk_scale(self.model.score(features, stacked))
        if self.model_weight == 1.0:
            return self._alone(model, rules)
        return self._blend(rules, model)

    def snapshot(self, features: FeatureVector, inputs: Mapping[str, float] | None = None) -> ScoredSnapshot:
        """Both scorers' opinions, for a snapshot judged later on its label (shadow scoring);
        ``inputs``: the model inputs of ``features`` when the caller has them already."""
        rules = self.rules.score(features)
        stacked = with_rules(model_inputs(features) if inputs is None else inputs, rules.value)
        if self.model_weight == 0.0:
            return ScoredSnapshot(rules, self.model.probability(features, stacked), rules.value)
        probability = self.model.score(features, stacked)
        model = self._on_risk_scale(probability)
        used = self._alone(model, rules) if self.model_weight == 1.0 else self._blend(rules, model)
        # the model is judged and learns on its own probability, not on the rules' scale
        return ScoredSnapshot(used, probability.value, rules.value)

    def _alone(self, model: Score, rules: Score) -> Score:
        """The model in charge; when it sees no reason of its own (its risk came through the
        rules' input), the rules' reasons explain it."""
        reasons = ExplainedOnDemand(lambda: tuple(model.reasons) or tuple(rules.reasons))
        return Score(model.value, reasons, ScoreSource.ONLINE_MODEL, self._version)

    def _on_risk_scale(self, model: Score) -> Score:
        if self.risk_scale is None:
            return model
        return Score(self.risk_scale(model.value), model.reasons, model.source, model.model_version)

    def _blend(self, rules: Score, model: Score) -> Score:
        weight = self.model_weight
        value = (1.0 - weight) * rules.value + weight * model.value
        leading, other = (model, rules) if weight >= 0.5 else (rules, model)
        # the larger share explains the score; when it sees no reason, the other one's do
        reasons = ExplainedOnDemand(lambda: tuple(leading.reasons) or tuple(other.reasons))
        return Score(min(1.0, max(0.0, value)), reasons, ScoreSource.BLEND, self._version)
