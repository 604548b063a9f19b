"""Derived model inputs: rate ratios that read a customer against their own past, finite for any vector."""

from __future__ import annotations

import math
import random
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from features.aging import aged
from features.decay import exposure_days
from features.vector import FeatureVector
from models.derived_inputs import RATE_RATIO_MAX, RATE_RATIO_NAMES, derived_inputs, rate_ratio
from models.labels import INPUT_NAMES
from models.online import CLOCK_INPUTS, OnlineModel, inputs_from_stored, model_inputs, stored_inputs
from models.reason_codes import ReasonCode, fixed_code_for_feature
from models.reason_texts import describe
from schemas.events import PaymentType

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
EMPTY = FeatureVector.empty("c1", AS_OF)


def steady(calls_out_per_day: float, minutes_out_per_day: float, history_days: float) -> FeatureVector:
    """A customer calling out at a steady daily rate for ``history_days`` up to ``AS_OF``."""
    return replace(
        EMPTY,
        history_days=history_days,
        calls_out_7d=calls_out_per_day * exposure_days(7, history_days),
        calls_out_30d=calls_out_per_day * exposure_days(30, history_days),
        calls_out_90d=calls_out_per_day * exposure_days(90, history_days),
        minutes_out_7d=minutes_out_per_day * exposure_days(7, history_days),
        minutes_out_30d=minutes_out_per_day * exposure_days(30, history_days),
        minutes_out_90d=minutes_out_per_day * exposure_days(90, history_days),
    )


def silent_for(vector: FeatureVector, days: float) -> FeatureVector:
    """``vector`` read ``days`` later with nothing happening in between (as the daily sweep sees it)."""
    return aged(vector, vector.as_of + timedelta(days=days))


_OPTIONAL = {"days_since_last_topup", "usual_topup_gap_days", "days_since_last_complaint", "tenure_days"}
_NUMBERS = [
    field.name
    for field in fields(FeatureVector)
    if field.name not in {"customer_id", "as_of", "payment_type", "churned"} | _OPTIONAL
]
any_float = st.floats(allow_nan=True, allow_infinity=True)
extreme_vectors = st.builds(
    lambda numbers, optional, payment_type, churned: replace(
        EMPTY, **numbers, **optional, payment_type=payment_type, churned=churned
    ),
    st.fixed_dictionaries({name: any_float for name in _NUMBERS}),
    st.fixed_dictionaries({name: st.none() | any_float for name in sorted(_OPTIONAL)}),
    st.none() | st.sampled_from(PaymentType),
    st.booleans(),
)


class TestRateRatio:
    @given(
        rate_per_day=st.floats(1e-3, 1e4),
        history_days=st.floats(0.5, 2000.0),
        windows=st.sampled_from([(7, 30), (30, 90)]),
    )
    def test_steady_traffic_reads_one_at_any_volume_and_history(
        self, rate_per_day: float, history_days: float, windows: tuple[int, int]
    ) -> None:
        """A steady rate gives 1 whatever the volume and however long the windows have been filling."""
        short_days, long_days = windows
        ratio = rate_ratio(
            rate_per_day * exposure_days(short_days, history_days),
            short_days,
            rate_per_day * exposure_days(long_days, history_days),
            long_days,
            history_days,
        )
        assert math.isclose(ratio, 1.0, rel_tol=1e-9)

    def test_no_activity_and_no_history_are_neutral(self) -> None:
        """An empty vector reads 1 (nothing changed) on every ratio, not 'stopped'."""
        assert derived_inputs(EMPTY.numeric()) == dict.fromkeys(RATE_RATIO_NAMES, 1.0)

    def test_activity_with_no_earlier_activity_is_capped(self) -> None:
        """Calls in the last week after a silent quarter read the cap, not infinity."""
        assert rate_ratio(4.0, 7, 0.0, 30, 365.0) == RATE_RATIO_MAX


class TestSilence:
    def test_calls_stopped_ten_days_ago_read_lower_than_steady_calls(self) -> None:
        """Ten silent days pull the 7d/30d calls ratio to about a third of a steady customer's 1."""
        regular = steady(calls_out_per_day=6.0, minutes_out_per_day=20.0, history_days=120.0)
        went_quiet = silent_for(regular, 10.0)
        steady_ratio = model_inputs(regular)["calls_out_rate_7d_per_30d"]
        quiet_ratio = model_inputs(went_quiet)["calls_out_rate_7d_per_30d"]
        assert math.isclose(steady_ratio, 1.0, rel_tol=1e-3)  # sums read at half precision
        assert quiet_ratio < 0.4

    def test_longer_silence_reads_lower(self) -> None:
        """The 7d/30d and 30d/90d ratios fall with every further silent day."""
        regular = steady(calls_out_per_day=6.0, minutes_out_per_day=20.0, history_days=200.0)
        ratios = [model_inputs(silent_for(regular, days)) for days in (0.0, 3.0, 7.0, 14.0, 30.0)]
        for name in ("calls_out_rate_7d_per_30d", "minutes_out_rate_30d_per_90d"):
            series = [inputs[name] for inputs in ratios]
            assert series == sorted(series, reverse=True)
            assert len(set(series)) == len(series)

    def test_heavy_and_light_users_who_went_quiet_read_the_same(self) -> None:
        """The ratio compares a customer with their own past, not with other customers."""
        heavy = silent_for(steady(calls_out_per_day=40.0, minutes_out_per_day=300.0, history_days=150.0), 5.0)
        light = silent_for(steady(calls_out_per_day=0.5, minutes_out_per_day=2.0, history_days=150.0), 5.0)
        assert math.isclose(
            derived_inputs(heavy.numeric())["calls_out_rate_7d_per_30d"],
            derived_inputs(light.numeric())["calls_out_rate_7d_per_30d"],
            rel_tol=1e-9,
        )


