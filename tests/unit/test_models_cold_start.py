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

from features.decay import exposure_days
from features.vector import FeatureVector
from models.cold_start import ColdStartRules, attribute_priors, rule_strengths
from models.config import ColdStartConfig
from models.reason_codes import ReasonCode
from schemas.outputs import ScoreSource

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
EMPTY = FeatureVector.empty("c1", AS_OF)
RULES = ColdStartRules()
CONFIG = ColdStartConfig()
# A customer with enough activity for the volume-gated rules to count fully, calling at a
# steady rate: each decayed window holds what one call rate gives over 200 days.
ACTIVE = replace(
    EMPTY,
    history_days=200.0,
    calls_out_7d=9.3,  # the 30-day rate: calls did not stop last week
    calls_in_7d=7.0,
    calls_out_30d=40.0,
    calls_in_30d=30.0,
    calls_out_90d=107.1,
    calls_in_90d=80.3,
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
    "calls_out_7d": ("down", st.floats(0.0, 100.0)),
    "calls_in_7d": ("down", st.floats(0.0, 100.0)),
    "calls_out_90d": ("up", st.floats(0.0, 1000.0)),
    "calls_in_90d": ("up", st.floats(0.0, 1000.0)),
}

# The number of calls down ~80% over the previous 60 days, at a steady lower rate since.
CALLS_FALLING: dict[str, Any] = {
    "calls_out_7d": 2.8,
    "calls_in_7d": 2.1,
    "calls_out_30d": 12.0,
    "calls_in_30d": 9.0,
}

