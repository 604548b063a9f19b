"""Redis frozen, killed, restarted or emptied under a running worker: nothing lost, nothing doubled.

Each test gives its worker a Redis server of its own, so freezing or killing it touches
no other test, and compares the end state with the scenario's uninterrupted reference.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from stack.process import ServerProcess, free_port
from stack.redis_server import start_redis
from tests.fixtures.pipeline import (
    PipelineRun,
    WorkerProcess,
    assert_same_features,
    committed_fraction,
    create_topics,
)
from tests.fixtures.scenario import Scenario, collect, wait_finished, wait_until

pytestmark = pytest.mark.integration

REDIS_TIMEOUT = {"CHURNWATCH_REDIS__TIMEOUT_S": "1", "CHURNWATCH_REDIS__CHECK_INTERVAL_S": "0.5"}
# slow enough that every fault lands mid-stream however fast the machine
INTAKE_CAP = {"CHURNWATCH_BATCHING__MAX_RECORDS_PER_SECOND": "6000"}


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[ServerProcess]:
    """A Redis server for this test alone, with an fsync-always AOF in its own directory."""
    server = start_redis(tmp_path / "redis", port=free_port(), append_only=True)
    try:
        yield server
    finally:
        if server.running:
            os.kill(server.process.pid, signal.SIGCONT)
        server.stop()


def url_of(server: ServerProcess) -> str:
    return f"redis://{server.host}:{server.port}/0"


def ready_status(worker: WorkerProcess) -> tuple[int, str, float]:
    """HTTP status and body of ``/ready``, and how long the answer took (seconds)."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}/ready", timeout=5) as page:
            return page.status, page.read().decode(), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), time.monotonic() - started


def applied_at_least(worker: WorkerProcess, share: float, total: int) -> None:
    assert worker.alive, worker.log_tail()
    applied = worker.metrics().get("churnwatch_events_applied_total", 0.0)
    assert applied >= share * total, f"applied {applied} of {total}"


def start_run(scenario: Scenario, name: str, redis_url: str, **settings: str) -> PipelineRun:
    run = scenario.new_run(name, redis_url=redis_url, **{**REDIS_TIMEOUT, **INTAKE_CAP, **settings})
    asyncio.run(create_topics(scenario.kafka_bootstrap, run.outputs))
    return run


def assert_like_reference(scenario: Scenario, run: PipelineRun) -> None:
    outcome = collect(scenario, run)
    assert_same_features(scenario.reference.features, outcome.features)
    assert outcome.alert_ids == scenario.reference.alert_ids
    assert outcome.snapshots == scenario.reference.snapshots
    assert outcome.checkpoints == scenario.reference.checkpoints


