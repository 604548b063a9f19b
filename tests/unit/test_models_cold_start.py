"""Behaviour of the cold-start playbook rules."""

from __future__ import annotations

import random
import timeit
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.vector import FeatureVector
from models.cold_start import ColdStartRules
from models.reasons import ReasonCode
from schemas.outputs import ScoreSource

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
EMPTY = FeatureVector.empty("c1", AS_OF)
RULES = ColdStartRules()
# A customer with enough activity for the volume-gated rules to count fully.
ACTIVE = replace(
    EMPTY,
    history_days=200.0,
    calls_out_7d=9.3,  # the 30-day rate: calls did not stop last week
    calls_in_7d=7.0,
    calls_out_30d=40.0,
    calls_in_30d=30.0,
    calls_out_90d=120.0,
    minutes_out_30d=200.0,
    distinct_contacts_30d=12.0,
    days_since_last_topup=5.0,
    usual_topup_gap_days=10.0,
)

# (field, values that carry more and more risk)
RISK_DIRECTIONS: dict[str, tuple[str, Any]] = {
    "usage_trend": ("down", st.floats(-1.5, 3.0)),
    "topup_trend": ("down", st.floats(-1.5, 3.0)),
    "days_since_last_topup": ("up", st.floats(0.0, 400.0)),
    "usual_topup_gap_days": ("down", st.floats(0.0, 200.0)),
    "complaints_network_30d": ("up", st.floats(0.0, 20.0)),
    "complaints_price_30d": ("up", st.floats(0.0, 20.0)),
    "complaints_billing_30d": ("up", st.floats(0.0, 20.0)),
    "complaints_service_30d": ("up", st.floats(0.0, 20.0)),
    "complaints_technical_30d": ("up", st.floats(0.0, 20.0)),
    "complaints_other_30d": ("up", st.floats(0.0, 20.0)),
    "complaint_severity_30d": ("up", st.floats(0.0, 100.0)),
    "unresolved_complaints_30d": ("up", st.floats(0.0, 20.0)),
    "dropped_call_share_30d": ("up", st.floats(0.0, 1.0)),
    "off_net_share_30d": ("up", st.floats(0.0, 1.0)),
    "distinct_contacts_30d": ("down", st.floats(0.0, 100.0)),
}

# One clear example of each rule firing on the ACTIVE customer, with the code it reports.
RULE_EXAMPLES: dict[ReasonCode, dict[str, Any]] = {
    ReasonCode.USAGE_DECLINE: {"usage_trend": -0.7},
    ReasonCode.TOPUP_DECLINE: {"topup_trend": -0.62},
    ReasonCode.TOPUP_LAPSE: {"days_since_last_topup": 41.0, "usual_topup_gap_days": 9.0},
    ReasonCode.COMPLAINTS_NETWORK: {
        "complaints_network_30d": 3.0,
        "complaints_30d": 3.0,
        "complaint_severity_30d": 9.0,
        "unresolved_complaints_30d": 1.0,
    },
    ReasonCode.COMPLAINTS_PRICE: {"complaints_price_30d": 2.0, "complaints_30d": 2.0},
    ReasonCode.DROPPED_CALLS: {"dropped_call_share_30d": 0.18},
    ReasonCode.OFF_NET_SHARE: {"off_net_share_30d": 0.8},
    ReasonCode.CONTACTS_COLLAPSE: {"distinct_contacts_30d": 1.0},
}


class TestMonotonicity:
    @pytest.mark.parametrize("field", sorted(RISK_DIRECTIONS))
    @settings(max_examples=80, deadline=None)
    @given(data=st.data())
    def test_more_risk_in_one_signal_never_lowers_the_score(self, field: str, data: st.DataObject) -> None:
        """Moving one signal towards more risk, all else equal, never lowers the score."""
        direction, values = RISK_DIRECTIONS[field]
        a, b = data.draw(values), data.draw(values)
        safer, riskier = (max(a, b), min(a, b)) if direction == "down" else (min(a, b), max(a, b))
        base = data.draw(st.sampled_from([EMPTY, ACTIVE, replace(ACTIVE, usage_trend=-0.5)]))
        assert (
            RULES.score(replace(base, **{field: riskier})).value
            >= RULES.score(replace(base, **{field: safer})).value
        )

    @pytest.mark.parametrize("code", sorted(RULE_EXAMPLES))
    def test_each_rule_raises_the_score_and_reports_its_code(self, code: ReasonCode) -> None:
        """Each rule, firing alone, raises the score above the quiet customer's and names itself."""
        score = RULES.score(replace(ACTIVE, **RULE_EXAMPLES[code]))
        assert score.value > RULES.score(ACTIVE).value
        assert score.reasons[0].code == code


