"""What the learner and the scorers need of a churn model, linear or not.

``models.online.OnlineModel`` (logistic regression) and ``models.forest.ForestModel``
(tree ensemble) both implement it, so either can be champion or challenger: the learner
judges, learns and promotes through it, the version scorer scores through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from features.vector import FeatureVector
from models.scorer import Score


class ChurnModel(Protocol):
    """A Scorer and Learner over ``models.online.model_inputs``; scoring never learns."""

    @property
    def name(self) -> str:
        """The configuration in short (``logreg-lr0.005``, ``arf-n3-d6-g200``)."""
        ...

    @property
    def model_version(self) -> str: ...

    @property
    def n_learned(self) -> int: ...

    def is_warm(self) -> bool: ...

    def learn(self, features: FeatureVector, churned: bool) -> None: ...

    def learn_inputs(self, inputs: dict[str, float], churned: bool, weight: float = 1.0) -> None: ...

    def probability(self, features: FeatureVector, inputs: Mapping[str, float] | None = None) -> float: ...

    def probability_of_inputs(self, inputs: Mapping[str, float]) -> float: ...

    def score(self, features: FeatureVector, inputs: Mapping[str, float] | None = None) -> Score: ...
