"""Simulated events: contract validity, disorder bounds, duplicates, behaviour of churners and decoys."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import numpy as np
import orjson
import pytest

from schemas.events import EventType
from schemas.parsing import Rejection, parse_events
from sim.population import SECONDS_PER_DAY, Decoy, Signal
from sim.simulate import Simulation

START = datetime(2025, 11, 3, tzinfo=UTC)


@pytest.fixture(scope="module")
def simulation() -> Simulation:
    return Simulation(1_500, 120, 11, START)


@pytest.fixture(scope="module")
def events(simulation: Simulation) -> list[dict[str, object]]:
    return list(simulation.events())


def _epoch_s(event: dict[str, object]) -> float:
    return datetime.fromisoformat(str(event["event_time"])).timestamp()


def _day(event: dict[str, object]) -> int:
    return int((_epoch_s(event) - START.timestamp()) // SECONDS_PER_DAY)


class TestContract:
    def test_every_event_validates_against_its_contract(self, events: list[dict[str, object]]) -> None:
        """Each emitted dict, as JSON, meets the contract of its ``type``, go-live profiles included."""
        for event_type in EventType:
            values = [orjson.dumps(event) for event in events if event["type"] == event_type.value]
            assert not [
                parsed for parsed in parse_events(values, event_type) if isinstance(parsed, Rejection)
            ]

    def test_every_customer_opens_with_a_profile_or_an_activation(
        self, events: list[dict[str, object]]
    ) -> None:
        """A customer's first event is its go-live profile or its activation, with payment type and plan."""
        first: dict[object, dict[str, object]] = {}
        for event in events:
            first.setdefault(event["customer_id"], event)
        assert len(first) == 1_500
        opening = [e for e in first.values() if e["kind"] in ("profile", "activated")]
        assert len(opening) == len(first)
        assert all("payment_type" in e and "plan" in e for e in opening)

    def test_density_is_a_few_events_per_customer_per_day(self, events: list[dict[str, object]]) -> None:
        """The default population emits 2-4 events per customer per day, mostly calls."""
        per_customer_day = len(events) / (1_500 * 120)
        calls = sum(1 for e in events if e["type"] == "call")
        assert 2.0 <= per_customer_day <= 4.0
        assert calls / len(events) > 0.9


class TestDisorder:
    def test_late_events_are_a_small_share(self, events: list[dict[str, object]]) -> None:
        """Between 2% and 6% of events arrive after a later event (late arrivals and duplicates)."""
        latest = 0.0
        late = 0
        for event in events:
            moment = _epoch_s(event)
            late += moment < latest
            latest = max(latest, moment)
        assert 0.02 <= late / len(events) <= 0.06

    def test_only_a_few_events_exceed_the_allowed_lateness(self, events: list[dict[str, object]]) -> None:
        """0.1-0.4% of events are later than 3 days, and none later than twice that."""
        latest = 0.0
        lateness: list[float] = []
        for event in events:
            moment = _epoch_s(event)
            lateness.append(latest - moment)
            latest = max(latest, moment)
        too_late = np.asarray(lateness) > 3 * SECONDS_PER_DAY
        assert 0.001 <= too_late.mean() <= 0.004
        assert max(lateness) <= 6 * SECONDS_PER_DAY

    def test_churn_events_are_never_too_late(self, events: list[dict[str, object]]) -> None:
        """Lifecycle events arrive within the allowed lateness, so labels are not lost."""
        latest = 0.0
        for event in events:
            moment = _epoch_s(event)
            if event["type"] == "lifecycle":
                assert latest - moment <= 3 * SECONDS_PER_DAY
            latest = max(latest, moment)

    def test_duplicates_are_exact_copies_at_the_configured_share(
        self, events: list[dict[str, object]]
    ) -> None:
        """About 0.5% of events repeat an event_id, always with identical content."""
        by_id: dict[object, dict[str, object]] = {}
        repeats = 0
        for event in events:
            seen = by_id.setdefault(event["event_id"], event)
            if seen is not event:
                repeats += 1
                assert seen == event
        assert repeats / len(events) == pytest.approx(0.005, abs=0.0015)


