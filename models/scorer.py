"""What every scorer returns, and the two small interfaces scorers and learners implement.

River style: ``score`` is a pure read (it never learns, so every worker can score its
partitions), and learning is a separate method used in one place only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from features.vector import FeatureVector
from models.errors import InvalidScoreError
from schemas.outputs import Reason, ScoreSource


@dataclass(frozen=True, slots=True)
class Score:
    """A churn probability for the next horizon, with the signals behind it.

    ``reasons`` are ordered strongest first (by ``Reason.weight``, in logit units).

    >>> Score(0.7, (), ScoreSource.COLD_START_RULES, "rules-1").value
    0.7
    """

    value: float
    reasons: tuple[Reason, ...]
    source: ScoreSource
    model_version: str

    def __post_init__(self) -> None:
        if not (math.isfinite(self.value) and 0.0 <= self.value <= 1.0):
            raise InvalidScoreError(self.value)

    @property
    def dominant_reason(self) -> Reason | None:
        """The strongest reason, which picks the playbook action; None if there is none."""
        return self.reasons[0] if self.reasons else None


class Scorer(Protocol):
    """Scores a feature vector; implementations must not change state while scoring."""

    @property
    def model_version(self) -> str: ...

    def score(self, features: FeatureVector) -> Score: ...


class Learner(Protocol):
    """Learns from one resolved example: the snapshot's features and whether the customer churned."""

    def learn(self, features: FeatureVector, churned: bool) -> None: ...
