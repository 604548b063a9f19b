"""The simulated population: determinism, shares, value concentration, ground truth."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from sim.config import SimConfig
from sim.population import TRUTH_COLUMNS, Decoy, build_population
from sim.simulate import Simulation, simulate

START = datetime(2025, 11, 3, tzinfo=UTC)


class TestDeterminism:
    def test_same_seed_gives_identical_events(self) -> None:
        """Two runs with the same seed emit the same events in the same order."""
        first = list(simulate(150, 20, seed=3, start=START))
        second = list(simulate(150, 20, seed=3, start=START))
        assert first == second

    def test_different_seeds_give_different_events(self) -> None:
        """Another seed gives another stream."""
        first = list(simulate(150, 10, seed=3, start=START))
        second = list(simulate(150, 10, seed=4, start=START))
        assert first != second


class TestPopulationShares:
    def test_churn_share_matches_the_configuration(self) -> None:
        """The share of churners is the configured one, to the customer."""
        population = build_population(
            10_000, days=120, seed=1, start=START, config=SimConfig(churn_share=0.1)
        )
        assert population.churns().mean() == pytest.approx(0.1, abs=0.001)

    def test_segment_mix_follows_segment_shares(self) -> None:
        """Each segment's share of customers is within 1.5 points of its configured share."""
        config = SimConfig()
        population = build_population(20_000, days=60, seed=2, start=START, config=config)
        observed = np.bincount(population.segment, minlength=len(config.segments)) / population.size
        for segment, share in zip(config.segments, observed, strict=True):
            assert share == pytest.approx(segment.share, abs=0.015), segment.name

    def test_churn_happens_inside_the_horizon_after_the_trajectory_starts(self) -> None:
        """Every churner churns before the end of history, after its trajectory began if it has one."""
        population = build_population(5_000, days=90, seed=5, start=START)
        churners = population.churns()
        warned = churners & ~population.no_warning
        assert (population.churn_day[churners] < 90).all()
        assert (population.trajectory_start_day[warned] < population.churn_day[warned]).all()
        assert (population.trajectory_start_day[churners] <= population.churn_day[churners]).all()

    def test_lead_times_vary_within_the_configured_range(self) -> None:
        """Regular churners' lead times (warned, joined before history) spread over the configured range."""
        config = SimConfig(lead_days=(14.0, 56.0))
        population = build_population(5_000, days=120, seed=6, start=START, config=config)
        regular = population.churns() & (population.decoy != Decoy.SUDDEN_HEAVY) & ~population.no_warning
        regular &= ~population.joins_during_history()
        lead = population.churn_day[regular] - population.trajectory_start_day[regular]
        assert lead.min() >= 14.0
        assert lead.max() <= 56.0
        assert lead.std() > 8.0

    def test_sudden_heavy_churners_are_heavy_callers(self) -> None:
        """Customers who churn with little warning come from the top decile of call rates."""
        population = build_population(10_000, days=120, seed=7, start=START)
        sudden = population.decoy == Decoy.SUDDEN_HEAVY
        assert sudden.sum() > 0
        assert population.call_rate[sudden].min() >= np.quantile(population.call_rate, 0.9)


class TestTruthFile:
    def test_truth_has_one_row_per_customer_with_the_documented_columns(self, tmp_path: Path) -> None:
        """truth.csv lists every customer once with the documented columns."""
        population = build_population(300, days=60, seed=8, start=START)
        population.write_truth(tmp_path / "truth.csv")
        with (tmp_path / "truth.csv").open() as handle:
            rows = list(csv.DictReader(handle))
        assert tuple(rows[0]) == TRUTH_COLUMNS
        assert len({row["customer_id"] for row in rows}) == 300

    def test_truth_churn_times_match_the_lifecycle_events(self, tmp_path: Path) -> None:
        """Each churner's churn_time in truth.csv is the event time of its port_out/deactivated."""
        simulation = Simulation(400, 60, 9, START)
        simulation.population.write_truth(tmp_path / "truth.csv")
        with (tmp_path / "truth.csv").open() as handle:
            truth = {row["customer_id"]: row for row in csv.DictReader(handle) if row["churns"] == "1"}
        churn_events = {
            e["customer_id"]: e
            for e in simulation.events()
            if e["type"] == "lifecycle" and e["kind"] in ("port_out", "deactivated")
        }
        assert set(churn_events) == set(truth)
        for customer_id, event in churn_events.items():
            assert event["event_time"] == truth[customer_id]["churn_time"]
            assert event["kind"] == truth[customer_id]["churn_kind"]
