"""The model's probabilities on the rules' risk scale, so a hand-over changes who is alerted,
not how many.

The zones (green 0.2, yellow 0.4, red 0.7 by default) were set on the cold-start rules'
scores, which are not calibrated: over the same examples they sit far above the churn
rate. The online model is calibrated (log loss 0.11 against the rules' 0.15 at a 2.5%
churn rate in a 180-day replay), so its probabilities seldom reach yellow, and a model in
charge would alert almost no one. ``RiskScale`` maps a model probability to the rules'
score at the same quantile, both taken over the learner's recent examples (the same
snapshots, each scorer's own score): the share of snapshots in each zone stays what the
rules gave, while the order within it is the model's. The map is monotone, so every
ranking metric of the model is unchanged, and it is fitted by the learner and stored in
the checkpoint, so every worker scoring with a version maps alike.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from models.prequential import PrequentialMetrics

POINTS = 201  # quantiles fitted: every half percent


@dataclass(frozen=True, slots=True)
class RiskScale:
    """A monotone piecewise-linear map from model probability to the rules' score scale."""

    model_points: tuple[float, ...]  # strictly rising
    rules_points: tuple[float, ...]  # never falling

    @classmethod
    def fit(
        cls, model: PrequentialMetrics, rules: PrequentialMetrics, points: int = POINTS
    ) -> RiskScale | None:
        """Quantile matching of two score distributions over the same examples; None while either
        is empty or the model gives every example one score.

        >>> model, rules = PrequentialMetrics(), PrequentialMetrics()
        >>> for m, r in [(0.01, 0.1), (0.02, 0.3), (0.05, 0.5), (0.2, 0.9)]:
        ...     model.update(m, False); rules.update(r, False)
        >>> scale = RiskScale.fit(model, rules)
        >>> scale(0.01), scale(0.05), scale(0.2), scale(0.9)
        (0.1, 0.5, 0.9, 0.9)
        """
        shares = [i / (points - 1) for i in range(points)]
        model_quantiles = model.score_quantiles(shares)
        rules_quantiles = rules.score_quantiles(shares)
        if model_quantiles is None or rules_quantiles is None:
            return None
        # a model score held by many examples spans several quantiles: it maps to their middle
        spans: dict[float, list[float]] = {}
        for model_score, rules_score in zip(model_quantiles, rules_quantiles, strict=True):
            spans.setdefault(model_score, []).append(rules_score)
        if len(spans) < 2:
            return None
        model_points = tuple(sorted(spans))
        rules_points: list[float] = []
        for model_score in model_points:
            held = spans[model_score]
            middle = (held[0] + held[-1]) / 2
            rules_points.append(max(middle, rules_points[-1]) if rules_points else middle)
        return cls(model_points, tuple(rules_points))

    def __call__(self, probability: float) -> float:
        """The rules' score at this model probability's quantile (flat beyond the fitted range)."""
        xs, ys = self.model_points, self.rules_points
        if probability <= xs[0]:
            return ys[0]
        if probability >= xs[-1]:
            return ys[-1]
        right = bisect_right(xs, probability)
        left = right - 1
        share = (probability - xs[left]) / (xs[right] - xs[left])
        return min(1.0, max(0.0, ys[left] + share * (ys[right] - ys[left])))