def _daily(events: list[dict[str, object]], kind: str, field: str | None) -> dict[object, dict[int, float]]:
    """Per customer and day of history: count (or sum of ``field``) of ``kind`` events, deduplicated."""
    totals: dict[object, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    seen: set[object] = set()
    for event in events:
        if event["type"] != kind or event["event_id"] in seen:
            continue
        seen.add(event["event_id"])
        value = float(str(event[field])) if field else 1.0
        totals[event["customer_id"]][_day(event)] += value
    return totals


def _rate(days: dict[int, float], first: float, last: float) -> float:
    return sum(v for d, v in days.items() if first <= d < last) / max(last - first, 1.0)


class TestChurnersAndDecoys:
    def test_usage_declines_before_churn_against_own_baseline(
        self, simulation: Simulation, events: list[dict[str, object]]
    ) -> None:
        """Churners with a usage signal call far less in their last two weeks than before the trajectory."""
        pop = simulation.population
        calls = _daily(events, "call", None)
        ratios = []
        for index in np.flatnonzero(pop.churns() & ((pop.signals & Signal.USAGE) != 0)):
            start, churn = pop.trajectory_start_day[index], pop.churn_day[index]
            if start < 21:
                continue
            days = calls[pop.customer_id(int(index))]
            baseline = _rate(days, start - 21, start)
            if baseline > 0:
                ratios.append(_rate(days, churn - 14, churn) / baseline)
        assert len(ratios) > 20
        assert np.median(ratios) < 0.6

    def test_topups_fade_before_churn_against_own_baseline(
        self, simulation: Simulation, events: list[dict[str, object]]
    ) -> None:
        """Prepaid churners with a top-up signal spend, pooled, at most 80% of their pre-trajectory rate."""
        pop = simulation.population
        topups = _daily(events, "topup", "amount")
        baseline_spend, trajectory_spend, trajectory_days, churners = 0.0, 0.0, 0.0, 0
        chosen = pop.churns() & pop.prepaid & ((pop.signals & Signal.TOPUPS) != 0)
        for index in np.flatnonzero(chosen):
            start, churn = pop.trajectory_start_day[index], pop.churn_day[index]
            if start < 45:
                continue
            days = topups[pop.customer_id(int(index))]
            baseline_spend += _rate(days, start - 45, start)
            trajectory_spend += _rate(days, start, churn) * (churn - start)
            trajectory_days += churn - start
            churners += 1
        assert churners > 10
        assert (trajectory_spend / trajectory_days) / (baseline_spend / churners) < 0.8

    def test_dip_decoys_recover_after_the_dip(
        self, simulation: Simulation, events: list[dict[str, object]]
    ) -> None:
        """Dip-and-recover customers call less during the dip and return to their level afterwards."""
        pop = simulation.population
        calls = _daily(events, "call", None)
        during, after = [], []
        for index in np.flatnonzero(pop.decoy == Decoy.DIP_RECOVER):
            begin, end = pop.decoy_start_day[index], pop.decoy_end_day[index]
            if begin < 14 or end > 106:
                continue
            days = calls[pop.customer_id(int(index))]
            baseline = _rate(days, begin - 14, begin)
            if baseline > 0:
                during.append(_rate(days, begin + 1, end - 1) / baseline)
                after.append(_rate(days, end + 1, end + 14) / baseline)
        assert len(during) > 10
        assert np.median(during) < 0.7
        assert np.median(after) > 0.8

    def test_outage_raises_dropped_calls_and_network_complaints_in_its_area(
        self, simulation: Simulation, events: list[dict[str, object]]
    ) -> None:
        """During an outage the area's dropped-call share and network complaints jump, then fall back."""
        pop = simulation.population
        outage = pop.outages[0]
        in_area = {pop.customer_id(int(i)) for i in np.flatnonzero(pop.area == outage.area)}
        window = range(int(np.ceil(outage.start_day)), int(outage.end_day))
        calls_in, drops_in, calls_out, drops_out, complaints_in = 0, 0, 0, 0, 0
        for event in events:
            if event["customer_id"] not in in_area:
                continue
            inside = _day(event) in window
            if event["type"] == "call":
                calls_in += inside
                drops_in += inside and bool(event["dropped"])
                calls_out += not inside
                drops_out += (not inside) and bool(event["dropped"])
            elif event["type"] == "complaint" and event["category"] == "network":
                complaints_in += inside
        assert drops_in / calls_in > 3 * drops_out / calls_out
        assert complaints_in >= 0.03 * len(in_area) * len(window)
