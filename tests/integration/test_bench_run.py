"""``churnwatch bench`` end to end on a small set: every phase runs and its numbers add up."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bench.config import BenchConfig
from bench.run import run_bench
from streams.settings import Settings

pytestmark = pytest.mark.integration

EVENTS, CUSTOMERS = 3_000, 500


def test_small_bench_measures_every_phase(kafka_bootstrap: str, redis_url: str, tmp_path: Path) -> None:
    """Raw, no-op, pipeline, both floors, latency and memory are measured on the same topics."""
    config = BenchConfig(
        events=EVENTS,
        customers=CUSTOMERS,
        partitions=2,
        live_seconds=2.0,
        redis_sample_customers=100,
        work_dir=tmp_path,
    )
    lines: list[str] = []
    result = asyncio.run(run_bench(config, Settings(), kafka_bootstrap, redis_url, lines.append))

    for run in (result.raw, result.faust_noop, result.pipeline, *result.floors.values()):
        assert run.events == EVENTS
        assert run.events_per_s > 0
    assert set(result.floors) == {"validate", "features"}
    assert 0 < result.redis_bytes_per_customer <= 1024
    assert result.event_to_processed.count > 0
    document = json.loads(json.dumps(result.to_json()))
    assert document["floors"]["features"]["over_faust"] > 0
    assert any(line.startswith("floor features:") for line in lines)