class TestModelInputs:
    @given(features=extreme_vectors)
    def test_every_input_is_finite_for_any_vector(self, features: FeatureVector) -> None:
        """NaN, infinities and huge or negative values in any field still give finite inputs."""
        inputs = model_inputs(features)
        assert all(math.isfinite(value) for value in inputs.values())

    @given(features=extreme_vectors)
    def test_inputs_are_deterministic_and_always_the_same_names(self, features: FeatureVector) -> None:
        """The same vector gives the same inputs; what a snapshot stores has the codec's names."""
        inputs = model_inputs(features)
        assert inputs == model_inputs(features)
        assert tuple(stored_inputs(features)) == INPUT_NAMES

    @given(features=extreme_vectors)
    def test_a_stored_snapshot_learns_the_inputs_it_was_scored_on(self, features: FeatureVector) -> None:
        """Derived inputs are not stored: computed again from a pending snapshot's half-precision
        inputs, they are exactly what the scorer read (it reads the stored precision too)."""
        stored = stored_inputs(features)
        kept = {name: float(np.float16(value)) for name, value in stored.items()}
        assert kept == stored
        assert inputs_from_stored(kept) == model_inputs(features)

    def test_stored_inputs_keep_their_positions_and_add_only_the_history(self) -> None:
        """The numeric features keep their codec bit positions; ``history_days`` comes last, so a
        snapshot stored without it reads every ratio as 1 (nothing changed), not as silence."""
        numeric = tuple(name for name in EMPTY.numeric() if name not in CLOCK_INPUTS)
        assert (*numeric, "history_days") == INPUT_NAMES
        older = {name: 1.0 for name in numeric}
        assert all(inputs_from_stored(older)[name] == 1.0 for name in RATE_RATIO_NAMES)

    def test_inputs_fit_the_pending_snapshot_mask(self) -> None:
        """The pending-snapshot codec marks present inputs in a 64-bit mask."""
        assert len(INPUT_NAMES) <= 64


class TestDerivedInputReasons:
    def test_call_and_minute_ratios_speak_for_usage_decline(self) -> None:
        """A drop in calls or minutes, read by a ratio, is reported as a usage decline."""
        usage = [name for name in RATE_RATIO_NAMES if name.startswith(("calls_", "minutes_"))]
        assert usage
        assert {fixed_code_for_feature(name) for name in usage} == {ReasonCode.USAGE_DECLINE}

    def test_topup_ratios_speak_for_topup_decline(self) -> None:
        """A drop in top-up amount or count, read by a ratio, is reported as a top-up decline."""
        topups = [name for name in RATE_RATIO_NAMES if name.startswith("topup_")]
        assert topups
        assert {fixed_code_for_feature(name) for name in topups} == {ReasonCode.TOPUP_DECLINE}

    def test_a_customer_who_went_silent_is_told_usage_declined(self) -> None:
        """A model that learned 'leavers go quiet' gives a silent customer the usage-decline reason first."""
        rng = random.Random(3)
        model = OnlineModel()
        for _ in range(3000):
            churned = rng.random() < 0.25
            regular = steady(
                calls_out_per_day=rng.uniform(0.5, 30.0),
                minutes_out_per_day=rng.uniform(2.0, 200.0),
                history_days=rng.uniform(60.0, 400.0),
            )
            model.learn(silent_for(regular, rng.uniform(5.0, 20.0) if churned else 0.0), churned)
        quiet = silent_for(steady(calls_out_per_day=8.0, minutes_out_per_day=50.0, history_days=200.0), 12.0)
        score = model.score(quiet)
        assert score.value > 0.5
        assert score.reasons[0].code == ReasonCode.USAGE_DECLINE

    def test_usage_reason_of_a_customer_who_went_quiet_leads_with_the_last_week(self) -> None:
        """Eight silent days: the text says the last week's calls fell, not only the 60-day trend."""
        quiet = silent_for(steady(calls_out_per_day=8.0, minutes_out_per_day=50.0, history_days=200.0), 8.0)
        text = describe(ReasonCode.USAGE_DECLINE, quiet)
        assert text.startswith("recent calls at 42% of the 30-day rate; call minutes down")

    def test_usage_reason_of_a_steady_customer_does_not_mention_the_last_week(self) -> None:
        """Calls at their usual rate: the text is the trend and the month's minutes."""
        regular = steady(calls_out_per_day=8.0, minutes_out_per_day=50.0, history_days=200.0)
        assert describe(ReasonCode.USAGE_DECLINE, regular).startswith("call minutes flat")
