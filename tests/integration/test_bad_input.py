"""Malformed input never stops a worker and never vanishes: each record is applied or dead-lettered."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from sim.simulate import simulate
from tests.fixtures.deadline import eventually
from tests.fixtures.pipeline import (
    PipelineRun,
    RunTopics,
    committed_fraction,
    create_topics,
    event_records,
    produce,
    read_topic,
)

pytestmark = pytest.mark.integration

START = datetime(2026, 5, 4, tzinfo=UTC)


def bad_records(topics: RunTopics) -> list[tuple[str, bytes | None, bytes, str]]:
    """(topic, key, value, expected dead-letter reason) for every kind of broken input."""
    calls, topups = topics.input("call"), topics.input("topup")
    good_call = {
        "event_id": "bad-base",
        "customer_id": "C0000001",
        "event_time": "2026-05-10T10:00:00+08:00",
        "direction": "outgoing",
        "duration_s": 60.0,
        "counterparty": "+8613800000001",
    }

    def call(**changes: object) -> bytes:
        return orjson.dumps({**good_call, **changes, "event_id": f"bad-{uuid.uuid4().hex[:8]}"})

    missing = {k: v for k, v in good_call.items() if k != "customer_id"}
    return [
        (calls, b"C0000001", b"{oops", "not_json"),
        (calls, b"C0000001", b"\xff\xfe\x00garbage", "not_utf8"),
        (calls, b"C0000001", call(duration_s="long"), "invalid_schema"),
        (calls, b"C0000001", call(duration_s=-4.0), "invalid_schema"),
        (calls, b"C0000001", orjson.dumps(missing), "invalid_schema"),
        (calls, b"C0000001", call(event_time="2026-05-10T10:00:00"), "invalid_schema"),
        (calls, b"C0000001", call(direction="sideways"), "invalid_schema"),
        (calls, b"C0000001", call(padding="x" * (1024 * 1024)), "too_large"),
        (calls, b"C0000001", call(type="sms"), "unknown_type"),
        (calls, b"C0000001", b"[1, 2, 3]", "invalid_schema"),
        (topups, b"C0000002", orjson.dumps({**good_call, "amount": 0}), "invalid_schema"),
        (topups, b"C0000002", b"", "not_json"),
        (calls, b"C0000001", call(event_time="2026-01-01T00:00:00+00:00"), "too_late"),
    ]


class TestBadInput:
    def test_every_record_is_applied_or_dead_lettered_with_its_position(
        self, kafka_bootstrap: str, redis_url: str, tmp_path: Path
    ) -> None:
        """processed + dead-lettered = produced, each bad record has its reason, and the worker lives."""
        suffix = f"bad{uuid.uuid4().hex[:6]}"
        topics = RunTopics(suffix)
        run = PipelineRun(
            kafka_bootstrap, redis_url, topics, topics, f"cw-{suffix}", f"k{suffix}", tmp_path
        )
        events = list(simulate(30, 20, seed=5, start=START))
        broken = bad_records(topics)
        half = len(events) // 2
        records = [
            *event_records(topics, events[:half]),
            *[(topic, key, value) for topic, key, value, _ in broken],
            *event_records(topics, events[half:]),
        ]
        asyncio.run(create_topics(kafka_bootstrap, topics))
        ends = asyncio.run(produce(kafka_bootstrap, records))
        worker = run.start_worker("worker")
        try:

            async def finished() -> None:
                assert worker.alive, worker.log_tail()
                fraction = await committed_fraction(kafka_bootstrap, run.group, ends)  # type: ignore[arg-type]
                assert fraction == 1.0, f"committed {fraction:.3f}"

            asyncio.run(eventually(finished, timeout=120, interval=0.25))
            metrics = worker.metrics()
            assert worker.alive
        finally:
            worker.stop()
        dead_letter_records = asyncio.run(read_topic(kafka_bootstrap, topics.dead_letters))
        letters = [json.loads(value) for _, _, _, value in dead_letter_records]
        positions = {(d["source_topic"], d["source_partition"], d["source_offset"]) for d in letters}
        applied = metrics["churnwatch_events_applied_total"]
        assert applied + len(positions) == len(records)
        by_value = {base64.b64decode(d["original_value_b64"]): d["reason"] for d in letters}
        for _, _, value, reason in broken:
            if reason == "too_large":
                large = [d for d in letters if d["reason"] == "too_large"]
                assert large, "the oversized record was not dead-lettered"
                assert large[0]["original_size"] > 1024 * 1024
                assert large[0]["original_truncated"]
            else:
                assert by_value.get(value) == reason, (value[:60], by_value.get(value))
        assert metrics["churnwatch_dead_letters_total"] == len(letters)
