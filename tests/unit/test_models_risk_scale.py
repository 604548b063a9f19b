"""The model's probabilities on the rules' scale: monotone, and zone shares kept."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from features.vector import FeatureVector
from models.cold_start import ColdStartRules
from models.online import OnlineModel, model_inputs, with_rules
from models.prequential import PrequentialMetrics
from models.risk_scale import RiskScale
from models.routing import VersionScorer
from schemas.outputs import ScoreSource

# model scores distinct at the metrics' resolution (1e-6): closer ones share a bin and a quantile
pairs = st.lists(
    st.tuples(st.integers(0, 300_000).map(lambda k: k / 1e6), st.floats(0.0, 1.0)),
    min_size=50,
    max_size=400,
    unique_by=lambda p: p[0],
)


def fitted(examples: list[tuple[float, float]]) -> RiskScale | None:
    model, rules = PrequentialMetrics(), PrequentialMetrics()
    for model_score, rules_score in examples:
        model.update(model_score, False)
        rules.update(rules_score, False)
    return RiskScale.fit(model, rules)


class TestRiskScale:
    @settings(max_examples=100, deadline=None)
    @given(pairs)
    def test_a_mapped_model_score_falls_in_each_zone_as_often_as_the_rules_did(
        self, examples: list[tuple[float, float]]
    ) -> None:
        """Over the examples it was fitted on, the share at or above each zone threshold is the
        rules' share, to the fitted resolution (every half percent) and one example."""
        scale = fitted(examples)
        assert scale is not None
        slack = 0.005 + 1 / len(examples)
        for threshold in (0.2, 0.4, 0.7):
            rules_share = sum(r >= threshold for _, r in examples) / len(examples)
            model_share = sum(scale(m) >= threshold for m, _ in examples) / len(examples)
            assert abs(model_share - rules_share) <= slack + 1e-9

    @given(pairs, st.lists(st.floats(0.0, 1.0), min_size=2, max_size=50))
    def test_the_map_keeps_the_models_order(
        self, examples: list[tuple[float, float]], probes: list[float]
    ) -> None:
        """Monotone: a customer the model ranks higher is never below one it ranks lower."""
        scale = fitted(examples)
        assert scale is not None
        mapped = [scale(p) for p in sorted(probes)]
        assert mapped == sorted(mapped)
        assert all(0.0 <= value <= 1.0 for value in mapped)

    def test_no_scale_without_two_distinct_model_scores(self) -> None:
        """An empty window, or a model that gives everyone one score, maps nothing."""
        assert fitted([]) is None
        assert fitted([(0.1, 0.2), (0.1, 0.9)]) is None


class TestScorerOnTheRiskScale:
    def test_a_model_in_charge_scores_on_the_rules_scale_but_is_judged_on_its_probability(self) -> None:
        """The used score is the mapped probability; the snapshot keeps the model's own for learning."""
        scale = RiskScale((0.0, 0.5, 1.0), (0.1, 0.8, 0.9))
        model = OnlineModel()
        scorer = VersionScorer(ColdStartRules(), model, 1.0, "v1", scale)
        vector = FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC))
        probability = model.probability(
            vector, with_rules(model_inputs(vector), ColdStartRules().score(vector).value)
        )
        snapshot = scorer.snapshot(vector)
        assert snapshot.model_score == probability
        assert snapshot.used.value == scale(probability)
        assert snapshot.used.source is ScoreSource.ONLINE_MODEL
        assert scorer.score(vector).value == scale(probability)