class TestRedisOutage:
    def test_frozen_redis_is_waited_out_and_ready_says_so_at_once(
        self, scenario: Scenario, own_redis: ServerProcess
    ) -> None:
        """SIGSTOP on Redis mid-stream: /ready answers 503 within a second, the worker lives, and after
        SIGCONT it ends with the reference's features and alert ids."""
        run = start_run(scenario, "freeze", url_of(own_redis))
        worker = run.start_worker("worker")
        try:
            wait_until(lambda: applied_at_least(worker, 0.2, scenario.total), timeout=120)
            os.kill(own_redis.process.pid, signal.SIGSTOP)
            try:

                def not_ready() -> None:
                    assert worker.alive, worker.log_tail()
                    status, body, took_s = ready_status(worker)
                    assert took_s < 1.0, f"/ready took {took_s:.2f}s"
                    assert status == 503, body
                    assert worker.metrics().get("churnwatch_redis_unavailable") == 1.0

                wait_until(not_ready, timeout=20)
            finally:
                os.kill(own_redis.process.pid, signal.SIGCONT)
            wait_finished(scenario.ends, scenario.kafka_bootstrap, run, [worker])
            assert ready_status(worker)[0] == 200
            metrics = worker.metrics()
            assert metrics["churnwatch_redis_outages_total"] >= 1
            assert metrics["churnwatch_redis_outage_seconds_total"] > 0
            assert metrics["churnwatch_redis_data_lost"] == 0
        finally:
            worker.stop()
        assert_like_reference(scenario, run)

    def test_redis_restarted_with_its_data_is_continued_from(
        self, scenario: Scenario, own_redis: ServerProcess, tmp_path: Path
    ) -> None:
        """Redis killed and restarted on its append-only file: the worker reconnects and finishes exactly."""
        run = start_run(scenario, "restart", url_of(own_redis))
        worker = run.start_worker("worker")
        restarted: ServerProcess | None = None
        try:
            wait_until(lambda: applied_at_least(worker, 0.3, scenario.total), timeout=120)
            own_redis.process.kill()
            own_redis.process.wait(timeout=10)
            restarted = start_redis(tmp_path / "redis", port=own_redis.port, append_only=True)
            wait_finished(scenario.ends, scenario.kafka_bootstrap, run, [worker])
            assert worker.metrics()["churnwatch_redis_data_lost"] == 0
            worker.stop()
            assert_like_reference(scenario, run)
        finally:
            worker.stop()
            if restarted is not None:
                restarted.stop()

    @pytest.mark.slow  # two full runs of the scenario (before and after the rebuild): make bench
    def test_redis_back_without_data_stops_the_worker_until_rebuilt(
        self, scenario: Scenario, own_redis: ServerProcess, tmp_path: Path
    ) -> None:
        """Redis restarted empty: the worker says so (/ready, metric, log) and stops processing;
        `churnwatch rebuild` and a restart then end with the reference's features and alert ids."""
        run = start_run(scenario, "emptied", url_of(own_redis))
        worker = run.start_worker("worker")
        replacement: ServerProcess | None = None
        try:
            wait_until(lambda: applied_at_least(worker, 0.3, scenario.total), timeout=120)
            own_redis.process.kill()
            own_redis.process.wait(timeout=10)
            replacement = start_redis(tmp_path / "empty-redis", port=own_redis.port)

            def noticed() -> None:
                assert worker.alive, worker.log_tail()
                status, body, _ = ready_status(worker)
                assert status == 503, body
                assert "lost data" in body
                assert worker.metrics().get("churnwatch_redis_data_lost") == 1.0

            wait_until(noticed, timeout=30)
            assert "Redis lost data" in worker.log_path.read_text(errors="replace")
            worker.stop()
            env = run.env(free_port(), "rebuild")
            rebuilt = subprocess.run(
                [sys.executable, "-c", "from cli.main import main; main()", "rebuild", "--yes"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
            worker = run.start_worker("after-rebuild")
            wait_finished(scenario.ends, scenario.kafka_bootstrap, run, [worker])
            worker.stop()
            assert_like_reference(scenario, run)
        finally:
            worker.stop()
            if replacement is not None:
                replacement.stop()

    def test_outage_longer_than_the_limit_ends_the_worker_and_a_restart_recovers(
        self, scenario: Scenario, own_redis: ServerProcess
    ) -> None:
        """Past CHURNWATCH_REDIS__MAX_OUTAGE_S the worker exits saying why; restarted, it ends exactly."""
        run = start_run(scenario, "gaveup", url_of(own_redis), CHURNWATCH_REDIS__MAX_OUTAGE_S="3")
        worker = run.start_worker("worker")
        try:
            wait_until(lambda: applied_at_least(worker, 0.2, scenario.total), timeout=120)
            os.kill(own_redis.process.pid, signal.SIGSTOP)
            try:

                def exited() -> None:
                    assert not worker.alive, "still running"

                wait_until(exited, timeout=60)
            finally:
                os.kill(own_redis.process.pid, signal.SIGCONT)
            assert worker.process.returncode != 0
            assert "Redis unreachable for" in worker.log_path.read_text(errors="replace")
            worker = run.start_worker("restarted")
            wait_finished(scenario.ends, scenario.kafka_bootstrap, run, [worker])
        finally:
            worker.stop()
        assert_like_reference(scenario, run)

    def test_progress_that_went_back_stops_the_worker(
        self, scenario: Scenario, own_redis: ServerProcess
    ) -> None:
        """Recorded progress older than what the worker wrote (Redis restored from an older state) is
        noticed within the check interval: not ready, metric set, nothing more processed."""
        run = start_run(scenario, "rolledback", url_of(own_redis))
        worker = run.start_worker("worker")
        try:
            wait_until(lambda: applied_at_least(worker, 0.3, scenario.total), timeout=120)
            asyncio.run(rewind_progress(url_of(own_redis), run.key_prefix))

            def noticed() -> None:
                assert worker.alive, worker.log_tail()
                status, body, _ = ready_status(worker)
                assert status == 503, body
                assert "went back" in body
                assert worker.metrics().get("churnwatch_redis_data_lost") == 1.0

            wait_until(noticed, timeout=30)
            ends = scenario.ends
            committed = asyncio.run(committed_fraction(scenario.kafka_bootstrap, run.group, ends))  # type: ignore[arg-type]
            assert committed < 1.0, "the worker went on after noticing"
        finally:
            worker.stop()


async def rewind_progress(redis_url: str, key_prefix: str) -> None:
    """Set every recorded partition progress back to offset 1, as an older snapshot would."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        async for key in client.scan_iter(match=f"{key_prefix}:*:progress"):
            fields = await client.hgetall(key)
            await client.hset(key, mapping={field: b"1|0.0" for field in fields})
    finally:
        await client.aclose()
