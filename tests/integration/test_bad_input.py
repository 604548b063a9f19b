"""Hostile input never stops a worker, never vanishes, never changes valid results, never leaks a number.

A seeded corpus of 44 kinds of broken records (oversized keys, absurd dates, wrong keys,
epoch-number times, re-used event ids, ...) is spread through a simulated population.
One worker reads the population with the corpus, another the same population without
it; both must end with the same features and alerts, and every bad record must be in
the dead-letter topic with its reason and source position.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from sim.simulate import simulate
from tests.fixtures.corpus import interleave_corpus
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
    produce_positioned,
    read_features,
    read_topic,
)

pytestmark = pytest.mark.integration

START = datetime(2026, 5, 4, tzinfo=UTC)
CUSTOMERS, DAYS, SEED, ROUNDS = 120, 40, 5, 3
ALERTING_POLICY = {
    "CHURNWATCH_POLICY__GREEN_MIN_SCORE": "0.1",
    "CHURNWATCH_POLICY__YELLOW_MIN_SCORE": "0.2",
    "CHURNWATCH_POLICY__RED_MIN_SCORE": "0.45",
    "CHURNWATCH_POLICY__MIN_HISTORY_DAYS": "14",
    "CHURNWATCH_POLICY__CAPACITY__BASE_SHARE_30D": "off",  # every yellow and red alert goes out
}
PHONE_NUMBER = re.compile(rb"\+\d{6,15}")


def run_for(kafka_bootstrap: str, redis_url: str, tmp_path: Path, name: str) -> PipelineRun:
    suffix = f"{name}{uuid.uuid4().hex[:6]}"
    topics = RunTopics(suffix)
    return PipelineRun(
        kafka_bootstrap,
        redis_url,
        topics,
        topics,
        f"cw-{suffix}",
        f"k{suffix}",
        tmp_path / name,
        extra_env=ALERTING_POLICY,
    )


def finish(run: PipelineRun, worker: WorkerProcess, ends: dict[object, int]) -> dict[str, float]:
    async def finished() -> None:
        assert worker.alive, worker.log_tail()
        fraction = await committed_fraction(run.kafka_bootstrap, run.group, ends)  # type: ignore[arg-type]
        assert fraction == 1.0, f"committed {fraction:.3f}"

    asyncio.run(eventually(finished, timeout=180, interval=0.25))
    metrics = worker.metrics()
    assert worker.alive, worker.log_tail()
    return metrics


async def stored_bytes(redis_url: str, prefix: str) -> bytes:
    """Every key and value this run wrote to Redis, concatenated (strings and hashes)."""
    client = aioredis.Redis.from_url(redis_url)
    chunks: list[bytes] = []
    try:
        async for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            chunks.append(key)
            kind = await client.type(key)
            if kind == b"string":
                chunks.append(await client.get(key) or b"")
            elif kind == b"hash":
                for field, value in (await client.hgetall(key)).items():
                    chunks.extend((field, value))
    finally:
        await client.aclose()
    return b"\n".join(chunks)


class TestBadInput:
    def test_hostile_corpus_is_dead_lettered_and_leaves_valid_results_unchanged(
        self, kafka_bootstrap: str, redis_url: str, tmp_path: Path
    ) -> None:
        """Applied + dead-lettered = produced; each bad record has its reason; features and alerts
        equal a run without the corpus; no raw number of a valid record appears in any output."""
        events = list(simulate(CUSTOMERS, DAYS, seed=SEED, start=START))
        dirty = run_for(kafka_bootstrap, redis_url, tmp_path, "dirty")
        clean = run_for(kafka_bootstrap, redis_url, tmp_path, "clean")
        records, bad = interleave_corpus(
            dirty.inputs, events, lambda chosen: event_records(dirty.inputs, chosen), ROUNDS, seed=SEED
        )
        assert len({record.kind for record in bad.values()}) >= 44
        asyncio.run(create_topics(kafka_bootstrap, dirty.inputs))
        asyncio.run(create_topics(kafka_bootstrap, clean.inputs))
        positions = asyncio.run(produce_positioned(kafka_bootstrap, records))
        dirty_ends: dict[object, int] = {}
        for tp, offset in positions:
            dirty_ends[tp] = max(dirty_ends.get(tp, 0), offset + 1)
        clean_ends = asyncio.run(produce(kafka_bootstrap, event_records(clean.inputs, events)))

        dirty_worker, clean_worker = dirty.start_worker("dirty"), clean.start_worker("clean")
        try:
            metrics = finish(dirty, dirty_worker, dirty_ends)
            clean_metrics = finish(clean, clean_worker, clean_ends)  # type: ignore[arg-type]
        finally:
            dirty_worker.stop()
            clean_worker.stop()

        dead_letter_records = asyncio.run(read_topic(kafka_bootstrap, dirty.outputs.dead_letters))
        letters = [json.loads(value) for *_, value in dead_letter_records]
        by_position = {(d["source_topic"], d["source_partition"], d["source_offset"]): d for d in letters}
        assert metrics["churnwatch_events_applied_total"] + len(by_position) == len(records)
        assert metrics["churnwatch_events_applied_total"] == clean_metrics["churnwatch_events_applied_total"]
        for index, record in bad.items():
            tp, offset = positions[index]
            letter = by_position.get((tp.topic, tp.partition, offset))
            assert letter is not None, f"{record.kind} at {tp.topic}[{tp.partition}]@{offset} vanished"
            assert letter["reason"] == record.reason, (record.kind, letter["reason"], letter["detail"])
        huge = [
            by_position[(positions[i][0].topic, positions[i][0].partition, positions[i][1])]
            for i, record in bad.items()
            if record.kind == "huge_key"
        ]
        assert all(d["original_key_truncated"] and d["original_key_size"] == 800_000 for d in huge)
        assert metrics.get("churnwatch_outputs_refused_total", 0.0) == 0.0

        customers = sorted({str(event["customer_id"]) for event in events})
        assert_same_features(
            asyncio.run(read_features(redis_url, clean.key_prefix, customers)),
            asyncio.run(read_features(redis_url, dirty.key_prefix, customers)),
        )
        dirty_alerts = asyncio.run(read_topic(kafka_bootstrap, dirty.outputs.alerts))
        clean_alerts = asyncio.run(read_topic(kafka_bootstrap, clean.outputs.alerts))
        assert clean_alerts, "the population raised no alerts to compare"
        assert {json.loads(v)["alert_id"] for *_, v in dirty_alerts} == {
            json.loads(v)["alert_id"] for *_, v in clean_alerts
        }

        raw_numbers = {str(e["counterparty"]).encode() for e in events if e["type"] == "call"}
        outputs = [
            *(value for *_, value in dirty_alerts),
            *(json.dumps(letter).encode() for letter in letters),
            *(base64.b64decode(d["original_value_b64"]) for d in letters if d["original_pseudonymised"]),
            asyncio.run(stored_bytes(redis_url, dirty.key_prefix)),
        ]
        leaked = {match for blob in outputs for match in PHONE_NUMBER.findall(blob)} & raw_numbers
        assert not leaked, f"{len(leaked)} raw numbers of valid records reached an output"
        pseudonymised = [d for d in letters if d["reason"] in ("duplicate", "too_late", "key_mismatch")]
        assert pseudonymised
        assert all(d["original_pseudonymised"] for d in pseudonymised)

    def test_dead_letter_the_broker_refuses_is_sent_without_its_original(
        self, kafka_bootstrap: str, redis_url: str, tmp_path: Path
    ) -> None:
        """A dead letter over the producer's size limit goes out reduced (reason and position, no
        original), is counted, and the worker goes on; it is never retried forever."""
        run = run_for(kafka_bootstrap, redis_url, tmp_path, "refused")
        run.extra_env["CHURNWATCH_KAFKA__MAX_REQUEST_BYTES"] = "6000"
        events = list(simulate(10, 5, seed=3, start=START))
        malformed = b'{"event_id": "x", "padding": "' + b"y" * 4500 + b'"'  # not JSON, base64 > 6000
        records = [
            *event_records(run.inputs, events[:50]),
            (run.inputs.input("call"), b"C0000001", malformed),
            *event_records(run.inputs, events[50:]),
        ]
        asyncio.run(create_topics(kafka_bootstrap, run.inputs))
        positions = asyncio.run(produce_positioned(kafka_bootstrap, records))
        ends: dict[object, int] = {}
        for tp, offset in positions:
            ends[tp] = max(ends.get(tp, 0), offset + 1)
        worker = run.start_worker("worker")
        try:
            metrics = finish(run, worker, ends)
        finally:
            worker.stop()
        dead_letter_records = asyncio.run(read_topic(kafka_bootstrap, run.outputs.dead_letters))
        letters = [json.loads(value) for *_, value in dead_letter_records]
        tp, offset = positions[50]
        reduced = [
            d
            for d in letters
            if (d["source_topic"], d["source_offset"]) == (tp.topic, offset)
            and d["source_partition"] == tp.partition
        ]
        assert len(reduced) == 1
        assert reduced[0]["reason"] == "not_json"
        assert reduced[0]["original_value_b64"] == ""
        assert reduced[0]["original_size"] == len(malformed)
        assert metrics["churnwatch_outputs_refused_total"] == 1
