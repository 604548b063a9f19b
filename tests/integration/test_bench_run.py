"""``churnwatch bench`` end to end on a small set: every phase runs and its numbers add up."""

from __future__ import annotations

import asyncio
import json

import pytest

from bench.config import BenchConfig
from bench.raw_consumer import MIN_SECONDS
from bench.result import BenchResult
from bench.run import run_bench
from streams.settings import Settings

pytestmark = pytest.mark.integration

EVENTS, CUSTOMERS = 3_000, 500


@pytest.fixture(scope="module")
def small_bench(
    kafka_bootstrap: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[BenchResult, list[str]]:
    """One small run (about a minute) that every test of this module reads; and its progress lines."""
    config = BenchConfig(
        events=EVENTS,
        customers=CUSTOMERS,
        partitions=2,
        live_seconds=3.0,
        redis_sample_customers=100,
        work_dir=tmp_path_factory.mktemp("bench"),
    )
    lines: list[str] = []
    result = asyncio.run(run_bench(config, Settings(), kafka_bootstrap, redis_url, lines.append))
    return result, lines


def test_small_bench_measures_every_phase(small_bench: tuple[BenchResult, list[str]]) -> None:
    """Raw, no-op, pipeline, both floors, latency and memory are measured on the same topics."""
    result, lines = small_bench
    for run in (result.faust_noop, result.pipeline, *result.floors.values()):
        assert run.events == EVENTS
        assert run.events_per_s > 0
    # the ceiling reads whole passes over the same records for at least MIN_SECONDS
    assert result.raw.events % EVENTS == 0
    assert result.raw.events >= EVENTS
    assert result.raw.elapsed_s >= MIN_SECONDS
    assert set(result.floors) == {"validate", "features"}
    assert 0 < result.redis_bytes_per_customer <= 1024
    assert result.event_to_processed.count > 0
    document = json.loads(json.dumps(result.to_json()))
    assert document["floors"]["features"]["over_faust"] > 0
    assert any(line.startswith("floor features:") for line in lines)


def test_live_phase_sends_the_planned_mix_and_times_alerts_per_trigger(
    small_bench: tuple[BenchResult, list[str]],
) -> None:
    """The live phase lands every record on its planned partition, keeps calls on both partitions
    and lifecycle changes on one, raises alerts, and names each alert's triggering topic."""
    result, _ = small_bench
    live = result.live
    assert live is not None
    assert live.partition_mismatches == 0
    assert set(live.topics) == {"call", "topup", "complaint", "lifecycle"}
    assert live.topics["call"].partitions_sending == 2
    assert live.topics["lifecycle"].partitions_sending == 1
    assert live.topics["lifecycle"].longest_silence_s == pytest.approx(live.seconds, rel=0.2)
    assert all(topic.events > 0 and topic.achieved_eps > 0 for topic in live.topics.values())
    assert result.event_to_alert.count > 0
    assert live.alerts_unmatched == 0
    assert sum(topic.event_to_alert.count for topic in live.topics.values()) == result.event_to_alert.count
    # every live record is timed, not only the last of each released tick
    assert result.event_to_processed.count == sum(topic.events for topic in live.topics.values())
    document = json.loads(json.dumps(result.to_json()))
    assert document["live"]["topics"]["call"]["event_to_alert"]["max_ms"] >= 0


def test_two_workers_split_the_partitions_and_handle_every_record_once(
    small_bench: tuple[BenchResult, list[str]],
) -> None:
    """Each worker of the pair holds one partition of every input topic; between them they handle
    each record once and leave the single worker's feature vectors."""
    result, _ = small_bench
    pair = result.two_workers
    assert pair is not None
    assert sorted(member.partitions for member in pair.members) == [[0], [1]]
    assert [member.topic_partitions for member in pair.members] == [4, 4]
    assert all(member.assignments >= 1 for member in pair.members)
    assert sum(member.handled for member in pair.members) == EVENTS
    assert sum(member.replayed for member in pair.members) == 0
    assert sum(member.applied + member.dead_letters for member in pair.members) == EVENTS
    assert pair.applied_as_single
    assert (pair.features_sampled, pair.features_differing) == (100, 0)
    assert pair.events_per_s > 0
    assert pair.over_single > 0
    document = json.loads(json.dumps(result.to_json()))
    assert document["two_workers"]["exactly_once"] is True
    assert document["two_workers"]["over_single"] == pytest.approx(pair.over_single)
