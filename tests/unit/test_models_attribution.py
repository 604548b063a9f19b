"""Reasons by occlusion: what each reason group's inputs add to any model's score."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from features.vector import FeatureVector
from models.attribution import group_contributions, logit, reason_groups
from models.config import ForestConfig
from models.forest import ForestModel
from models.online import OnlineModel, model_inputs
from models.reason_codes import ReasonCode
from tests.unit.test_models_forest import AS_OF, CONFIG, trained


def steady_customer(model: ForestModel) -> FeatureVector:
    """A vector whose every input sits at the model's baseline, as far as a vector can."""
    baseline = model.baseline()
    return replace(
        FeatureVector.empty("steady", AS_OF),
        history_days=120.0,
        usage_trend=baseline["usage_trend"],
        topup_trend=baseline["topup_trend"],
        days_since_last_topup=baseline["days_since_last_topup"],
        usual_topup_gap_days=10.0,
        minutes_out_30d=baseline["minutes_out_30d"],
        revenue_90d=baseline["revenue_90d"],
    )


class TestGroupContributions:
    def test_a_group_at_the_baseline_contributes_nothing(self) -> None:
        """Inputs equal to their baseline contribute exactly 0, whatever the model."""
        model = trained("arf")
        features = steady_customer(model)
        inputs = model_inputs(features)
        baseline = {**model.baseline(), "topup_trend": inputs["topup_trend"]}
        contributions = group_contributions(
            model._log_odds, inputs, baseline, reason_groups(inputs, features)
        )
        assert contributions[ReasonCode.TOPUP_DECLINE] == pytest.approx(0.0, abs=1e-12)

    @pytest.mark.parametrize("kind", ["arf", "amf", "bagged_hat"])
    def test_the_group_that_drives_a_crafted_risk_contributes_most(self, kind: str) -> None:
        """Where churn follows a long top-up lapse alone, a customer ordinary but for a 38-day
        lapse gets topup_lapse as the first and strongest reason."""
        # every input at each split (arf): the test is of attribution, not of feature sampling
        model = ForestModel(CONFIG, ForestConfig(kind=kind, max_features=1_000))
        rng = random.Random(3)
        for _ in range(1_500):
            lapse = rng.uniform(0.0, 40.0)
            churned = lapse > 25.0 and rng.random() < 0.8
            features = replace(
                FeatureVector.empty("c", AS_OF),
                history_days=120.0,
                usage_trend=rng.gauss(0.0, 0.25),
                topup_trend=rng.gauss(0.0, 0.25),
                days_since_last_topup=lapse,
                usual_topup_gap_days=10.0,
                minutes_out_30d=rng.uniform(0, 300),
            )
            model.learn_inputs(model_inputs(features), churned, 1.0 if churned else 2.0)
        features = replace(steady_customer(model), days_since_last_topup=38.0)
        score = model.score(features)
        assert score.value > model.probability(steady_customer(model))
        assert score.reasons, score
        assert score.reasons[0].code == ReasonCode.TOPUP_LAPSE.value
        assert score.reasons[0].text == "no top-up for 38 days, usual gap 10"

    def test_for_a_linear_model_occlusion_gives_its_weights_times_the_scaled_inputs(self) -> None:
        """With the scaler's means as baseline and no clipping, occlusion is the linear reason."""
        model = OnlineModel(CONFIG)
        forest = trained("arf", 300)  # for its synthetic examples' baseline only
        features = replace(steady_customer(forest), days_since_last_topup=20.0, usage_trend=-0.3)
        for index in range(300):
            other = replace(
                features, days_since_last_topup=float(index % 30), usage_trend=(index % 7) / 10 - 0.3
            )
            model.learn(other, index % 5 == 0)
        inputs = model_inputs(features)
        scaler = model.pipeline["scale"]
        contributions = group_contributions(
            lambda x: logit(model.probability_of_inputs(x)),
            inputs,
            dict(scaler.means),
            reason_groups(inputs, features),
        )
        linear, _ = model._contributions_of_inputs(inputs)
        expected = linear["days_since_last_topup"] + linear["days_since_last_topup_known"]
        assert contributions[ReasonCode.TOPUP_LAPSE] == pytest.approx(expected, rel=1e-6)

    def test_the_churned_flag_is_not_a_group(self) -> None:
        """The already-churned reason comes from the vector, never from attribution."""
        features = FeatureVector.empty("c1", AS_OF)
        groups = reason_groups(model_inputs(features), features)
        assert ReasonCode.ALREADY_CHURNED not in groups
        assert not any(name == "churned" for names in groups.values() for name in names)


class TestLogit:
    def test_log_odds_stay_finite_at_zero_and_one(self) -> None:
        """A pure leaf's 0 or 1 gives bounded log-odds, so no contribution is infinite."""
        assert math.isfinite(logit(0.0))
        assert math.isfinite(logit(1.0))
        assert logit(1.0) == pytest.approx(-logit(0.0))
