"""One conformance suite that every Scorer passes (River's check_estimator, our way)."""

from __future__ import annotations

import itertools
import math
import pickle
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.vector import FeatureVector
from models.cold_start import ColdStartRules
from models.config import ForestConfig, OnlineModelConfig, ScoringConfig
from models.forest import ForestModel
from models.online import OnlineModel, model_inputs
from models.reason_codes import ReasonCode
from models.risk_scale import RiskScale
from models.routing import VersionScorer
from models.scorer import ExplainedOnDemand, Scorer
from schemas.events import PaymentType

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
HIGH_SCORE = 0.6
WARM_CONFIG = ScoringConfig(online=OnlineModelConfig(min_labels_per_class=20))


def _trained_model() -> OnlineModel:
    """A model that has learned a synthetic churn signal (usage and top-up decline)."""
    model = OnlineModel(WARM_CONFIG)
    _learn_synthetic(model)
    return model


def _trained_forest(kind: str) -> ForestModel:
    """A tree ensemble that has learned the same signal, negatives at weight 2 as in the learner."""
    model = ForestModel(WARM_CONFIG, ForestConfig(kind=kind))
    _learn_synthetic(model, negative_weight=2.0)
    return model


def _learn_synthetic(model: OnlineModel | ForestModel, negative_weight: float = 1.0) -> None:
    rng = random.Random(7)
    for _ in range(400):
        churned = rng.random() < 0.3
        drift = -0.6 if churned else 0.0
        features = replace(
            FeatureVector.empty("c", AS_OF),
            history_days=120.0,
            usage_trend=rng.gauss(drift, 0.25),
            topup_trend=rng.gauss(drift, 0.25),
            days_since_last_topup=rng.uniform(0, 40 if churned else 12),
            usual_topup_gap_days=10.0,
            minutes_out_30d=rng.uniform(0, 300),
            revenue_90d=rng.uniform(0, 200),
        )
        model.learn_inputs(model_inputs(features), churned, 1.0 if churned else negative_weight)


SCORER_FACTORIES: dict[str, Callable[[], Scorer]] = {
    "rules": ColdStartRules,
    "untrained_model": OnlineModel,
    "trained_model": _trained_model,
    "rules_version": lambda: VersionScorer(ColdStartRules(), OnlineModel(), 0.0, "v0"),
    "blend_version": lambda: VersionScorer(ColdStartRules(WARM_CONFIG), _trained_model(), 0.5, "v1"),
    "model_version": lambda: VersionScorer(ColdStartRules(WARM_CONFIG), _trained_model(), 1.0, "v1"),
    "untrained_forest": ForestModel,
    "trained_arf": lambda: _trained_forest("arf"),
    "trained_amf": lambda: _trained_forest("amf"),
    "trained_bagged_hat": lambda: _trained_forest("bagged_hat"),
    "forest_version": lambda: VersionScorer(ColdStartRules(WARM_CONFIG), _trained_forest("arf"), 1.0, "v2"),
    "forest_blend_version": lambda: VersionScorer(
        ColdStartRules(WARM_CONFIG), _trained_forest("arf"), 0.5, "v2"
    ),
}
_BUILT: dict[str, Scorer] = {}


@pytest.fixture(params=sorted(SCORER_FACTORIES))
def scorer(request: pytest.FixtureRequest) -> Scorer:
    """Each scorer under test, built once per session (training takes a moment)."""
    name: str = request.param
    if name not in _BUILT:
        _BUILT[name] = SCORER_FACTORIES[name]()
    copy: Scorer = pickle.loads(pickle.dumps(_BUILT[name]))
    return copy


