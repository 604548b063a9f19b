"""Customer attributes in the simulator: they move who churns, reach the events and the truth."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from typer.testing import CliRunner

from cli.main import app
from schemas.events import rfc3339_time
from sim.config import CONTRACT_HEAVY, NEUTRAL_EFFECTS, POPULATIONS, SimConfig, population_config
from sim.population import (
    CHANNELS,
    SECONDS_PER_DAY,
    TRUTH_COLUMNS,
    Population,
    build_population,
    term_end_overlap,
)
from sim.simulate import Simulation, simulate

START = datetime(2025, 11, 3, tzinfo=UTC)
CUSTOMERS, DAYS = 20_000, 120

Mask = npt.NDArray[np.bool_]


def _one_effect(**update: object) -> SimConfig:
    """The default population with every attribute effect neutral but the ones given."""
    return SimConfig(sudden_heavy_share=0.0, effects=NEUTRAL_EFFECTS.model_copy(update=update))


def _fee_ratio(pop: Population) -> npt.NDArray[np.float64]:
    medians = {code: np.median(pop.monthly_fee[pop.segment == code]) for code in np.unique(pop.segment)}
    ratio: npt.NDArray[np.float64] = pop.monthly_fee / np.asarray([medians[code] for code in pop.segment])
    return ratio


def _drop_ratio(pop: Population) -> npt.NDArray[np.float64]:
    ratio: npt.NDArray[np.float64] = pop.area_drop_rate[pop.area] / np.median(pop.area_drop_rate)
    return ratio


def _channels(*names: str) -> Callable[[Population], Mask]:
    codes = [CHANNELS.index(next(c for c in CHANNELS if c.value == name)) for name in names]
    return lambda pop: np.isin(pop.topup_channel, codes)


def _churn_probability(hazard: npt.NDArray[np.float64], share: float) -> npt.NDArray[np.float64]:
    """Each customer's chance to churn when churners are the ``share`` with the smallest
    exponential race times ``E / hazard``: ``1 - exp(-hazard * t)``, ``t`` found by bisection."""
    low, high = 0.0, 100.0
    for _ in range(100):
        middle = (low + high) / 2
        if (1 - np.exp(-hazard * middle)).mean() < share:
            low = middle
        else:
            high = middle
    probability: npt.NDArray[np.float64] = 1.0 - np.exp(-hazard * low)
    return probability


# effect switched on, the customers it should raise, the customers it should lower
EFFECTS: dict[str, tuple[SimConfig, Callable[[Population], Mask], Callable[[Population], Mask]]] = {
    "no_commitment": (
        _one_effect(no_commitment=1.8, committed=0.7),
        lambda pop: pop.commitment_months == 0,
        lambda pop: pop.commitment_months > 0,
    ),
    "term_end": (
        _one_effect(term_end_spike=4.0),
        lambda pop: term_end_overlap(pop.term_end_day, pop.days, pop.config.effects) > 0.9,
        lambda pop: (
            (pop.commitment_months > 0)
            & (term_end_overlap(pop.term_end_day, pop.days, pop.config.effects) == 0)
        ),
    ),
    "short_tenure": (
        _one_effect(tenure_new=2.5, tenure_long=0.6, tenure_decay_years=1.5),
        lambda pop: pop.tenure_years < 1.0,
        lambda pop: pop.tenure_years > 6.0,
    ),
    "manual_channel": (
        _one_effect(
            channel={
                c: {"retail": 1.4, "voucher": 1.6, "auto": 0.6, "bank": 0.7}.get(c.value, 1.0)
                for c in CHANNELS
            }
        ),
        _channels("retail", "voucher"),
        _channels("auto", "bank"),
    ),
    "fee_above_norm": (
        _one_effect(fee_exponent=0.8),
        lambda pop: _fee_ratio(pop) > np.quantile(_fee_ratio(pop), 0.75),
        lambda pop: _fee_ratio(pop) < np.quantile(_fee_ratio(pop), 0.25),
    ),
    "few_bundles": (
        _one_effect(per_bundle=0.6),
        lambda pop: pop.bundled_services == 0,
        lambda pop: pop.bundled_services >= 2,
    ),
    "poor_area_quality": (
        _one_effect(quality_exponent=1.0),
        lambda pop: _drop_ratio(pop) > np.quantile(_drop_ratio(pop), 0.75),
        lambda pop: _drop_ratio(pop) < np.quantile(_drop_ratio(pop), 0.25),
    ),
}


class TestAttributeEffects:
    @pytest.mark.parametrize("effect", sorted(EFFECTS))
    def test_churn_share_rises_with_the_effect_as_configured(self, effect: str) -> None:
        """With only this effect on, the raised group churns more than the lowered one, by the ratio
        the configured hazards give (within 12%)."""
        config, raised_of, lowered_of = EFFECTS[effect]
        pop = build_population(CUSTOMERS, days=DAYS, seed=21, start=START, config=config)
        raised, lowered = raised_of(pop), lowered_of(pop)
        assert raised.sum() > 300
        assert lowered.sum() > 300
        churns = pop.churns()
        expected = _churn_probability(pop.attribute_hazard, config.churn_share)
        observed_ratio = churns[raised].mean() / churns[lowered].mean()
        expected_ratio = expected[raised].mean() / expected[lowered].mean()
        assert expected_ratio > 1.5
        assert observed_ratio == pytest.approx(expected_ratio, rel=0.12)

    def test_neutral_effects_draw_churners_regardless_of_attributes(self) -> None:
        """Without effects every hazard is 1 and committed and uncommitted customers churn alike."""
        pop = build_population(CUSTOMERS, days=DAYS, seed=22, start=START, config=_one_effect())
        assert (pop.attribute_hazard == 1.0).all()
        churns = pop.churns()
        committed = pop.commitment_months > 0
        assert churns[committed].mean() == pytest.approx(churns[~committed].mean(), rel=0.15)

    def test_term_end_churners_leave_inside_the_end_of_term_window(self) -> None:
        """Most churners whose whole end-of-term window lies in history churn inside that window."""
        config, raised_of, _ = EFFECTS["term_end"]
        pop = build_population(CUSTOMERS, days=DAYS, seed=23, start=START, config=config)
        chosen = raised_of(pop) & pop.churns()
        effects = config.effects
        inside = (pop.churn_day[chosen] >= pop.term_end_day[chosen] - effects.term_end_before_days) & (
            pop.churn_day[chosen] <= pop.term_end_day[chosen] + effects.term_end_after_days
        )
        assert chosen.sum() > 100
        assert inside.mean() > 0.7

    def test_default_churn_share_stays_as_configured(self) -> None:
        """Attribute effects change who churns, not how many: 12% of the default population."""
        pop = build_population(CUSTOMERS, days=180, seed=24, start=START)
        assert pop.churns().mean() == pytest.approx(0.12, abs=0.001)


@pytest.fixture(scope="module")
def simulation() -> Simulation:
    return Simulation(1_000, 90, 31, START)


@pytest.fixture(scope="module")
def events(simulation: Simulation) -> list[dict[str, object]]:
    return list(simulation.events())


def _epoch_s(text: object) -> float:
    return datetime.fromisoformat(str(text)).timestamp()


class TestNoWarningChurners:
    def test_no_warning_share_is_the_configured_one(self) -> None:
        """25% of the default population's churners leave without warning (sudden heavy ones included)."""
        pop = build_population(CUSTOMERS, days=DAYS, seed=25, start=START)
        assert pop.no_warning[pop.churns()].mean() == pytest.approx(0.25, abs=0.005)
        assert not pop.no_warning[~pop.churns()].any()

    def test_no_warning_churners_have_no_trajectory(self, simulation: Simulation) -> None:
        """No signal, no strength, no lead: their trajectory starts at the churn itself (sudden ones
        keep their one or two days, with nothing in them)."""
        pop = simulation.population
        quiet = pop.no_warning & pop.churns()
        assert quiet.sum() > 20
        assert (pop.signals[quiet] == 0).all()
        assert (pop.strength[quiet] == 0).all()
        assert (pop.churn_day[quiet] - pop.trajectory_start_day[quiet] <= 2.5).all()

    def test_no_warning_churners_keep_calling_as_before_to_the_end(
        self, simulation: Simulation, events: list[dict[str, object]]
    ) -> None:
        """Pooled, their calls in the last two weeks run at the rate of the four weeks before."""
        pop = simulation.population
        start_s = START.timestamp()
        quiet = np.flatnonzero(pop.no_warning & pop.churns() & (pop.churn_day > 45))
        churn_day = {pop.customer_id(int(i)): float(pop.churn_day[i]) for i in quiet}
        last, before = 0, 0
        seen: set[object] = set()
        for event in events:
            customer = event["customer_id"]
            if event["type"] != "call" or customer not in churn_day or event["event_id"] in seen:
                continue
            seen.add(event["event_id"])
            days_to_churn = (
                churn_day[str(customer)] - (_epoch_s(event["event_time"]) - start_s) / SECONDS_PER_DAY
            )
            last += 0 < days_to_churn <= 14
            before += 14 < days_to_churn <= 42
        assert quiet.shape[0] > 10
        assert last / 14 == pytest.approx(before / 28, rel=0.15)


