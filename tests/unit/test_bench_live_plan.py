"""The live phase's plan: busy calls everywhere, sparse topics in bursts with idle partitions."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from bench.live import customers_by_partition
from bench.live_plan import LiveMix, PlannedEvent, SparseShape, live_plan, longest_silence_s
from sim.kafka_producer import partition_of

PARTITIONS, SECONDS, RATE_EPS = 4, 240.0, 200.0
CUSTOMERS = customers_by_partition([f"C{number:07d}" for number in range(2_000)], PARTITIONS)


@pytest.fixture(scope="module")
def plan() -> list[PlannedEvent]:
    return live_plan(RATE_EPS, SECONDS, CUSTOMERS, LiveMix(), seed=3)


def silences(plan: list[PlannedEvent], event_type: str) -> dict[int, float]:
    times: dict[int, list[float]] = defaultdict(list)
    for event in plan:
        if event.event_type == event_type:
            times[event.partition].append(event.at_s)
    return {partition: longest_silence_s(times[partition], 0.0, SECONDS) for partition in range(PARTITIONS)}


class TestLivePlan:
    def test_plan_offers_the_rate_over_the_phase_in_send_order(self, plan: list[PlannedEvent]) -> None:
        """rate x seconds events, all within the phase, sorted by send offset."""
        assert len(plan) == RATE_EPS * SECONDS
        offsets = [event.at_s for event in plan]
        assert offsets == sorted(offsets)
        assert offsets[0] >= 0.0
        assert offsets[-1] < SECONDS

    def test_topic_shares_follow_the_mix(self, plan: list[PlannedEvent]) -> None:
        """Each sparse topic gets its share; calls get the rest."""
        counts = Counter(event.event_type for event in plan)
        for event_type, shape in LiveMix().sparse.items():
            assert counts[event_type] == round(len(plan) * shape.share)
        assert counts["call"] == len(plan) - sum(counts[name] for name in LiveMix().sparse)
        assert counts["call"] / len(plan) > 0.95

    def test_calls_are_busy_on_every_partition(self, plan: list[PlannedEvent]) -> None:
        """No call partition is silent for more than a few seconds."""
        assert max(silences(plan, "call").values()) < 1.0

    def test_every_sparse_topic_has_a_partition_idle_for_minutes(self, plan: list[PlannedEvent]) -> None:
        """Each sparse topic leaves some partition silent for at least two minutes."""
        for event_type in LiveMix().sparse:
            assert max(silences(plan, event_type).values()) >= 120.0, event_type

    def test_bursting_partitions_fall_silent_between_bursts(self, plan: list[PlannedEvent]) -> None:
        """Every top-up partition that sends also falls silent for more than 90 s in the phase."""
        shape = LiveMix().sparse["topup"]
        sending = {event.partition for event in plan if event.event_type == "topup"}
        assert len(sending) == 3
        for partition in sending:
            assert 90.0 < silences(plan, "topup")[partition] <= shape.silence_s + 1.0

    def test_lifecycle_changes_come_from_very_few_partitions(self, plan: list[PlannedEvent]) -> None:
        """Lifecycle events use one partition of four; complaints two; top-ups three."""
        sending = {
            event_type: {event.partition for event in plan if event.event_type == event_type}
            for event_type in LiveMix().sparse
        }
        assert {name: len(partitions) for name, partitions in sending.items()} == {
            "topup": 3,
            "complaint": 2,
            "lifecycle": 1,
        }

    def test_each_event_is_about_a_customer_the_producer_sends_to_its_partition(
        self, plan: list[PlannedEvent]
    ) -> None:
        """The key's default-partitioner partition is the planned one."""
        assert all(partition_of(event.customer_id.encode(), PARTITIONS) == event.partition for event in plan)

    def test_same_seed_gives_the_same_plan(self, plan: list[PlannedEvent]) -> None:
        """The plan is a function of its arguments."""
        assert live_plan(RATE_EPS, SECONDS, CUSTOMERS, LiveMix(), seed=3) == plan

    def test_a_partition_without_customers_is_refused(self) -> None:
        """Every partition must have a customer to send its calls as."""
        with pytest.raises(ValueError, match="customers_by_partition"):
            live_plan(10.0, 1.0, [["a"], []], LiveMix(), seed=1)

    def test_short_phase_still_sends_every_sparse_topic(self) -> None:
        """A few seconds (the tests' phase) fall inside the first bursts."""
        shape = SparseShape(share=0.01, partitions_fraction=0.5, burst_s=30.0, silence_s=120.0)
        short = live_plan(1_000.0, 3.0, CUSTOMERS, LiveMix(sparse={"complaint": shape}), seed=1)
        assert Counter(event.event_type for event in short)["complaint"] == 30