counts = st.floats(0.0, 500.0)
shares = st.floats(0.0, 1.0)
trends = st.floats(-1.0, 3.0)
days = st.none() | st.floats(0.0, 400.0)
feature_vectors = st.builds(
    lambda fields: replace(FeatureVector.empty("c1", AS_OF), **fields),
    st.fixed_dictionaries(
        {
            "history_days": st.floats(0.0, 800.0),
            "calls_out_30d": counts,
            "calls_out_90d": counts,
            "calls_in_30d": counts,
            "minutes_out_30d": counts,
            "minutes_out_90d": counts,
            "dropped_call_share_30d": shares,
            "off_net_share_30d": shares,
            "distinct_contacts_30d": counts,
            "usage_trend": trends,
            "topup_amount_30d": counts,
            "topup_amount_90d": counts,
            "topup_trend": trends,
            "days_since_last_topup": days,
            "usual_topup_gap_days": days,
            "complaints_30d": st.floats(0.0, 20.0),
            "complaints_network_30d": st.floats(0.0, 10.0),
            "complaints_price_30d": st.floats(0.0, 10.0),
            "complaints_billing_30d": st.floats(0.0, 10.0),
            "complaint_severity_30d": st.floats(0.0, 60.0),
            "unresolved_complaints_30d": st.floats(0.0, 10.0),
            "days_since_last_complaint": days,
            "tenure_days": days,
            "payment_type": st.none() | st.sampled_from(PaymentType),
            "churned": st.booleans(),
            "revenue_90d": st.floats(0.0, 5000.0),
        }
    ),
)
conformance = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class TestScorerConformance:
    @conformance
    @given(features=feature_vectors)
    def test_score_is_a_probability(self, scorer: Scorer, features: FeatureVector) -> None:
        """Every score lies in 0..1."""
        assert 0.0 <= scorer.score(features).value <= 1.0

    @conformance
    @given(features=feature_vectors)
    def test_scoring_is_deterministic(self, scorer: Scorer, features: FeatureVector) -> None:
        """Scoring the same vector twice gives the same score, reasons and version."""
        assert scorer.score(features) == scorer.score(features)

    @conformance
    @given(features=feature_vectors)
    def test_scoring_does_not_change_the_scorer(self, scorer: Scorer, features: FeatureVector) -> None:
        """The scorer's pickled state is byte-for-byte the same after scoring."""
        before = pickle.dumps(scorer)
        scorer.score(features)
        assert pickle.dumps(scorer) == before

    def test_empty_vector_scores_without_error(self, scorer: Scorer) -> None:
        """A customer with no history gets a valid score."""
        score = scorer.score(FeatureVector.empty("c1", AS_OF))
        assert 0.0 <= score.value <= 1.0

    def test_non_finite_features_score_without_error(self, scorer: Scorer) -> None:
        """NaN and infinite inputs do not break scoring (they carry no evidence)."""
        features = replace(
            FeatureVector.empty("c1", AS_OF),
            usage_trend=math.nan,
            minutes_out_30d=math.inf,
            revenue_90d=-math.inf,
            days_since_last_topup=math.nan,
        )
        assert 0.0 <= scorer.score(features).value <= 1.0

    @conformance
    @given(features=feature_vectors)
    def test_high_scores_have_reasons(self, scorer: Scorer, features: FeatureVector) -> None:
        """A score at or above 0.6 always comes with at least one reason."""
        score = scorer.score(features)
        if score.value >= HIGH_SCORE:
            assert score.reasons

    @conformance
    @given(features=feature_vectors)
    def test_reasons_are_sorted_strongest_first(self, scorer: Scorer, features: FeatureVector) -> None:
        """Reason weights never increase down the list."""
        weights = [r.weight for r in scorer.score(features).reasons]
        assert weights == sorted(weights, reverse=True)

    @conformance
    @given(features=feature_vectors)
    def test_reasons_use_known_codes_and_short_texts(self, scorer: Scorer, features: FeatureVector) -> None:
        """Every reason code is a ReasonCode and every text fits in 200 characters."""
        for reason in scorer.score(features).reasons:
            assert reason.code in set(ReasonCode)
            assert 0 < len(reason.text) <= 200

    @conformance
    @given(features=feature_vectors)
    def test_churned_customers_lead_with_the_churn_reason(
        self, scorer: Scorer, features: FeatureVector
    ) -> None:
        """A churned customer's first reason is already_churned."""
        score = scorer.score(replace(features, churned=True))
        assert score.reasons[0].code == ReasonCode.ALREADY_CHURNED

    @conformance
    @given(features=feature_vectors)
    def test_pickle_round_trip_scores_identically(self, scorer: Scorer, features: FeatureVector) -> None:
        """A scorer restored from pickle gives exactly the same score."""
        restored: Scorer = pickle.loads(pickle.dumps(scorer))
        assert restored.score(features) == scorer.score(features)

    def test_score_names_the_current_model_version(self, scorer: Scorer) -> None:
        """The score carries the scorer's model_version."""
        assert scorer.score(FeatureVector.empty("c1", AS_OF)).model_version == scorer.model_version