class TestProfiles:
    def test_every_customer_who_joined_before_history_gets_one_profile_at_go_live(
        self, simulation: Simulation, events: list[dict[str, object]]
    ) -> None:
        """One profile each, at the first second of history, activated before it, with the contract facts."""
        pop = simulation.population
        profiles = [e for e in events if e["type"] == "lifecycle" and e["kind"] == "profile"]
        by_customer = {e["customer_id"]: e for e in profiles}
        standing = {pop.customer_id(int(i)) for i in np.flatnonzero(~pop.joins_during_history())}
        assert len({e["event_id"] for e in profiles}) == len(standing)
        assert set(by_customer) == standing
        for event in by_customer.values():
            assert event["event_time"] == "2025-11-03T00:00:00Z"
            assert event["payment_type"] in ("prepaid", "postpaid")
            assert isinstance(event["plan"], str)
            assert rfc3339_time(event["activated_on"]) <= rfc3339_time(event["event_time"])
            assert event["commitment_months"] in (0, 12, 24)
            assert isinstance(event["monthly_fee"], float)
            assert 0 < event["monthly_fee"] <= 100_000
            assert event["bundled_services"] in (0, 1, 2, 3)

    def test_profiles_match_the_population(
        self, simulation: Simulation, events: list[dict[str, object]]
    ) -> None:
        """A profile's facts are the customer's: commitment, fee, bundles, payment type, activation."""
        pop = simulation.population
        for event in events:
            if event["type"] != "lifecycle" or event["kind"] != "profile":
                continue
            index = int(str(event["customer_id"])[1:])
            assert event["commitment_months"] == pop.commitment_months[index]
            assert event["monthly_fee"] == pytest.approx(pop.monthly_fee[index])
            assert event["bundled_services"] == pop.bundled_services[index]
            assert event["payment_type"] == ("prepaid" if pop.prepaid[index] else "postpaid")
            activated_s = START.timestamp() + pop.activation_day[index] * SECONDS_PER_DAY
            assert _epoch_s(event["activated_on"]) == pytest.approx(activated_s, abs=1.0)

    def test_joiners_are_activated_at_their_join_time_and_say_nothing_before(
        self, simulation: Simulation, events: list[dict[str, object]]
    ) -> None:
        """A joiner's first event in event time is its activation, dated by activated_on; no profile."""
        pop = simulation.population
        joiners = {pop.customer_id(int(i)) for i in np.flatnonzero(pop.joins_during_history())}
        assert len(joiners) > 20
        first: dict[object, dict[str, object]] = {}
        for event in events:
            customer = event["customer_id"]
            if customer in joiners and (
                customer not in first
                or _epoch_s(event["event_time"]) < _epoch_s(first[customer]["event_time"])
            ):
                first[customer] = event
            assert not (customer in joiners and event.get("kind") == "profile")
        assert set(first) == joiners
        for event in first.values():
            assert event["kind"] == "activated"
            assert event["activated_on"] == event["event_time"]
            assert {"commitment_months", "monthly_fee", "bundled_services"} <= set(event)

    def test_plan_changes_carry_the_new_plans_fee(
        self, simulation: Simulation, events: list[dict[str, object]]
    ) -> None:
        """A plan change names the new plan with its price for this customer, and the commitment."""
        pop = simulation.population
        changes = [e for e in events if e["type"] == "lifecycle" and e["kind"] == "plan_changed"]
        assert len(changes) > 20
        for event in changes:
            index = int(str(event["customer_id"])[1:])
            plan = pop.plans.index(str(event["plan"]))
            assert event["monthly_fee"] == pytest.approx(
                round(pop.plan_fees[plan] * pop.fee_factor[index], 2)
            )
            assert event["commitment_months"] == pop.commitment_months[index]

    def test_top_ups_mostly_use_the_customers_usual_channel(
        self, simulation: Simulation, events: list[dict[str, object]]
    ) -> None:
        """At least 80% of top-ups and bill payments go through the customer's usual channel."""
        pop = simulation.population
        usual = [
            event["channel"] == CHANNELS[int(pop.topup_channel[int(str(event["customer_id"])[1:])])].value
            for event in events
            if event["type"] == "topup"
        ]
        assert np.mean(usual) > 0.8

    def test_churn_events_carry_no_profile(self, events: list[dict[str, object]]) -> None:
        """port_out and deactivated records are bare: the facts belong to the customer's last profile."""
        churn = [e for e in events if e["type"] == "lifecycle" and e["kind"] in ("port_out", "deactivated")]
        assert churn
        assert not [e for e in churn if "plan" in e or "activated_on" in e or "monthly_fee" in e]


