"""A crashed or rebalanced worker group ends exactly where an uninterrupted worker does.

One seeded population is produced once; a reference worker processes it without
interruption (``tests.fixtures.scenario``), and every scenario then processes the same
topics with its own consumer group, key prefix and output topics, and must end with
the same features and the same set of alert ids.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.fixtures.pipeline import WorkerProcess, assert_same_features, create_topics
from tests.fixtures.scenario import JOIN_TEST_INTAKE_CAP, Scenario, collect, wait_finished, wait_until

pytestmark = pytest.mark.integration


class TestEffectivelyOnce:
    def test_reference_run_raises_alerts_to_compare(self, scenario: Scenario) -> None:
        """The scenario is meaningful: the uninterrupted run stored every customer and raised alerts."""
        assert len(scenario.reference.features) == len(scenario.customer_ids)
        assert len(scenario.reference.alert_ids) >= 5
        silent = [days for _, days in scenario.reference.snapshots.values() if days]
        assert len(scenario.reference.snapshots) > len(scenario.customer_ids)
        assert silent, "no customer fell silent long enough to be swept"
        assert set(silent) <= {3, 7, 14, 21, 30}

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
        assert outcome.snapshots == scenario.reference.snapshots
        assert outcome.checkpoints == scenario.reference.checkpoints
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
        assert outcome.snapshots == scenario.reference.snapshots
        assert outcome.checkpoints == scenario.reference.checkpoints
