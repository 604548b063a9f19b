"""A worker on the embedded broker is consuming within seconds of being started."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sim.simulate import simulate
from tests.fixtures.deadline import eventually
from tests.fixtures.pipeline import PipelineRun, RunTopics, create_topics, event_records, produce

pytestmark = pytest.mark.integration

# The start-up budget is 5 s to the first event on an idle machine (Faust's defaults take ~31 s
# against this broker); the margin covers a loaded CI machine.
FIRST_EVENT_BUDGET_S = 8.0


class TestWorkerStartup:
    def test_worker_processes_its_first_events_within_seconds(
        self, kafka_bootstrap: str, redis_url: str, tmp_path: Path
    ) -> None:
        """From process start to the first applied event takes seconds, not Faust's default half minute."""
        suffix = f"up{uuid.uuid4().hex[:6]}"
        topics = RunTopics(suffix)
        run = PipelineRun(kafka_bootstrap, redis_url, topics, topics, f"cw-{suffix}", f"k{suffix}", tmp_path)
        events = list(simulate(5, 2, seed=3, start=datetime(2026, 5, 4, tzinfo=UTC)))
        asyncio.run(create_topics(kafka_bootstrap, topics))
        asyncio.run(produce(kafka_bootstrap, event_records(topics, events)))
        started = time.monotonic()
        worker = run.start_worker("worker")
        try:

            async def consuming() -> None:
                assert worker.alive, worker.log_tail()
                assert worker.metrics().get("churnwatch_events_applied_total", 0.0) > 0

            asyncio.run(eventually(consuming, timeout=60, interval=0.05))
            elapsed = time.monotonic() - started
        finally:
            worker.stop()
        print(f"first event applied {elapsed:.2f}s after the worker process started")
        assert elapsed < FIRST_EVENT_BUDGET_S, f"first event applied after {elapsed:.1f}s"