class TestTruth:
    def test_truth_rows_carry_every_attribute(self, simulation: Simulation, tmp_path: Path) -> None:
        """Every row has the attribute columns filled, with values of the documented kinds."""
        simulation.population.write_truth(tmp_path / "truth.csv")
        with (tmp_path / "truth.csv").open() as handle:
            rows = list(csv.DictReader(handle))
        assert tuple(rows[0]) == TRUTH_COLUMNS
        for column in (
            "commitment_months",
            "monthly_fee",
            "bundled_services",
            "topup_channel",
            "activated_on",
            "no_warning",
            "attribute_hazard",
        ):
            assert all(row[column] != "" for row in rows), column
        assert {row["no_warning"] for row in rows} == {"0", "1"}
        assert all(row["no_warning"] == "0" for row in rows if row["churns"] == "0")
        assert all(float(row["attribute_hazard"]) > 0 for row in rows)
        assert {row["topup_channel"] for row in rows} <= {c.value for c in CHANNELS}
        assert all(
            datetime.fromisoformat(row["activated_on"]) < START
            for row in rows
            if row["tenure_years"] != "0.0"
        )


class TestPopulations:
    def test_the_populations_differ_in_mix_churn_and_effects(self) -> None:
        """contract_heavy is mostly postpaid and committed, churns more, more often without warning."""
        default = build_population(CUSTOMERS, days=DAYS, seed=26, start=START)
        other = build_population(CUSTOMERS, days=DAYS, seed=26, start=START, config=CONTRACT_HEAVY)
        assert {s.name for s in default.config.segments}.isdisjoint({s.name for s in other.config.segments})
        assert (~other.prepaid).mean() > (~default.prepaid).mean() + 0.25
        assert (other.commitment_months > 0).mean() > (default.commitment_months > 0).mean() + 0.25
        assert other.churns().mean() == pytest.approx(0.20, abs=0.001)
        assert default.churns().mean() == pytest.approx(0.12, abs=0.001)
        assert other.no_warning[other.churns()].mean() > default.no_warning[default.churns()].mean() + 0.1
        assert other.config.effects != default.config.effects

    def test_populations_are_chosen_by_name(self) -> None:
        """Each name gives its own configuration, and the config knows its name."""
        assert set(POPULATIONS) == {"default", "contract_heavy"}
        for name in POPULATIONS:
            assert population_config(name).name == name

    def test_the_second_population_keeps_the_event_density(self) -> None:
        """contract_heavy also emits about three events per customer per day."""
        events = list(simulate(400, 30, seed=3, start=START, config=CONTRACT_HEAVY))
        assert 2.4 <= len(events) / (400 * 30) <= 3.4

    def test_same_seed_and_population_give_identical_events(self) -> None:
        """Determinism holds for the second population too."""
        first = list(simulate(150, 15, seed=5, start=START, config=CONTRACT_HEAVY))
        second = list(simulate(150, 15, seed=5, start=START, config=CONTRACT_HEAVY))
        assert first == second
        assert first != list(simulate(150, 15, seed=5, start=START))

    def test_simulate_command_writes_the_named_population(self, tmp_path: Path) -> None:
        """``churnwatch simulate --population contract_heavy`` writes that population's truth."""
        result = CliRunner().invoke(
            app,
            [
                "simulate",
                "--customers",
                "50",
                "--days",
                "3",
                "--population",
                "contract_heavy",
                "--out",
                str(tmp_path),
            ],
        )
        assert result.exit_code == 0, result.output
        with (tmp_path / "truth.csv").open() as handle:
            segments = Counter(row["segment"] for row in csv.DictReader(handle))
        assert set(segments) <= {s.name for s in CONTRACT_HEAVY.segments}

    def test_simulate_command_rejects_an_unknown_population(self, tmp_path: Path) -> None:
        """An unknown name is a usage error naming the choices."""
        result = CliRunner().invoke(
            app,
            ["simulate", "--customers", "5", "--days", "1", "--population", "nope", "--out", str(tmp_path)],
        )
        assert result.exit_code != 0
