"""The daily capacity: budgets split without exceeding N or the share of the base, at most that a day,
the day's best kept, the same after a restart."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from policy.capacity import bucket, choose, close_day, day_bar, expected_priorities
from policy.capacity_budget import (
    DEFAULT_BASE_SHARE_30D,
    LABEL_HORIZON_DAYS,
    MAX_CARRY,
    CapacityConfig,
    carried,
    group_budget,
    share_budget,
)
from policy.capacity_state import (
    HOURS,
    Candidate,
    CapacityState,
    ClosedDay,
    day_summary,
    decode,
    encode_closed,
    encode_today,
)
from schemas.event_days import DAY_S
from schemas.outputs import ValueTier
from streams.settings import Settings

FIRST_DAY = 20_514  # 2026-03-02


def at(day: int, hour: float) -> datetime:
    return datetime.fromtimestamp(day * DAY_S + hour * 3600, UTC)


def replay_days(
    seed: int,
    days: int,
    per_day: int,
    budget: int,
    sigma: float,
    drift: float = 1.0,
    base_share: CapacityConfig | None = None,
) -> tuple[list[int], list[float]]:
    """One group's days of hourly batches and a day-end sweep: sent per day and top-N share per day.

    Candidates per day vary around ``per_day``; priorities are log-normal (scaled by
    ``drift`` each day), arrivals peak in the afternoon and 15 % come with the sweep.
    With ``base_share`` (a config by share of the base), ``budget`` is the group's active
    base instead, and each day's budget comes from the config and the state, as in the worker.
    """
    rng = random.Random(seed)
    state = CapacityState.empty()
    sent_per_day, shares = [], []
    for offset in range(days):
        day = FIRST_DAY + offset
        budgets = {"all": budget}
        if base_share is not None:
            budgets = base_share.budgets(0, 1, day, state.base, state.carry)
        count = max(1, round(rng.gauss(per_day, math.sqrt(per_day))))
        batches: dict[int, list[Candidate]] = {}
        for index in range(count):
            hour = 24 if rng.random() < 0.15 else min(max(int(rng.gauss(14, 4)), 0), 23)
            priority = rng.lognormvariate(3.0, sigma) * drift**offset
            batches.setdefault(hour, []).append(Candidate(f"{day}-{index}", priority, "all"))
        sent: set[str] = set()
        for hour in sorted(batches):
            moment = at(day, min(hour, 24) - 1e-9 if hour == 24 else hour + 0.5)
            state, chosen = choose(state, budgets, batches[hour], moment, last_of_day=hour == 24)
            sent |= chosen
        if base_share is None:
            state, _ = close_day(state, day, budgets, 7)
        else:
            carry = base_share.carry_after(state.base, state.carry, state.lane("all").today.sent)
            state, _ = close_day(state, day, budgets, 7, budget, carry)
        everyone = [c for batch in batches.values() for c in batch]
        ranked = sorted((c.priority for c in everyone), reverse=True)
        day_budget = budgets["all"]
        if day_budget:
            nth = ranked[min(day_budget, len(ranked)) - 1]
            hits = sum(1 for c in everyone if c.key in sent and c.priority >= nth)
            shares.append(min(hits, day_budget) / min(day_budget, len(ranked)))
        sent_per_day.append(len(sent))
    return sent_per_day, shares


class TestGroupBudget:
    @given(st.integers(0, 10_000), st.integers(1, 64), st.integers(0, 40_000))
    def test_shares_add_up_to_the_total_every_day(self, total: int, partitions: int, day: int) -> None:
        """Whatever N, group count and day, the groups' shares sum to N and differ by at most one."""
        shares = [group_budget(total, p, partitions, day) for p in range(partitions)]
        assert sum(shares) == total
        assert max(shares) - min(shares) <= 1