# One clear example of each rule firing on the ACTIVE customer, with the code it reports.
RULE_EXAMPLES: dict[ReasonCode, dict[str, Any]] = {
    ReasonCode.USAGE_DECLINE: {"usage_trend": -0.7, **CALLS_FALLING},
    ReasonCode.RECENT_CALLS_DROP: {"calls_out_7d": 1.0, "calls_in_7d": 0.5},
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
    ReasonCode.CONTACTS_COLLAPSE: {"distinct_contacts_30d": 1.0, "calls_out_30d": 12.0, "calls_out_7d": 2.8},
    ReasonCode.CONTRACT_TERM: {"commitment_months": 0.0},
    ReasonCode.TENURE: {"tenure_days": 30.0},
    ReasonCode.PAYMENT_METHOD: {"topup_manual_share_90d": 1.0},
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


class TestAttributePriors:
    def test_a_customer_without_a_profile_scores_as_without_priors(self) -> None:
        """Unknown commitment, tenure, payment channel and bundles leave the score where the
        behaviour rules put it: absent attributes are neutral, never inverted."""
        assert attribute_priors(ACTIVE, CONFIG) == []

    def test_bundles_protect(self) -> None:
        """More bundled services lower the score, up to the configured count."""
        scores = [RULES.score(replace(ACTIVE, bundled_services=float(n))).value for n in (0, 1, 3, 5)]
        assert scores[0] > scores[1] > scores[2] == scores[3]

    def test_a_committed_term_ending_soon_is_a_contract_reason(self) -> None:
        """A 12-month term with 20 days left fires the contract prior; with 200 days left it does not."""
        ending = replace(ACTIVE, commitment_months=12.0, tenure_days=365.25 - 20.0)
        far = replace(ACTIVE, commitment_months=12.0, tenure_days=365.25 - 200.0 + 365.25)
        assert ReasonCode.CONTRACT_TERM in rule_strengths(ending, CONFIG)
        assert ReasonCode.CONTRACT_TERM not in rule_strengths(far, CONFIG)
        assert RULES.score(ending).reasons[0].text == "12-month commitment, current term ends in 20 days"

    def test_no_commitment_outweighs_an_ending_term(self) -> None:
        """Free to leave now counts more than free to leave in a few weeks."""
        ending = replace(ACTIVE, commitment_months=24.0, tenure_days=2 * 365.25 - 10.0)
        assert RULES.score(replace(ACTIVE, commitment_months=0.0)).value > RULES.score(ending).value


class TestUsageDecline:
    def test_minutes_falling_while_calls_hold_is_no_decline(self) -> None:
        """Fewer minutes at the same number of calls (a few long calls fewer) does not fire."""
        assert ReasonCode.USAGE_DECLINE not in rule_strengths(replace(ACTIVE, usage_trend=-0.7), CONFIG)

    def test_calls_falling_while_minutes_hold_is_no_decline(self) -> None:
        """Fewer calls at the same minutes does not fire either: both measures must fall."""
        assert ReasonCode.USAGE_DECLINE not in rule_strengths(replace(ACTIVE, **CALLS_FALLING), CONFIG)

    def test_the_smaller_fall_sets_the_strength(self) -> None:
        """Calls down ~80%, minutes down 25%: the strength is the minutes' (0.5 at -0.25)."""
        strengths = rule_strengths(replace(ACTIVE, usage_trend=-0.25, **CALLS_FALLING), CONFIG)
        assert strengths[ReasonCode.USAGE_DECLINE] == pytest.approx(0.5)

    def test_without_calls_on_record_the_minutes_speak_alone(self) -> None:
        """No call in 90 days gives no calls trend: the minutes' trend alone, as before."""
        assert rule_strengths(replace(EMPTY, usage_trend=-0.25), CONFIG) == {ReasonCode.USAGE_DECLINE: 0.5}


class TestRecentCallsDrop:
    def test_a_customer_gone_quiet_this_week_fires_at_full_strength(self) -> None:
        """Calls at a tenth of the 30-day rate, ~16 calls a week before: full strength, yellow alone."""
        features = replace(ACTIVE, **RULE_EXAMPLES[ReasonCode.RECENT_CALLS_DROP])
        assert rule_strengths(features, CONFIG)[ReasonCode.RECENT_CALLS_DROP] == 1.0
        assert RULES.score(features).value == pytest.approx(0.5)

    def test_a_steady_customer_does_not_fire(self) -> None:
        """The last week at the 30-day rate is no signal."""
        assert ReasonCode.RECENT_CALLS_DROP not in rule_strengths(ACTIVE, CONFIG)

    def test_a_small_dip_does_not_fire(self) -> None:
        """A week at 75% of the usual rate (a seasonal dip reads ~80%) is no signal."""
        features = replace(ACTIVE, calls_out_7d=9.3 * 0.75, calls_in_7d=7.0 * 0.75)
        assert ReasonCode.RECENT_CALLS_DROP not in rule_strengths(features, CONFIG)

    def test_a_new_customer_does_not_fire(self) -> None:
        """Under 30 days of history the windows are still filling: no signal however quiet."""
        features = replace(ACTIVE, history_days=20.0, calls_out_7d=0.0, calls_in_7d=0.0)
        assert ReasonCode.RECENT_CALLS_DROP not in rule_strengths(features, CONFIG)

    def test_a_light_user_counts_in_proportion_to_the_calls_expected(self) -> None:
        """Silent for a week after ~3.5 calls a week: a quarter of the strength of a heavy user's silence."""
        light = replace(
            ACTIVE,
            calls_out_7d=0.0,
            calls_in_7d=0.0,
            calls_out_30d=10.0,
            calls_in_30d=5.0,
            calls_out_90d=40.0,
        )
        strength = rule_strengths(light, CONFIG)[ReasonCode.RECENT_CALLS_DROP]
        assert strength == pytest.approx(7 * 15.0 / exposure_days(30.0, 200.0) / 14.0)
        assert strength < 0.3

    @settings(max_examples=200, deadline=None)
    @given(
        recent=st.floats(0.0, 1.5),
        weekly=st.floats(0.0, 60.0),
        history=st.floats(0.0, 400.0),
    )
    def test_strength_stays_within_0_and_1_and_falls_as_calls_recover(
        self, recent: float, weekly: float, history: float
    ) -> None:
        """For any rate, volume and history: 0..1, and more calls last week never raise it."""
        exposure7, exposure30 = exposure_days(7.0, history), exposure_days(30.0, history)
        calls_30d = weekly / 7.0 * exposure30
        strengths = []
        for share in (recent, recent + 0.1):
            calls_7d = share * weekly / 7.0 * exposure7
            features = replace(
                ACTIVE,
                history_days=history,
                calls_out_7d=calls_7d,
                calls_in_7d=0.0,
                calls_out_30d=calls_30d,
                calls_in_30d=0.0,
            )
            strengths.append(rule_strengths(features, CONFIG).get(ReasonCode.RECENT_CALLS_DROP, 0.0))
        assert 0.0 <= strengths[1] <= strengths[0] <= 1.0


class TestReasonTexts:
    @pytest.mark.parametrize(
        ("code", "text"),
        [
            (ReasonCode.USAGE_DECLINE, "call minutes down 70% and calls down 79% vs the previous 60 days"),
            (
                ReasonCode.RECENT_CALLS_DROP,
                "calls in the last 7 days at 9% of the 30-day rate (usually 16 a week)",
            ),
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
            **CALLS_FALLING,
            topup_trend=-0.6,
            days_since_last_topup=41.0,
            usual_topup_gap_days=9.0,
        )
        assert RULES.score(leaver).value > 0.7

    def test_a_recent_drop_is_said_once_when_usage_declines_too(self) -> None:
        """Calls fell over 60 days and nearly stopped this week: both rules fire, the recent-calls
        reason states the week, the usage reason its trends only (no second "recent calls")."""
        features = replace(
            ACTIVE, usage_trend=-0.7, **{**CALLS_FALLING, "calls_out_7d": 0.3, "calls_in_7d": 0.2}
        )
        reasons = {r.code: r.text for r in RULES.score(features).reasons}
        assert set(reasons) >= {ReasonCode.RECENT_CALLS_DROP.value, ReasonCode.USAGE_DECLINE.value}
        assert reasons[ReasonCode.RECENT_CALLS_DROP.value].startswith("calls in the last 7 days at")
        assert "recent calls" not in reasons[ReasonCode.USAGE_DECLINE.value]
        assert "call minutes down" in reasons[ReasonCode.USAGE_DECLINE.value]

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
        assert (score.source, score.model_version) == (ScoreSource.COLD_START_RULES, "rules-3")


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
