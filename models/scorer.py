"""What every scorer returns, and the two small interfaces scorers and learners implement.

River style: ``score`` is a pure read (it never learns, so every worker can score its
partitions), and learning is a separate method used in one place only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, overload

from features.vector import FeatureVector
from models.errors import InvalidScoreError
from schemas.outputs import Reason, ScoreSource


class ExplainedOnDemand(Sequence[Reason]):
    """Reasons worked out on first use: only alerts show them, and most scores raise none.

    >>> calls = []
    >>> reasons = ExplainedOnDemand(lambda: calls.append(1) or ())
    >>> len(calls)
    0
    >>> len(reasons), len(reasons), len(calls)
    (0, 0, 1)
    """

    __slots__ = ("_explain", "_reasons")

    def __init__(self, explain: Callable[[], tuple[Reason, ...]]) -> None:
        self._explain: Callable[[], tuple[Reason, ...]] | None = explain
        self._reasons: tuple[Reason, ...] = ()

    def _resolved(self) -> tuple[Reason, ...]:
        if self._explain is not None:
            self._reasons = self._explain()
            self._explain = None
        return self._reasons

    @overload
    def __getitem__(self, index: int) -> Reason: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Reason, ...]: ...

    def __getitem__(self, index: int | slice) -> Reason | tuple[Reason, ...]:
        return self._resolved()[index]

    def __len__(self) -> int:
        return len(self._resolved())

    def __iter__(self) -> Iterator[Reason]:
        return iter(self._resolved())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return self._resolved() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._resolved())

    def __repr__(self) -> str:
        return repr(self._resolved())


@dataclass(frozen=True, slots=True)
class Score:
    """A churn probability for the next horizon, with the signals behind it.

    ``reasons`` are ordered strongest first (by ``Reason.weight``, in logit units); a
    model may hand them over as ``ExplainedOnDemand``, worked out only when read.

    >>> Score(0.7, (), ScoreSource.COLD_START_RULES, "rules-1").value
    0.7
    """

    value: float
    reasons: Sequence[Reason]
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
