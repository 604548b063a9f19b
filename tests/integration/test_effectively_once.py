"""A crashed or rebalanced worker group ends exactly where an uninterrupted worker does.

One seeded population is produced once; a reference worker processes it without
interruption, and every scenario then processes the same topics with its own consumer
group, key prefix and output topics, and must end with the same features and the same
set of alert ids.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from features.vector import FeatureVector
from sim.simulate import simulate
from tests.fixtures.deadline import eventually
from tests.fixtures.pipeline import (
    PipelineRun,
    RunTopics,
    WorkerProcess,
    assert_same_features,
    committed_fraction,
    create_topics,
    event_records,
    produce,
    read_features,
    read_topic,
)

pytestmark = pytest.mark.integration

CUSTOMERS, DAYS, SEED = 200, 60, 11
# Lower thresholds than production so this small population raises many alerts to compare.
ALERTING_POLICY = {
    "CHURNWATCH_POLICY__GREEN_MIN_SCORE": "0.1",
    "CHURNWATCH_POLICY__YELLOW_MIN_SCORE": "0.2",
    "CHURNWATCH_POLICY__RED_MIN_SCORE": "0.45",
    "CHURNWATCH_POLICY__MIN_HISTORY_DAYS": "14",
}
FINISH_TIMEOUT_S = 180.0
JOIN_TEST_INTAKE_CAP = 1000  # records per second per worker


@dataclass
class Outcome:
    features: dict[str, FeatureVector]
    alert_ids: set[str]
    alerts_published: int


@dataclass
class Scenario:
    kafka_bootstrap: str
    redis_url: str
    inputs: RunTopics
    ends: dict[object, int]
    customer_ids: list[str]
    work_dir: Path
    reference: Outcome

    @property
    def total(self) -> int:
        return sum(self.ends.values())

    def new_run(self, name: str, **settings: str) -> PipelineRun:
        tag = f"{name}-{uuid.uuid4().hex[:6]}"
        return PipelineRun(
            kafka_bootstrap=self.kafka_bootstrap,
            redis_url=self.redis_url,
            inputs=self.inputs,
            outputs=RunTopics(tag),
            group=f"cw-{tag}",
            key_prefix=f"k{uuid.uuid4().hex[:8]}",
            work_dir=self.work_dir / tag,
            extra_env={**ALERTING_POLICY, **settings},
        )


def wait_until(check: Callable[[], None], timeout: float) -> None:
    """Poll a synchronous assertion to a deadline."""

    async def attempt() -> None:
        check()

    asyncio.run(eventually(attempt, timeout=timeout, interval=0.05))


def wait_finished(
    scenario_ends: dict[object, int], bootstrap: str, run: PipelineRun, workers: list[WorkerProcess]
) -> None:
    async def finished() -> None:
        for worker in workers:
            assert worker.alive, f"worker exited early:\n{worker.log_tail()}"
        fraction = await committed_fraction(bootstrap, run.group, scenario_ends)  # type: ignore[arg-type]
        assert fraction == 1.0, f"committed {fraction:.3f} of the input"

    asyncio.run(eventually(finished, timeout=FINISH_TIMEOUT_S, interval=0.25))


def collect(scenario: Scenario, run: PipelineRun) -> Outcome:
    alerts = asyncio.run(read_topic(scenario.kafka_bootstrap, run.outputs.alerts))
    features = asyncio.run(read_features(scenario.redis_url, run.key_prefix, scenario.customer_ids))
    ids = {json.loads(value)["alert_id"] for _, _, _, value in alerts}
    return Outcome(features, ids, len(alerts))


@pytest.fixture(scope="module")
def scenario(
    kafka_bootstrap: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Scenario:
    inputs = RunTopics(f"eo{uuid.uuid4().hex[:6]}")
    events = list(simulate(CUSTOMERS, DAYS, seed=SEED, start=datetime(2026, 3, 2, tzinfo=UTC)))
    asyncio.run(create_topics(kafka_bootstrap, inputs))
    ends = asyncio.run(produce(kafka_bootstrap, event_records(inputs, events)))
    customer_ids = sorted({str(event["customer_id"]) for event in events})
    work_dir = tmp_path_factory.mktemp("effectively-once")
    partial = Scenario(
        kafka_bootstrap, redis_url, inputs, ends, customer_ids, work_dir, Outcome({}, set(), 0)
    )
    run = partial.new_run("reference")
    asyncio.run(create_topics(kafka_bootstrap, run.outputs))
    worker = run.start_worker("reference")
    try:
        wait_finished(ends, kafka_bootstrap, run, [worker])
    finally:
        worker.stop()
    partial.reference = collect(partial, run)
    return partial


class TestEffectivelyOnce:
    def test_reference_run_raises_alerts_to_compare(self, scenario: Scenario) -> None:
        """The scenario is meaningful: the uninterrupted run stored every customer and raised alerts."""
        assert len(scenario.reference.features) == len(scenario.customer_ids)
        assert len(scenario.reference.alert_ids) >= 5

    def test_worker_killed_mid_stream_ends_like_an_uninterrupted_run(self, scenario: Scenario) -> None:
        """SIGKILL in the middle of processing, then a restart, leaves the same features and alert ids."""
        run = scenario.new_run("crash")
        asyncio.run(create_topics(scenario.kafka_bootstrap, run.outputs))
        first = run.start_worker("first")

        def halfway() -> None:
            assert first.alive, first.log_tail()
            applied = first.metrics().get("churnwatch_events_applied_total", 0.0)
            assert applied >= 0.4 * scenario.total, f"applied {applied} of {scenario.total}"

        try:
            wait_until(halfway, timeout=120)
        finally:
            first.kill()
        second = run.start_worker("second")
        try:
            wait_finished(scenario.ends, scenario.kafka_bootstrap, run, [second])
            replayed = second.metrics().get("churnwatch_events_replayed_total", 0.0)
        finally:
            second.stop()
        outcome = collect(scenario, run)
        assert_same_features(scenario.reference.features, outcome.features)
        assert outcome.alert_ids == scenario.reference.alert_ids
        assert replayed > 0, "the restart should have met records the killed worker had handled"

    def test_worker_joining_and_leaving_mid_stream_ends_like_a_single_worker(
        self, scenario: Scenario
    ) -> None:
        """A second worker joins (rebalance) and leaves again; features and alert ids match one worker.

        The intake cap keeps the first worker busy long enough for the second to start and
        join however slow the machine (alone it needs over half a minute), and small batches
        show that results do not depend on how records are batched.
        """
        run = scenario.new_run(
            "rebalance",
            CHURNWATCH_BATCHING__MAX_RECORDS="20",
            CHURNWATCH_BATCHING__MAX_RECORDS_PER_SECOND=str(JOIN_TEST_INTAKE_CAP),
        )
        asyncio.run(create_topics(scenario.kafka_bootstrap, run.outputs))
        first = run.start_worker("first")
        second: WorkerProcess | None = None
        try:

            def started() -> None:
                assert first.alive, first.log_tail()
                applied = first.metrics().get("churnwatch_events_applied_total", 0.0)
                assert applied >= 0.05 * scenario.total, f"applied {applied}"

            wait_until(started, timeout=120)
            second = run.start_worker("second")
            joined = second

            def shared() -> None:
                assert joined.alive, joined.log_tail()
                applied = joined.metrics().get("churnwatch_events_applied_total", 0.0)
                assert applied > 0, (
                    "the second worker has not processed anything yet: "
                    f"{joined.page('/alignment')}; first applied "
                    f"{first.metrics().get('churnwatch_events_applied_total')} of {scenario.total}"
                )

            wait_until(shared, timeout=120)
            second.stop()
            wait_finished(scenario.ends, scenario.kafka_bootstrap, run, [first])

            def no_lag() -> None:
                metrics = first.metrics()
                assert metrics.get("churnwatch_intake_throttled_seconds_total", 0.0) > 0
                assert metrics.get("churnwatch_consumer_lag", -1.0) == 0.0, first.page("/metrics")

            # partitions it got back with nothing left to read must not look behind
            wait_until(no_lag, timeout=30)
        finally:
            first.stop()
            if second is not None:
                second.stop()
        outcome = collect(scenario, run)
        assert_same_features(scenario.reference.features, outcome.features)
        assert outcome.alert_ids == scenario.reference.alert_ids
