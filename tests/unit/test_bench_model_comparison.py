"""The model comparison harness on a tiny population: every model measured, no label used early."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from bench.candidates import ALL_MODELS, BATCH_MODELS
from bench.model_comparison import (
    ComparisonConfig,
    ComparisonResult,
    SeedRun,
    run_comparison,
    run_seed,
)
from models.config import OnlineModelConfig, ScoringConfig
from models.labels import kept_day, snapshot_id
from models.learner import learns_negative
from schemas.event_days import day_number
from sim.simulate import Simulation

START = datetime(2026, 1, 5, tzinfo=UTC)
TINY = ComparisonConfig(
    seeds=(4,),
    customers=300,
    days=60,
    start=START,
    horizon_days=14,
    warmup_days=10,
    snapshot_every_days=2,
    negative_learn_share=0.3,
    window_examples=1_000,
    ensemble_size=2,
)
SCORING = ScoringConfig(online=OnlineModelConfig(min_labels_per_class=20))


@pytest.fixture(scope="module")
def comparison() -> ComparisonResult:
    return run_comparison(TINY, SCORING)


@pytest.fixture(scope="module")
def in_resolution_order() -> SeedRun:
    config = TINY.model_copy(update={"models": ("rules", "logreg"), "learn_when": "resolved"})
    return run_seed(config, 4, SCORING)


def churn_times(seed: int) -> dict[str, datetime]:
    """Ground truth straight from the simulated population (churn moments, to the second)."""
    population = Simulation(TINY.customers, TINY.days, seed, START).population
    return {
        population.customer_id(index): START + timedelta(seconds=int(day * 86_400))
        for index, day in enumerate(population.churn_day.tolist())
        if math.isfinite(day)
    }


class TestModelComparison:
    def test_every_model_reports_a_finite_auc_between_zero_and_one(
        self, comparison: ComparisonResult
    ) -> None:
        """Every online candidate is measured on all, warm and later-half examples; the batch
        models on the later half only."""
        (run,) = comparison.runs
        assert [result.model for result in run.models] == list(ALL_MODELS)
        for result in run.models:
            judged = (result.later,) if result.model in BATCH_MODELS else (result.cumulative, result.warm)
            for snapshot in (*judged, result.later):
                assert snapshot.roc_auc is not None, result.model
                assert 0.0 <= snapshot.roc_auc <= 1.0, result.model
            assert math.isfinite(result.us_per_score)
            assert result.checkpoint_bytes > 0

    def test_every_candidate_is_judged_on_the_same_later_half(self, comparison: ComparisonResult) -> None:
        """The batch models' examples are the online candidates' later-half examples."""
        (run,) = comparison.runs
        assert len({result.later.examples for result in run.models}) == 1
        assert 0 < run.models[0].later.examples < run.snapshots

    def test_learning_candidates_learn_and_the_rules_do_not(self, comparison: ComparisonResult) -> None:
        """Every learner saw the same examples; the rules only scored."""
        (run,) = comparison.runs
        learns = {result.model: result.learns for result in run.models if result.model not in BATCH_MODELS}
        assert learns.pop("rules") == 0
        assert set(learns.values()) == {run.learned}
        assert run.learned > 0

    def test_no_label_is_consumed_before_it_resolved(self, comparison: ComparisonResult) -> None:
        """Every example is consumed at a day start strictly after its resolution, and only once."""
        (run,) = comparison.runs
        assert len(run.consumed) == run.snapshots
        assert len({example.snapshot_id for example in run.consumed}) == run.snapshots
        for example in run.consumed:
            assert example.snapshot_at < example.resolved_at < example.consumed_at
            assert example.consumed_at.time() == datetime.min.time()  # a day boundary

    def test_snapshots_and_learned_examples_are_the_workers(self, comparison: ComparisonResult) -> None:
        """Snapshots carry the worker's id on days its stagger keeps, and while learning a negative
        is learned exactly when the production learner would learn it."""
        (run,) = comparison.runs
        for example in run.consumed:
            day = day_number(example.snapshot_at.date())
            assert example.snapshot_id == snapshot_id(example.customer_id, day)
            assert kept_day(example.customer_id, day, 0, TINY.snapshot_every_days)
            learning = (example.consumed_at - START).days <= TINY.last_snapshot_day
            drawn = learns_negative(example.snapshot_id, TINY.negative_learn_share)
            assert example.learned == (learning and (example.churned or drawn)), example.snapshot_id

    def test_labels_match_the_simulated_churn_times(self, comparison: ComparisonResult) -> None:
        """Positive exactly when the population churns in (t, t + H], resolved at that churn."""
        churned_at = churn_times(4)
        horizon = timedelta(days=TINY.horizon_days)
        (run,) = comparison.runs
        for example in run.consumed:
            churn = churned_at.get(example.customer_id)
            positive = churn is not None and example.snapshot_at < churn <= example.snapshot_at + horizon
            assert example.churned == positive, example.snapshot_id
            assert example.resolved_at == (churn if positive else example.snapshot_at + horizon)

    def test_horizon_end_learning_waits_for_the_whole_horizon(self, comparison: ComparisonResult) -> None:
        """With learn_when='horizon_end' a positive is consumed only after its snapshot's horizon ended."""
        horizon = timedelta(days=TINY.horizon_days)
        (run,) = comparison.runs
        assert any(example.churned for example in run.consumed)
        for example in run.consumed:
            assert example.consumed_at > example.snapshot_at + horizon

    def test_resolution_order_learning_takes_each_label_the_day_after_it_resolved(
        self, in_resolution_order: SeedRun
    ) -> None:
        """With learn_when='resolved' examples are consumed in resolution order, at the next day start."""
        consumed = in_resolution_order.consumed
        assert [e.resolved_at for e in consumed] == sorted(e.resolved_at for e in consumed)
        for example in consumed:
            next_day = START + timedelta(days=(example.resolved_at - START).days + 1)
            assert example.consumed_at == min(next_day, START + timedelta(days=TINY.days))

    def test_variants_take_settings_in_their_names(self) -> None:
        """logreg and forest take validated settings; other names and bad values are refused."""
        config = TINY.model_copy(update={"models": ("logreg:optimizer=adam", "forest:kind=amf,n_models=2")})
        assert ComparisonConfig.model_validate(config.model_dump()).models == config.models
        for models in (("rules:x=1",), ("forest:kind=svm",), ("logreg:optimizer=lbfgs",), ("gbm",)):
            with pytest.raises(ValidationError):
                ComparisonConfig.model_validate({**TINY.model_dump(), "models": models})

    def test_result_is_json(self, comparison: ComparisonResult) -> None:
        """The --json document carries the settings, every seed and the means, in plain JSON."""
        document = json.loads(json.dumps(comparison.to_json()))
        assert [row["model"] for row in document["mean"]] == list(ALL_MODELS)
        assert document["runs"][0]["seed"] == 4
        assert document["scoring"]["online"]["min_labels_per_class"] == 20

    def test_a_named_population_is_simulated_and_an_unknown_one_refused(self) -> None:
        """Settings are chosen on one population and judged on another: the run says which."""
        config = TINY.model_copy(update={"models": ("rules",), "population": "contract_heavy"})
        heavy = run_seed(config, 4, SCORING)
        default = run_seed(TINY.model_copy(update={"models": ("rules",)}), 4, SCORING)
        assert heavy.to_json() != default.to_json()
        with pytest.raises(ValidationError, match="contract_heavy"):
            ComparisonConfig.model_validate({**TINY.model_dump(), "population": "nowhere"})