class TestConfig:
    def test_tiers_with_a_budget_have_their_own_lane(self) -> None:
        """Key customers draw on their tier's budget, the others on the shared one."""
        config = CapacityConfig(daily_alerts=8, per_tier={ValueTier.KEY: 4})
        assert config.budgets(0, 4, FIRST_DAY).keys() == {"all", "key"}
        assert sum(config.budgets(p, 4, FIRST_DAY)["key"] for p in range(4)) == 4

    def test_share_of_base_off_and_no_daily_alerts_is_uncapped(self) -> None:
        """With the share of the base turned off and no absolute capacity, every alert goes out."""
        assert not CapacityConfig(base_share_30d=None).enabled
        assert CapacityConfig(base_share_30d=None).lane(ValueTier.HIGH) is None

    def test_the_default_caps_every_tier_by_share_of_the_base(self) -> None:
        """By default the operating point is on: every tier draws on the shared lane, by share."""
        config = CapacityConfig()
        assert config.enabled
        assert config.by_base_share
        assert config.base_share_30d == DEFAULT_BASE_SHARE_30D
        assert {config.lane(tier) for tier in ValueTier} == {"all"}

    def test_an_absolute_daily_capacity_takes_precedence_over_the_share(self) -> None:
        """With daily_alerts set, the groups' budgets add up to it, whatever the base."""
        config = CapacityConfig(daily_alerts=8, base_share_30d=0.5)
        assert not config.by_base_share
        assert sum(config.budgets(p, 4, FIRST_DAY, base=100_000)["all"] for p in range(4)) == 8
        assert config.carry_after(100_000, 0.0, 0) == 0.0

    @pytest.mark.parametrize("share", [0.0, -0.1, 1.01, math.nan])
    def test_a_share_outside_zero_to_one_is_rejected(self, share: float) -> None:
        with pytest.raises(ValidationError, match="base_share_30d"):
            CapacityConfig(base_share_30d=share)

    def test_the_whole_base_is_a_valid_share(self) -> None:
        assert CapacityConfig(base_share_30d=1.0).budgets(0, 4, FIRST_DAY, base=300) == {"all": 10}

    def test_a_groups_first_day_sends_nothing_by_share(self) -> None:
        """Before a group's first day closes its base is unknown: its budget is zero."""
        assert CapacityConfig(base_share_30d=0.2).budgets(0, 4, FIRST_DAY, base=None) == {"all": 0}


