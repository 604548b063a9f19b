"""`churnwatch status` reads a running worker: readiness, lag per partition, throughput, model."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sim.simulate import simulate
from tests.fixtures.deadline import eventually
from tests.fixtures.pipeline import PipelineRun, RunTopics, create_topics, event_records, produce

pytestmark = pytest.mark.integration


def status(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from cli.main import main; main()",
            "status",
            "--url",
            url,
            "--interval",
            "0.5",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "COLUMNS": "200",
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        },
    )


class TestStatus:
    def test_status_shows_a_running_workers_readiness_lag_and_model(
        self, kafka_bootstrap: str, redis_url: str, tmp_path: Path
    ) -> None:
        """A worker that has read a small population: ready, each input partition's lag, the rules in use."""
        suffix = f"st{uuid.uuid4().hex[:6]}"
        topics = RunTopics(suffix)
        run = PipelineRun(kafka_bootstrap, redis_url, topics, topics, f"cw-{suffix}", f"k{suffix}", tmp_path)
        events = list(simulate(20, 3, seed=5, start=datetime(2026, 5, 4, tzinfo=UTC)))
        asyncio.run(create_topics(kafka_bootstrap, topics))
        asyncio.run(produce(kafka_bootstrap, event_records(topics, events)))
        worker = run.start_worker("worker")
        try:

            async def caught_up() -> None:
                assert worker.alive, worker.log_tail()
                metrics = worker.metrics()
                assert metrics.get("churnwatch_events_in_total", 0.0) >= len(events)
                # the lag gauge is set by a 2-second timer: every input partition measured once
                measured = worker.page("/metrics")
                for topic in topics.inputs:
                    assert f'churnwatch_consumer_lag{{partition="0",topic="{topic}"}}' in measured

            asyncio.run(eventually(caught_up, timeout=90, interval=0.2))
            result = status(f"http://127.0.0.1:{worker.web_port}")
        finally:
            worker.stop()
        assert result.returncode == 0, result.stderr
        out = result.stdout
        assert "ready" in out
        assert "not ready" not in out
        for topic in topics.inputs:
            assert topic in out
        assert "cold_start_rules" in out
        assert "events/s" in out

    def test_no_worker_is_one_line_with_the_fix(self) -> None:
        """Nothing listening: exit code 2 and a line saying how to start one, no traceback."""
        result = status("http://127.0.0.1:1")
        assert result.returncode == 2
        assert "no worker answers at http://127.0.0.1:1" in result.stdout
        assert "Traceback" not in result.stdout + result.stderr
