"""Ticks run together give exactly what the same ticks give run one by one.

Short ticks and a daily capacity make most steps hold many ticks and make alert states and
the capacity carry from tick to tick inside a step: features, alert records (all but the
wall-clock ``created_at``), snapshots, training examples, capacity days and checkpoints must
equal those of a worker that runs every tick alone.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.fixtures.pipeline import PipelineRun, assert_same_features, create_topics, read_topic
from tests.fixtures.scenario import Scenario, collect, wait_finished

pytestmark = pytest.mark.integration

SHORT_TICKS = {
    "CHURNWATCH_SCORING_TICK_MINUTES": "5",
    "CHURNWATCH_POLICY__CAPACITY__DAILY_ALERTS": "2",
}


def records(bootstrap: str, topic: str, dropped: str | None = None) -> list[dict[str, object]]:
    """A topic's records as dicts (without the field ``dropped``), in a stable order."""
    found = []
    for *_, value in asyncio.run(read_topic(bootstrap, topic)):
        record = json.loads(value)
        record.pop(dropped, None)
        found.append(record)
    return sorted(found, key=lambda record: json.dumps(record, sort_keys=True))


class TestTickRuns:
    def test_ticks_run_together_give_what_ticks_run_alone_give(self, scenario: Scenario) -> None:
        """Runs of many ticks and runs of one tick: identical features and outputs."""
        runs: dict[str, PipelineRun] = {
            "together": scenario.new_run(
                "together", CHURNWATCH_BATCHING__MAX_RUN_TICKS="1440", **SHORT_TICKS
            ),
            "alone": scenario.new_run("alone", CHURNWATCH_BATCHING__MAX_RUN_TICKS="1", **SHORT_TICKS),
        }
        ticks_per_step = {}
        for name, run in runs.items():
            asyncio.run(create_topics(scenario.kafka_bootstrap, run.outputs))
            worker = run.start_worker(name)
            try:
                wait_finished(scenario.ends, scenario.kafka_bootstrap, run, [worker])
                metrics = worker.metrics()
                steps = metrics["churnwatch_run_ticks_count"]
                ticks_per_step[name] = metrics["churnwatch_run_ticks_sum"] / steps
            finally:
                worker.stop()
        assert ticks_per_step["alone"] == 1.0
        assert ticks_per_step["together"] > 2.0, ticks_per_step
        together, alone = (collect(scenario, run) for run in runs.values())
        assert_same_features(alone.features, together.features)
        assert together.snapshots == alone.snapshots
        assert together.examples == alone.examples
        assert together.checkpoints == alone.checkpoints
        bootstrap = scenario.kafka_bootstrap
        outputs = [run.outputs for run in runs.values()]
        alerts = [records(bootstrap, topics.alerts, "created_at") for topics in outputs]
        assert len(alerts[0]) >= 5
        assert alerts[0] == alerts[1]
        capacity = [records(bootstrap, topics.capacity) for topics in outputs]
        assert capacity[0], "no capacity day was published"
        assert capacity[0] == capacity[1]
        predictions = [records(bootstrap, topics.predictions) for topics in outputs]
        assert predictions[0] == predictions[1]