BATCH_SCORER_FACTORIES: dict[str, Callable[[], ColdStartRules | VersionScorer]] = {
    "rules": ColdStartRules,
    **{
        name: factory
        for name, factory in SCORER_FACTORIES.items()
        if name.endswith("_version")
    },
    "risk_scaled_version": lambda: VersionScorer(
        ColdStartRules(WARM_CONFIG), _trained_model(), 1.0, "v3", RiskScale((0.0, 0.4, 1.0), (0.01, 0.2, 0.9))
    ),
}
_BUILT_BATCH: dict[str, ColdStartRules | VersionScorer] = {}


@pytest.fixture(params=sorted(BATCH_SCORER_FACTORIES))
def batch_scorer(request: pytest.FixtureRequest) -> ColdStartRules | VersionScorer:
    """Each scorer that scores batches: the rules and every kind of version (rules, linear
    model alone, on the risk scale or blended, forest alone or blended)."""
    name: str = request.param
    if name not in _BUILT_BATCH:
        _BUILT_BATCH[name] = BATCH_SCORER_FACTORIES[name]()
    return _BUILT_BATCH[name]


profile_fields = st.fixed_dictionaries(
    {
        "calls_out_7d": st.floats(0.0, 100.0),
        "calls_in_7d": st.floats(0.0, 100.0),
        "calls_in_90d": counts,
        "minutes_in_30d": counts,
        "minutes_in_90d": counts,
        "complaints_service_30d": st.floats(0.0, 10.0),
        "complaints_technical_30d": st.floats(0.0, 10.0),
        "complaints_other_30d": st.floats(0.0, 10.0),
        "commitment_months": st.none() | st.sampled_from([0.0, 1.0, 12.0, 24.0]),
        "bundled_services": st.none() | st.floats(0.0, 20.0),
        "monthly_fee": st.none() | st.floats(0.0, 200.0),
        "topup_manual_share_90d": shares,
        "topup_digital_share_90d": shares,
        "plan_code": st.none() | st.integers(1, 2**32 - 1),
    }
)
batch_vectors = st.builds(lambda vector, fields: replace(vector, **fields), feature_vectors, profile_fields)


class TestBatchScoring:
    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        vectors=st.lists(batch_vectors, min_size=1, max_size=24),
        splits=st.lists(st.integers(0, 24), max_size=5),
    )
    def test_batches_of_any_split_score_exactly_as_one_by_one(
        self, batch_scorer: ColdStartRules | VersionScorer, vectors: list[FeatureVector], splits: list[int]
    ) -> None:
        """``score_many`` over any split of the vectors into batches gives each vector the
        value (compared with ==, no tolerance), reasons, source and version it gets alone."""
        alone = [batch_scorer.score(vector) for vector in vectors]
        bounds = [0, *sorted(min(split, len(vectors)) for split in splits), len(vectors)]
        batched = [
            score
            for start, end in itertools.pairwise(bounds)
            for score in batch_scorer.score_many(vectors[start:end])
        ]
        assert [score.value for score in batched] == [score.value for score in alone]
        assert [(score.source, score.model_version) for score in batched] == [
            (score.source, score.model_version) for score in alone
        ]
        assert [tuple(score.reasons) for score in batched] == [tuple(score.reasons) for score in alone]

    def test_an_empty_batch_scores_nothing(self, batch_scorer: ColdStartRules | VersionScorer) -> None:
        """No vectors, no scores."""
        assert batch_scorer.score_many([]) == []

    def test_reasons_are_worked_out_only_when_read(self) -> None:
        """A batch's scores carry their values at once and their reasons on demand."""
        scores = ColdStartRules().score_many([replace(FeatureVector.empty("c1", AS_OF), usage_trend=-0.4)])
        assert isinstance(scores[0].reasons, ExplainedOnDemand)
        assert scores[0].reasons[0].code == ReasonCode.USAGE_DECLINE.value