class TestSettings:
    """The operating point as the worker reads it, from ``CHURNWATCH_POLICY__CAPACITY__*``."""

    def test_the_worker_defaults_to_the_share_of_the_base(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("CHURNWATCH_POLICY__CAPACITY__BASE_SHARE_30D", raising=False)
        monkeypatch.delenv("CHURNWATCH_POLICY__CAPACITY__DAILY_ALERTS", raising=False)
        assert Settings().policy.capacity.by_base_share

    def test_a_share_from_the_environment_is_used(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CHURNWATCH_POLICY__CAPACITY__BASE_SHARE_30D", "0.03")
        assert Settings().policy.capacity.base_share_30d == 0.03

    @pytest.mark.parametrize("share", ["0", "1.5", "-0.2"])
    def test_a_share_outside_zero_to_one_stops_the_worker(
        self, monkeypatch: pytest.MonkeyPatch, share: str
    ) -> None:
        monkeypatch.setenv("CHURNWATCH_POLICY__CAPACITY__BASE_SHARE_30D", share)
        with pytest.raises(ValidationError, match="base_share_30d"):
            Settings()

    def test_off_without_daily_alerts_is_uncapped(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CHURNWATCH_POLICY__CAPACITY__BASE_SHARE_30D", "off")
        monkeypatch.delenv("CHURNWATCH_POLICY__CAPACITY__DAILY_ALERTS", raising=False)
        assert not Settings().policy.capacity.enabled

    def test_daily_alerts_from_the_environment_take_precedence(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Both set: the absolute capacity decides, the groups' budgets adding up to it."""
        monkeypatch.setenv("CHURNWATCH_POLICY__CAPACITY__BASE_SHARE_30D", "0.5")
        monkeypatch.setenv("CHURNWATCH_POLICY__CAPACITY__DAILY_ALERTS", "40")
        config = Settings().policy.capacity
        assert not config.by_base_share
        assert sum(config.budgets(p, 4, FIRST_DAY, base=1_000_000)["all"] for p in range(4)) == 40


class TestShareBudget:
    @given(
        share=st.floats(0.001, 1.0),
        days=st.lists(st.tuples(st.integers(0, 200_000), st.floats(0.0, 1.0)), min_size=1, max_size=60),
    )
    def test_alerts_sent_stay_within_the_share_of_the_bases(
        self, share: float, days: list[tuple[int, float]]
    ) -> None:
        """Whatever part of each day's budget is sent, the alerts over the days stay within
        share / 30 of the summed bases, and no day's budget exceeds its own share by more than one."""
        carry, total = 0.0, 0
        for base, spent in days:
            budget, allowance = share_budget(share, base, carry)
            assert 0 <= budget <= share * base / LABEL_HORIZON_DAYS + MAX_CARRY + 1e-6
            sent = math.floor(spent * budget)
            carry = carried(allowance, sent)
            assert 0.0 <= carry <= MAX_CARRY
            total += sent
        assert total <= share * sum(base for base, _ in days) / LABEL_HORIZON_DAYS + 1e-6

    @given(share=st.floats(0.001, 1.0), bases=st.lists(st.integers(0, 200_000), min_size=1, max_size=60))
    def test_spending_every_budget_falls_short_of_the_share_by_less_than_one_alert(
        self, share: float, bases: list[int]
    ) -> None:
        carry, total = 0.0, 0
        for base in bases:
            budget, allowance = share_budget(share, base, carry)
            carry = carried(allowance, budget)
            total += budget
        assert total > share * sum(bases) / LABEL_HORIZON_DAYS - 1.0

    def test_a_small_group_sends_one_alert_every_few_days(self) -> None:
        """150 customers at a 10 % share make half an alert a day: one every other day."""
        carry, budgets = 0.0, []
        for _ in range(6):
            budget, allowance = share_budget(0.1, 150, carry)
            carry = carried(allowance, budget)
            budgets.append(budget)
        assert budgets == [0, 1, 0, 1, 0, 1]

    def test_an_unspent_alert_waits_for_a_candidate_but_does_not_pile_up(self) -> None:
        """With no candidate, the budget of one stays one day after day, never two."""
        carry, budgets = 0.0, []
        for _ in range(6):
            budget, allowance = share_budget(0.1, 150, carry)
            carry = carried(allowance, 0)
            budgets.append(budget)
        assert budgets == [0, 1, 1, 1, 1, 1]


class TestChoose:
    def test_no_budget_left_holds_everything(self) -> None:
        """Once the day's budget is spent, later candidates are held, however high."""
        state, sent = choose(
            CapacityState.empty(), {"all": 1}, [Candidate("a", 5.0, "all")], at(FIRST_DAY, 9), True
        )
        state, later = choose(state, {"all": 1}, [Candidate("b", 500.0, "all")], at(FIRST_DAY, 10), True)
        assert sent == {"a"}
        assert later == frozenset()
        assert (state.lanes["all"].today.sent, state.lanes["all"].today.held_back) == (1, 1)

    def test_a_late_candidate_of_a_closed_day_is_held(self) -> None:
        """A candidate dated on a day already closed is held and counted on the open day."""
        state, _ = close_day(CapacityState.empty(), FIRST_DAY, {"all": 5}, 7)
        state, sent = choose(
            state, {"all": 5}, [Candidate("late", 9.0, "all", FIRST_DAY)], at(FIRST_DAY + 1, 1), True
        )
        assert sent == frozenset()
        assert state.lanes["all"].today.held_back == 1

    def test_the_same_stream_gives_the_same_choices(self) -> None:
        """Deterministic: a replay of the same candidates sends the same alerts."""
        assert replay_days(3, 5, 60, 10, 1.0) == replay_days(3, 5, 60, 10, 1.0)

    def test_the_state_survives_encoding(self) -> None:
        """What Redis holds (open day and closed days) decodes to the same choices."""
        state = CapacityState.empty()
        for offset in range(3):
            day = FIRST_DAY + offset
            batch = [Candidate(f"{day}-{i}", float(i + 1), "all") for i in range(20)]
            state, _ = choose(state, {"all": 4}, batch, at(day, 12))
            state, _ = close_day(state, day, {"all": 4}, 2)
        batch = [Candidate("x", 15.0, "all"), Candidate("y", 3.0, "all")]
        state, _ = choose(state, {"all": 4}, batch, at(FIRST_DAY + 3, 8))
        closed = {d: encode_closed(state, d) for d in (FIRST_DAY + 1, FIRST_DAY + 2)}
        restored = decode(encode_today(state), closed)
        assert restored == state
        later = [Candidate("z", 12.0, "all")]
        assert choose(restored, {"all": 4}, later, at(FIRST_DAY + 3, 9)) == choose(
            state, {"all": 4}, later, at(FIRST_DAY + 3, 9)
        )


class TestShareOfBaseCapacity:
    CONFIG = CapacityConfig(base_share_30d=0.15)
    BASE = 120_000  # 600 alerts a day: a sixth of about 1,000 candidates

    def test_each_day_sends_at_most_its_share_and_keeps_the_best(self) -> None:
        """By share of the base: never more than the day's budget (none on the first day), and
        after a week the sent alerts hold 90 % of each day's top N on average, 80 % on any day."""
        sent, shares = replay_days(11, 14, 1000, self.BASE, 1.0, base_share=self.CONFIG)
        budget = round(0.15 * self.BASE / 30)
        assert sent[0] == 0
        assert max(sent) <= budget + MAX_CARRY
        assert sum(sent) <= 13 * budget
        steady = shares[7:]
        assert sum(steady) / len(steady) >= 0.9, shares
        assert min(steady) >= 0.8, shares

    def test_the_same_stream_gives_the_same_choices(self) -> None:
        """Deterministic in event time: a replay of the same candidates and bases sends the same."""
        first = replay_days(4, 6, 300, 40_000, 1.0, base_share=self.CONFIG)
        assert first == replay_days(4, 6, 300, 40_000, 1.0, base_share=self.CONFIG)

    @settings(max_examples=25, deadline=None)
    @given(
        bases=st.lists(st.integers(0, 5_000), min_size=2, max_size=8),
        restart_after=st.integers(0, 7),
        seed=st.integers(0, 1_000),
    )
    def test_a_restart_from_the_stored_state_sends_the_same(
        self, bases: list[int], restart_after: int, seed: int
    ) -> None:
        """A group restarted from what Redis holds (base and carry included) at any day's end
        sends exactly what an uninterrupted run sends."""
        rng = random.Random(seed)
        days = [
            [Candidate(f"{d}-{i}", rng.lognormvariate(2.0, 1.0), "all") for i in range(rng.randint(0, 40))]
            for d in range(len(bases))
        ]

        def run(restart: int | None) -> list[frozenset[str]]:
            state, sent = CapacityState.empty(), []
            for offset, (base, batch) in enumerate(zip(bases, days, strict=True)):
                day = FIRST_DAY + offset
                budgets = self.CONFIG.budgets(0, 1, day, state.base, state.carry)
                state, chosen = choose(state, budgets, batch, at(day, 12), last_of_day=True)
                sent.append(chosen)
                assert len(chosen) <= budgets["all"]
                carry = self.CONFIG.carry_after(state.base, state.carry, len(chosen))
                state, _ = close_day(state, day, budgets, 7, base, carry)
                if offset == restart:
                    closed = {d: encode_closed(state, d) for d in range(day - 6, day + 1)}
                    state = decode(encode_today(state), closed)
            return sent

        assert run(restart_after) == run(None)


class TestExpectedPriorities:
    def test_each_older_day_weighs_half_as_much(self) -> None:
        """Priorities drift, so yesterday counts twice the day before."""
        older = ClosedDay(FIRST_DAY, {bucket(1.0): 30}, (0,) * HOURS)
        newer = ClosedDay(FIRST_DAY + 1, {bucket(4.0): 10}, (0,) * HOURS)
        expected = expected_priorities([older, newer], {})
        assert math.isclose(expected[bucket(1.0)], 1 / 3)
        assert math.isclose(expected[bucket(4.0)], 2 / 3)

    def test_today_so_far_weighs_as_its_count_against_a_recent_day(self) -> None:
        """A quarter of a day's candidates seen today make a fifth of the expectation."""
        recent = ClosedDay(FIRST_DAY, {bucket(1.0): 40}, (0,) * HOURS)
        expected = expected_priorities([recent], {bucket(8.0): 10})
        assert math.isclose(expected[bucket(8.0)], 0.2)
        assert math.isclose(sum(expected.values()), 1.0)

    def test_without_history_today_is_all_there_is(self) -> None:
        assert expected_priorities([], {bucket(2.0): 3}) == {bucket(2.0): 1.0}


class TestDayBar:
    TODAY = {bucket(float(p)): 1 for p in range(1, 11)}  # one candidate at each of 1..10
    LATER = {index: 0.1 for index in TODAY}  # later ones alike

    def test_a_candidate_above_the_days_cut_off_passes_though_the_budget_runs_ahead(self) -> None:
        """Half the budget spent with a tenth of the day seen: pacing alone would hold a 9,
        but it is among the day's best 20 of 100, so the bar is the day's cut-off."""
        bar = day_bar(self.TODAY, self.LATER, 1, 90.0, 20, 10)
        assert 8.0 < bar <= 9.0

    def test_the_bar_falls_when_the_budget_is_ahead_of_the_day(self) -> None:
        """Nothing sent and few still to come: the bar drops below the day's cut-off."""
        assert day_bar(self.TODAY, self.LATER, 1, 5.0, 8, 0) < day_bar(self.TODAY, self.LATER, 1, 5.0, 8, 6)
        assert day_bar(self.TODAY, self.LATER, 1, 5.0, 8, 0) < 3.0

    def test_nothing_passes_once_the_budget_is_spent(self) -> None:
        assert day_bar(self.TODAY, self.LATER, 1, 5.0, 8, 8) == math.inf


class TestHourProfile:
    def test_a_first_day_unlike_the_others_does_not_set_the_pace(self) -> None:
        """Day one's candidates all came at midnight (a launch); on day two the profile would
        say nothing more is coming after 1 am, and the whole budget would go to the first
        hour. With fewer than three closed days, today's rate so far is the guide instead."""
        launch = [Candidate(f"launch-{i}", float(i + 1), "all") for i in range(200)]
        state, _ = choose(CapacityState.empty(), {"all": 50}, launch, at(FIRST_DAY, 0))
        state, _ = close_day(state, FIRST_DAY, {"all": 50}, 7)
        early = [Candidate(f"early-{i}", float(i + 1), "all") for i in range(10)]
        _, sent = choose(state, {"all": 50}, early, at(FIRST_DAY + 1, 1.5))
        assert len(sent) < 10


class TestDaySummary:
    def test_the_summary_counts_sent_and_held_per_lane(self) -> None:
        """A closed day's record adds up its lanes and has the same id on every replay."""
        batch = [Candidate("a", 5.0, "all"), Candidate("b", 1.0, "all"), Candidate("c", 9.0, "key")]
        budgets = {"all": 1, "key": 0}
        state, _ = choose(CapacityState.empty(), budgets, batch, at(FIRST_DAY, 23.5), True)
        _, lanes = close_day(state, FIRST_DAY, budgets, 7)
        record = day_summary(2, 4, FIRST_DAY, lanes)
        assert (record.sent, record.held_back) == (1, 2)
        assert [(lane.lane, lane.sent, lane.held_back) for lane in record.lanes] == [
            ("all", 1, 1),
            ("key", 0, 1),
        ]
        assert record.summary_id == day_summary(2, 4, FIRST_DAY, lanes).summary_id


class TestStreamingChoice:
    @settings(max_examples=15, deadline=None)
    @given(
        seed=st.integers(0, 10_000),
        per_day=st.integers(600, 1200),
        budget_share=st.floats(0.15, 0.4),
        sigma=st.floats(0.5, 1.5),
    )
    def test_stationary_days_send_at_most_n_and_keep_the_best(
        self, seed: int, per_day: int, budget_share: float, sigma: float
    ) -> None:
        """On stationary streams: never more than N a day; once a week of history is in, the sent
        alerts hold at least 90 % of the days' top N on average and 80 % on any day."""
        budget = round(per_day * budget_share)
        sent, shares = replay_days(seed, 14, per_day, budget, sigma)
        assert max(sent) <= budget
        steady = shares[7:]
        assert sum(steady) / len(steady) >= 0.9, shares
        assert min(steady) >= 0.8, shares

    def test_rising_priorities_still_respect_the_budget_and_keep_most_of_the_best(self) -> None:
        """Non-stationary: priorities up 10 % a day make older days' bars too low; the budget
        holds, and with the latest days weighing most the share stays at 90 % on average
        (measured 0.92; 0.83 when every recent day weighed alike), below the stationary 0.95."""
        sent, shares = replay_days(5, 14, 800, 160, 1.0, drift=1.1)
        assert max(sent) <= 160
        assert sum(shares[7:]) / 7 >= 0.9
        assert sum(shares[7:]) / 7 < sum(replay_days(5, 14, 800, 160, 1.0)[1][7:]) / 7
