"""Records that arrive while the worker reads give what the same records give read afterwards.

The scenario's reference worker read its population after it was all produced. Here a
worker starts on empty topics and the same records are produced while it runs, as
`churnwatch replay` beside a live worker does: partitions keep catching up with the
producer and falling behind again. Features and alert ids must match the reference.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from tests.fixtures.pipeline import RunTopics, assert_same_features, create_topics, event_records
from tests.fixtures.scenario import Scenario, collect, ticks_processed, wait_finished

pytestmark = pytest.mark.integration


async def produce_while_read(
    bootstrap: str, records: list[tuple[str, bytes | None, bytes | None]], chunk: int, pause_s: float
) -> dict[object, int]:
    """Send in order, ``chunk`` records at a time with a pause between (0: as fast as possible)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2, acks=1)
    await producer.start()
    ends: dict[object, int] = {}
    try:
        for start in range(0, len(records), chunk):
            batch = records[start : start + chunk]
            futures = [await producer.send(topic, value, key=key) for topic, key, value in batch]
            for future in futures:
                meta = await future
                ends[(meta.topic, meta.partition)] = meta.offset + 1
            if pause_s:
                await asyncio.sleep(pause_s)  # pacing the producer, not waiting for the worker
    finally:
        await producer.stop()
    return ends


TOPIC_BOUNDS = ("CALLS", "TOPUPS", "COMPLAINTS", "LIFECYCLE")


class TestLiveEqualsReplay:
    @pytest.mark.parametrize(
        ("chunk", "pause_s"),
        # paced near the worker's own speed, partitions keep catching up: the case that diverged
        # (a fetch's stale high-water mark taken as proof of being caught up). The other two
        # paces run with -m slow; the release rules themselves are property-tested in
        # tests/unit/test_streams_alignment.py
        [
            pytest.param(200, 0.05),
            pytest.param(50, 0.02, marks=pytest.mark.slow),
            pytest.param(5000, 0.0, marks=pytest.mark.slow),
        ],
    )
    def test_records_arriving_during_the_run_give_the_reference_alerts(
        self, scenario: Scenario, chunk: int, pause_s: float
    ) -> None:
        """Produced while the worker runs, at full speed or paced near its own speed: same results."""
        inputs = RunTopics(f"live{uuid.uuid4().hex[:6]}")
        asyncio.run(create_topics(scenario.kafka_bootstrap, inputs))
        # an out-of-orderness beyond the simulator's worst disorder (twice the lateness), so
        # every record is on time (the short default trades exactness for latency on records
        # sent later than it, tests/unit/test_pipeline_alignment.py); and an idle
        # release longer than any stall of this producer on a loaded machine (the wall-clock
        # release cannot tell a stalled producer from the end of the input)
        run = scenario.new_run(
            "live",
            inputs=inputs,
            **{f"CHURNWATCH_EVENT_TIME__OUT_OF_ORDERNESS__{topic}_S": "604800" for topic in TOPIC_BOUNDS},
            CHURNWATCH_EVENT_TIME__RELEASE_IDLE_S="15",
        )
        asyncio.run(create_topics(scenario.kafka_bootstrap, run.outputs))
        worker = run.start_worker("worker")
        try:
            ends = asyncio.run(
                produce_while_read(
                    scenario.kafka_bootstrap, event_records(inputs, scenario.events), chunk, pause_s
                )
            )
            wait_finished(
                {TopicPartition(*tp): end for tp, end in ends.items()},  # type: ignore[misc]
                scenario.kafka_bootstrap,
                run,
                [worker],
            )
            ticks = ticks_processed(worker)
        finally:
            worker.stop()
        assert ticks == scenario.reference_ticks, "a tick was released before all its records were read"
        outcome = collect(scenario, run)
        assert_same_features(scenario.reference.features, outcome.features)
        assert outcome.alert_ids == scenario.reference.alert_ids
        assert outcome.snapshots == scenario.reference.snapshots
        assert outcome.checkpoints == scenario.reference.checkpoints