class TestReasonTexts:
    @pytest.mark.parametrize(
        ("code", "text"),
        [
            (ReasonCode.USAGE_DECLINE, "call minutes down 70% vs the previous 60 days"),
            (ReasonCode.TOPUP_DECLINE, "top-ups down 62% vs the previous 60 days"),
            (ReasonCode.TOPUP_LAPSE, "no top-up for 41 days, usual gap 9"),
            (
                ReasonCode.COMPLAINTS_NETWORK,
                "3 network complaints in 30 days (1 unresolved; average severity 3.0/5)",
            ),
            (ReasonCode.DROPPED_CALLS, "18% of calls dropped in the last 30 days"),
            (ReasonCode.OFF_NET_SHARE, "80% of outgoing minutes go to other networks"),
            (ReasonCode.CONTACTS_COLLAPSE, "1 distinct contact in the last 30 days"),
        ],
    )
    def test_reason_text_gives_the_customer_numbers(self, code: ReasonCode, text: str) -> None:
        """The reason text states the signal with the customer's own numbers."""
        score = RULES.score(replace(ACTIVE, **RULE_EXAMPLES[code]))
        assert score.reasons[0].text == text

    def test_mixed_complaints_name_the_dominant_category(self) -> None:
        """With several complaint categories, the code and text follow the most frequent one."""
        features = replace(
            ACTIVE,
            complaints_30d=4.0,
            complaints_billing_30d=3.0,
            complaints_network_30d=1.0,
        )
        top = RULES.score(features).reasons[0]
        assert (top.code, top.text) == (
            ReasonCode.COMPLAINTS_BILLING,
            "4 complaints in 30 days, 3 billing",
        )

    def test_lapse_without_a_usual_gap_says_only_one_top_up_was_seen(self) -> None:
        """With a single top-up on record, the lapse is judged against the default gap."""
        features = replace(ACTIVE, days_since_last_topup=130.0, usual_topup_gap_days=None)
        assert RULES.score(features).reasons[0].text == ("no top-up for 130 days (only one top-up seen)")


class TestScores:
    def test_quiet_customer_scores_low(self) -> None:
        """A steady customer without any warning signal scores below 0.1."""
        assert RULES.score(ACTIVE).value < 0.1

    def test_typical_leaver_scores_high(self) -> None:
        """Usage and top-ups collapsing plus a lapsed top-up put a customer above 0.7."""
        leaver = replace(
            ACTIVE,
            usage_trend=-0.6,
            topup_trend=-0.6,
            days_since_last_topup=41.0,
            usual_topup_gap_days=9.0,
        )
        assert RULES.score(leaver).value > 0.7

    def test_reasons_are_capped_at_max_reasons(self) -> None:
        """No more than max_reasons reasons are reported, however many rules fire."""
        everything: dict[str, Any] = {}
        for example in RULE_EXAMPLES.values():
            everything.update(example)
        assert len(RULES.score(replace(ACTIVE, **everything)).reasons) == 3

    def test_churned_customer_keeps_the_score_of_the_evidence(self) -> None:
        """The churned flag does not change the rules' score, only the first reason."""
        leaver = replace(ACTIVE, usage_trend=-0.8)
        assert RULES.score(replace(leaver, churned=True)).value == RULES.score(leaver).value

    def test_rules_say_they_are_the_source(self) -> None:
        """Rule scores carry the cold-start source and the rules version."""
        score = RULES.score(ACTIVE)
        assert (score.source, score.model_version) == (ScoreSource.COLD_START_RULES, "rules-1")


@pytest.mark.slow
def test_score_costs_a_few_microseconds() -> None:
    """Scoring mixed risk profiles takes well under 30 us per customer.

    A benchmark (``pytest -m slow -s -k microseconds``): prints the best of five runs.
    """
    rng = random.Random(3)
    vectors = [
        replace(
            ACTIVE,
            usage_trend=rng.uniform(-1.0, 0.5),
            topup_trend=rng.uniform(-1.0, 0.5),
            days_since_last_topup=rng.uniform(0.0, 60.0),
            complaints_network_30d=rng.choice([0.0, 0.0, 1.5]),
            complaints_30d=1.5,
            dropped_call_share_30d=rng.uniform(0.0, 0.3),
            churned=rng.random() < 0.1,
        )
        for _ in range(2_000)
    ]
    best_s = min(timeit.repeat(lambda: [RULES.score(vector) for vector in vectors], number=5, repeat=5))
    score_us = best_s / (5 * len(vectors)) * 1e6
    print(f"ColdStartRules.score: {score_us:.1f} us per customer")
    assert score_us < 30.0, score_us
