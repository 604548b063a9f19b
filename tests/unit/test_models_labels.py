"""Label resolution on crafted timelines, and the pending-snapshot codec."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from models.labels import (
    INPUT_NAMES,
    PendingSnapshot,
    decode_pending,
    encode_pending,
    resolution_delay_days,
    resolve,
)
from schemas.event_days import DAY_S, day_end_s
from schemas.outputs import ScoreSource

DAY = 20_454  # 2026-01-01
H = 30


def snap(customer_id: str = "c1", day: int = DAY, **inputs: float) -> PendingSnapshot:
    return PendingSnapshot(
        customer_id=customer_id,
        day=day,
        silent_days=0,
        inputs=inputs or {"calls_out_7d": 4.0},
        score=0.1,
        score_source=ScoreSource.COLD_START_RULES,
        model_score=0.4,
        rules_score=0.1,
    )


def label(churn_offsets_s: list[float], day: int = DAY) -> bool:
    """Resolve one snapshot of ``day`` against churns at these offsets from its day's end."""
    churns = {"c1": [day_end_s(day) + offset for offset in churn_offsets_s]}
    [example] = resolve([snap(day=day)], "rules-1", churns, H, 0, day + 33)
    return example.churned


class TestResolve:
    def test_churn_inside_the_horizon_is_positive(self) -> None:
        """Port-out one second after the snapshot, or exactly at t + H: positive."""
        assert label([1.0])
        assert label([H * DAY_S])

    def test_churn_outside_the_horizon_is_negative(self) -> None:
        """At the snapshot's own time, before it, or after t + H: negative."""
        assert not label([0.0])
        assert not label([-3600.0])
        assert not label([H * DAY_S + 1.0])
        assert not label([])

    def test_churn_then_reactivation_still_counts(self) -> None:
        """A customer who left inside the window and came back still churned in it."""
        assert label([5 * DAY_S])  # the later reactivation is not a churn event

    def test_first_churn_in_the_window_is_reported(self) -> None:
        """Two churns in the window (left, came back, left): the first one's time is reported."""
        churns = {"c1": [day_end_s(DAY) + 9 * DAY_S, day_end_s(DAY) + 2 * DAY_S]}
        [example] = resolve([snap()], "v", churns, H, 0, DAY + 33)
        assert example.churn_time is not None
        assert example.churn_time.timestamp() == day_end_s(DAY) + 2 * DAY_S

    def test_other_customers_churn_does_not_leak(self) -> None:
        churns = {"c2": [day_end_s(DAY) + DAY_S]}
        [example] = resolve([snap()], "v", churns, H, 0, DAY + 33)
        assert not example.churned

    def test_examples_are_deterministic_and_ordered_by_id(self) -> None:
        """The same pending snapshots in any order give the same examples in the same order."""
        snaps = [snap(f"c{i}") for i in range(20)]
        shuffled = snaps[:]
        random.Random(4).shuffle(shuffled)
        first = resolve(snaps, "v", {}, H, 1, DAY + 33)
        second = resolve(shuffled, "v", {}, H, 1, DAY + 33)
        assert [e.model_dump() for e in first] == [e.model_dump() for e in second]
        assert [e.example_id for e in first] == sorted(e.example_id for e in first)

    def test_resolution_waits_for_the_lateness(self) -> None:
        """Resolved H + ceil(lateness) days later, when no churn in the window can still arrive."""
        assert resolution_delay_days(30, 3.0) == 33
        assert resolution_delay_days(14, 0.25) == 15


class TestPendingCodec:
    @given(
        st.lists(
            st.tuples(
                st.text(min_size=1, max_size=30),
                st.integers(0, 400),
                st.dictionaries(
                    st.sampled_from(INPUT_NAMES),
                    st.floats(-65504, 65504, allow_nan=False, width=16),
                    max_size=12,
                ),
                st.floats(0, 1, width=32),
                st.sampled_from(list(ScoreSource)),
            ),
            max_size=20,
        )
    )
    def test_round_trip(self, rows: list[tuple[str, int, dict[str, float], float, ScoreSource]]) -> None:
        """Every snapshot comes back as it went in (half-precision values, zeros left out)."""
        snapshots = [
            PendingSnapshot(customer, DAY, min(silent, 255), inputs, score, source, score, score)
            for customer, silent, inputs, score, source in rows
        ]
        version, back = decode_pending(encode_pending("river-logreg-2026-01-01-n5", snapshots), DAY)
        assert version == "river-logreg-2026-01-01-n5"
        expected = [
            PendingSnapshot(
                s.customer_id,
                s.day,
                s.silent_days,
                {k: v for k, v in s.inputs.items() if v},
                s.score,
                s.score_source,
                s.model_score,
                s.rules_score,
            )
            for s in snapshots
        ]
        assert back == expected

    def test_every_stored_input_has_a_bit_in_the_row_mask(self) -> None:
        """The row mask is 64 bits: an input beyond it would be lost without a word."""
        assert len(INPUT_NAMES) <= 64
        assert len(set(INPUT_NAMES)) == len(INPUT_NAMES)

    def test_profile_inputs_round_trip(self) -> None:
        """Tenure, the plan bucket and the plan facts come back from a pending snapshot."""
        inputs = {"tenure_days": 812.5, "plan_bucket": 7.0, "commitment_months": 24.0, "monthly_fee": 39.5}
        _, [back] = decode_pending(encode_pending("v", [snap("c1", **inputs)]), DAY)
        assert {name: back.inputs[name] for name in inputs} == inputs

    def test_a_typical_active_customer_takes_about_a_hundred_bytes(self) -> None:
        """Size per snapshot of a realistic day (the budget: pending snapshots <= 1 KiB per customer)."""
        rng = random.Random(7)
        snapshots = [
            snap(f"cust-{i:06d}", **{name: round(rng.uniform(0, 500), 1) for name in INPUT_NAMES[:24]})
            for i in range(1000)
        ]
        size = len(encode_pending("v", snapshots)) / len(snapshots)
        assert size < 130
