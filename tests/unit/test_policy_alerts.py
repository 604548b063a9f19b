"""The alert decision: zones, cooldown in event time, deterministic ids, alert contents."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.vector import FeatureVector
from models.scorer import Score
from policy.alert_state import AlertState
from policy.alerts import Decision, alert_id, decide
from policy.config import PolicyConfig
from policy.errors import AlertStateError
from policy.playbook import load_playbook
from policy.zones import zone_for
from schemas.outputs import Alert, Reason, ScoreSource, ValueTier, Zone

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CREATED_AT = datetime(2026, 3, 1, 9, 0, 5, tzinfo=UTC)
CONFIG = PolicyConfig()
PLAYBOOK = load_playbook()
CUSTOMER = replace(FeatureVector.empty("c1", T0), history_days=120.0, revenue_90d=150.0)
LAPSE = Reason(code="topup_lapse", text="no top-up for 41 days, usual gap 9", weight=2.4)
YELLOW_SCORE = 0.5
RED_SCORE = 0.8


def score_of(value: float) -> Score:
    return Score(value, (LAPSE,), ScoreSource.COLD_START_RULES, "rules-1")


def decide_at(
    at: datetime, value: float, state: AlertState, features: FeatureVector = CUSTOMER
) -> Decision | None:
    return decide(replace(features, as_of=at), score_of(value), state, CONFIG, PLAYBOOK, CREATED_AT)


def _priority(value: float, revenue_90d: float) -> float:
    features = replace(CUSTOMER, revenue_90d=revenue_90d)
    return alerted(T0, value, AlertState.initial(), features).alert.priority


def alerted(at: datetime, value: float, state: AlertState, features: FeatureVector = CUSTOMER) -> Decision:
    decision = decide_at(at, value, state, features)
    assert decision is not None
    return decision


class TestWhenToAlert:
    @pytest.mark.parametrize(("value", "zone"), [(YELLOW_SCORE, "yellow"), (RED_SCORE, "red")])
    def test_first_alert_zone_score_alerts(self, value: float, zone: str) -> None:
        """A never-alerted customer in yellow or red gets an alert for that zone."""
        assert alerted(T0, value, AlertState.initial()).alert.zone == zone

    @pytest.mark.parametrize("value", [0.0, 0.1, 0.25, 0.39])
    def test_blue_and_green_do_not_alert(self, value: float) -> None:
        """Scores below the yellow threshold produce no alert."""
        assert decide_at(T0, value, AlertState.initial()) is None

    def test_white_zone_never_alerts(self) -> None:
        """A customer with too little history is not alerted, however high the score."""
        newcomer = replace(CUSTOMER, history_days=5.0)
        assert decide_at(T0, 0.99, AlertState.initial(), newcomer) is None

    def test_churned_customer_never_alerts(self) -> None:
        """A customer who already left gets no alert."""
        gone = replace(CUSTOMER, churned=True)
        assert decide_at(T0, 0.99, AlertState.initial(), gone) is None

    def test_alert_is_suppressed_until_cooldown_passes(self) -> None:
        """The same zone within 7 event-time days of the last alert is suppressed."""
        state = alerted(T0, YELLOW_SCORE, AlertState.initial()).state
        assert decide_at(T0 + timedelta(days=6, hours=23), YELLOW_SCORE, state) is None

    def test_alert_repeats_once_cooldown_has_passed(self) -> None:
        """Exactly 7 event-time days after the last alert the same zone alerts again."""
        state = alerted(T0, YELLOW_SCORE, AlertState.initial()).state
        assert decide_at(T0 + timedelta(days=7), YELLOW_SCORE, state) is not None

    def test_zone_rise_re_alerts_within_cooldown(self) -> None:
        """Yellow then red a day later: the rise alerts at once."""
        state = alerted(T0, YELLOW_SCORE, AlertState.initial()).state
        decision = alerted(T0 + timedelta(days=1), RED_SCORE, state)
        assert (decision.alert.zone, decision.alert.previous_zone) == (Zone.RED, Zone.YELLOW)

    def test_zone_fall_does_not_re_alert_within_cooldown(self) -> None:
        """Red then yellow a day later: no alert, the customer was just alerted higher."""
        state = alerted(T0, RED_SCORE, AlertState.initial()).state
        assert decide_at(T0 + timedelta(days=1), YELLOW_SCORE, state) is None

    def test_cooldown_is_event_time_not_arrival(self) -> None:
        """A late event dated before the last alert cannot restart alerts of the same zone."""
        state = alerted(T0, YELLOW_SCORE, AlertState.initial()).state
        assert decide_at(T0 - timedelta(days=10), YELLOW_SCORE, state) is None

    def test_late_rise_keeps_the_latest_alert_time(self) -> None:
        """A zone rise from an older event does not move the cooldown start backwards."""
        state = alerted(T0, YELLOW_SCORE, AlertState.initial()).state
        risen = alerted(T0 - timedelta(days=2), RED_SCORE, state).state
        assert risen == AlertState(Zone.RED, T0)

    def test_state_records_the_alert(self) -> None:
        """After an alert the state holds its zone and event time."""
        decision = alerted(T0, RED_SCORE, AlertState.initial())
        assert decision.state == AlertState(Zone.RED, T0)


class TestAlertIds:
    def test_replay_gives_the_same_alert(self) -> None:
        """Deciding the same snapshot twice yields identical alerts, id included."""
        first = alerted(T0, RED_SCORE, AlertState.initial())
        again = alerted(T0, RED_SCORE, AlertState.initial())
        assert first == again

    def test_id_is_stable_within_an_event_time_day(self) -> None:
        """A rerun triggering on another event of the same UTC day gives the same id."""
        morning = alerted(T0.replace(hour=0), RED_SCORE, AlertState.initial())
        evening = alerted(T0.replace(hour=23, minute=59), RED_SCORE, AlertState.initial())
        assert morning.alert.alert_id == evening.alert.alert_id

    def test_id_uses_the_utc_day_of_the_event(self) -> None:
        """The same instant written in another offset gives the same id."""
        plus_two = timezone(timedelta(hours=2))
        assert alert_id("c1", Zone.RED, T0) == alert_id("c1", Zone.RED, T0.astimezone(plus_two))

    def test_ids_differ_across_days(self) -> None:
        """Alerts on different event-time days get different ids."""
        assert alert_id("c1", Zone.RED, T0) != alert_id("c1", Zone.RED, T0 + timedelta(days=1))

    def test_ids_differ_across_zones_and_customers(self) -> None:
        """Zone and customer are part of the id."""
        ids = {
            alert_id("c1", Zone.RED, T0),
            alert_id("c1", Zone.YELLOW, T0),
            alert_id("c2", Zone.RED, T0),
        }
        assert len(ids) == 3


class TestAlertContents:
    def test_value_at_risk_is_score_times_expected_revenue(self) -> None:
        """value_at_risk = score x revenue_90d scaled to the 90-day horizon."""
        assert alerted(T0, RED_SCORE, AlertState.initial()).alert.value_at_risk == 120.0

    def test_more_value_at_risk_outranks_a_higher_score(self) -> None:
        """A yellow customer with more money at risk comes before a red one with less."""
        rich_yellow = _priority(0.5, revenue_90d=400.0)
        poor_red = _priority(0.9, revenue_90d=100.0)
        assert rich_yellow > poor_red

    def test_equal_value_at_risk_is_ordered_by_score(self) -> None:
        """With nothing at risk either way, the higher score comes first."""
        assert _priority(0.9, revenue_90d=0.0) > _priority(0.5, revenue_90d=0.0)

    def test_alert_carries_tier_action_reasons_and_provenance(self) -> None:
        """The alert holds the tier, the playbook action, the reasons and the score source."""
        alert = alerted(T0, RED_SCORE, AlertState.initial()).alert
        assert (
            alert.value_tier,
            alert.recommended_action.code,
            alert.reasons,
            alert.model_version,
            alert.score_source,
            alert.event_time,
            alert.created_at,
            alert.previous_zone,
        ) == (
            ValueTier.HIGH,
            "vip_care",
            (LAPSE,),
            "rules-1",
            ScoreSource.COLD_START_RULES,
            T0,
            CREATED_AT,
            Zone.WHITE,
        )

    def test_alert_without_reasons_gets_the_default_action(self) -> None:
        """A score with no reasons falls back to the playbook default."""
        bare = Score(0.8, (), ScoreSource.ONLINE_MODEL, "river-logreg-900")
        medium = replace(CUSTOMER, revenue_90d=60.0)
        decision = decide(medium, bare, AlertState.initial(), CONFIG, PLAYBOOK, CREATED_AT)
        assert decision is not None
        assert decision.alert.recommended_action.code == "courtesy_call"


class TestAlertStateEncoding:
    @pytest.mark.parametrize(
        "state", [AlertState.initial(), AlertState(Zone.RED, T0), AlertState(Zone.YELLOW, T0)]
    )
    def test_encode_decode_round_trip(self, state: AlertState) -> None:
        """A stored state reads back equal."""
        assert AlertState.decode(state.encode()) == state

    @pytest.mark.parametrize("text", ["", "red", "purple|", "red|yesterday", "red|2026-03-01T09:00"])
    def test_garbage_state_is_rejected(self, text: str) -> None:
        """Unreadable or naive stored states raise AlertStateError."""
        with pytest.raises(AlertStateError):
            AlertState.decode(text)


# Hypothesis: any time-sorted sequence of scores against a brute-force reference.
steps = st.lists(
    st.tuples(st.floats(0.0, 5.0), st.floats(0.0, 1.0), st.booleans()),
    min_size=1,
    max_size=40,
)


class TestAlertSequences:
    @settings(max_examples=300, deadline=None)
    @given(steps=steps)
    def test_no_repeat_within_cooldown_unless_the_zone_rose(
        self, steps: list[tuple[float, float, bool]]
    ) -> None:
        """Consecutive alerts are a cooldown apart unless the later zone is higher."""
        alerts = _run(steps)
        cooldown = timedelta(days=CONFIG.cooldown_days)
        for earlier, later in itertools.pairwise(alerts):
            assert later.zone.rank > earlier.zone.rank or (later.event_time - earlier.event_time >= cooldown)

    @settings(max_examples=300, deadline=None)
    @given(steps=steps)
    def test_alerts_match_the_brute_force_reference(self, steps: list[tuple[float, float, bool]]) -> None:
        """The stateful policy alerts exactly where a rescan of the whole history says it should."""
        assert [(a.event_time, a.zone) for a in _run(steps)] == _reference(steps)

    @settings(max_examples=200, deadline=None)
    @given(steps=steps)
    def test_same_zone_and_day_never_alert_twice(self, steps: list[tuple[float, float, bool]]) -> None:
        """Alert ids are unique within any sequence (one alert per customer, zone and day)."""
        ids = [a.alert_id for a in _run(steps)]
        assert len(ids) == len(set(ids))


def _timeline(steps: list[tuple[float, float, bool]]) -> list[tuple[datetime, float, bool]]:
    """(gap in days, score, churned) steps as absolute, non-decreasing event times."""
    at, timeline = T0, []
    for gap_days, value, churned in steps:
        at += timedelta(days=gap_days)
        timeline.append((at, value, churned))
    return timeline


def _run(steps: list[tuple[float, float, bool]]) -> list[Alert]:
    state, alerts = AlertState.initial(), list[Alert]()
    for at, value, churned in _timeline(steps):
        decision = decide_at(at, value, state, replace(CUSTOMER, churned=churned))
        if decision is not None:
            alerts.append(decision.alert)
            state = decision.state
    return alerts


def _reference(steps: list[tuple[float, float, bool]]) -> list[tuple[datetime, Zone]]:
    """Rescans all earlier alerts: the newest decides whether this snapshot may alert."""
    cooldown = timedelta(days=CONFIG.cooldown_days)
    sent: list[tuple[datetime, Zone]] = []
    for at, value, churned in _timeline(steps):
        zone = zone_for(value, CUSTOMER, CONFIG)
        if churned or zone not in CONFIG.alert_zones:
            continue
        if not sent or zone.rank > sent[-1][1].rank or at - sent[-1][0] >= cooldown:
            sent.append((at, zone))
    return sent
