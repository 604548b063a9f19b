"""Cold-start routing: the playbook rules score until the online model is warm.

DESIGN "Cold start": until the model has seen enough labels of both classes, scores
come from transparent rules, and alerts say so (``Score.source``). Learning always
goes to the model, so it warms up while the rules are in charge.
"""

from __future__ import annotations

from features.vector import FeatureVector
from models.cold_start import ColdStartRules
from models.online import OnlineModel
from models.scorer import Score


class ColdStartRouter:
    """Scorer and Learner: ``rules`` while ``model.is_warm()`` is false, then ``model``.

    >>> from datetime import UTC, datetime
    >>> router = ColdStartRouter(ColdStartRules(), OnlineModel())
    >>> router.score(FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC))).source.value
    'cold_start_rules'
    """

    def __init__(self, rules: ColdStartRules, model: OnlineModel) -> None:
        self.rules = rules
        self.model = model

    @property
    def model_version(self) -> str:
        """The version of whichever scorer is in charge right now."""
        return self.model.model_version if self.model.is_warm() else self.rules.model_version

    def score(self, features: FeatureVector) -> Score:
        if self.model.is_warm():
            return self.model.score(features)
        return self.rules.score(features)

    def learn(self, features: FeatureVector, churned: bool) -> None:
        self.model.learn(features, churned)
