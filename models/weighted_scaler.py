"""A standard scaler that weighs each example as the learner does.

The learner learns half of the negatives at weight 2 (``negative_learn_share``), so the
logistic regression's gradient sees the population; River's ``StandardScaler`` does not
take weights, so its means and variances are those of the subsampled stream, with twice
the population's share of churners. This one keeps weighted running means and
variances (West's update), exposed under River's names (``counts``, ``means``,
``vars``) so the model reads either alike.
"""

from __future__ import annotations

from typing import Any

from river import base


class WeightedStandardScaler(base.Transformer):
    """Running weighted mean and (population) variance per input; ``counts`` are weight sums.

    >>> scaler = WeightedStandardScaler()
    >>> scaler.learn_one({"a": 1.0}, w=1.0)
    >>> scaler.learn_one({"a": 4.0}, w=2.0)
    >>> scaler.means["a"], scaler.vars["a"], scaler.transform_one({"a": 3.0})
    (3.0, 2.0, {'a': 0.0})
    """

    def __init__(self) -> None:
        self.counts: dict[Any, float] = {}
        self.means: dict[Any, float] = {}
        self.vars: dict[Any, float] = {}

    def learn_one(self, x: dict[Any, Any], w: float = 1.0) -> None:
        counts, means, variances = self.counts, self.means, self.vars
        for name, value in x.items():
            total = counts.get(name, 0.0) + w
            mean = means.get(name, 0.0)
            delta = value - mean
            mean += delta * w / total
            # West (1979): the weighted sum of squares grows by w * delta * (value - new mean)
            squares = variances.get(name, 0.0) * (total - w) + w * delta * (value - mean)
            counts[name], means[name], variances[name] = total, mean, squares / total

    def transform_one(self, x: dict[Any, Any]) -> dict[Any, Any]:
        means, variances = self.means, self.vars
        scaled = {}
        for name, value in x.items():
            variance = variances.get(name, 0.0)
            scaled[name] = (value - means.get(name, 0.0)) / variance**0.5 if variance > 0.0 else 0.0
        return scaled
