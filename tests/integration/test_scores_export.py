"""`churnwatch scores export`: the risk list from the worker's topics and Redis, as CSV and Parquet."""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer

from policy.suppression import Suppression, SuppressionReason
from schemas.outputs import Alert, Prediction, Reason, RecommendedAction, ScoreSource, ValueTier, Zone
from stack.topics import ensure_topics
from store.suppressions import SuppressionStore

pytestmark = pytest.mark.integration

DAY = datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=UTC)


def snapshot(customer_id: str, day: int, score: float, revenue: float) -> Prediction:
    return Prediction(
        snapshot_id=f"{customer_id}-{day}",
        customer_id=customer_id,
        event_time=DAY + timedelta(days=day),
        features={"revenue_90d": revenue, "history_days": 60.0},
        score=score,
        model_version="v1",
        score_source=ScoreSource.ONLINE_MODEL,
    )


ALERT = Alert(
    alert_id="a-B",
    customer_id="B",
    event_time=DAY,
    created_at=DAY,
    score=0.6,
    zone=Zone.YELLOW,
    previous_zone=Zone.GREEN,
    value_tier=ValueTier.HIGH,
    value_at_risk=90.0,
    priority=90.0,
    reasons=(Reason(code="usage_decline", text="calls down 60%", weight=1.0),),
    recommended_action=RecommendedAction(code="call", text="personal call", channel="phone"),
    model_version="v1",
    score_source=ScoreSource.ONLINE_MODEL,
)


async def publish(bootstrap: str, records: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for topic, value in records:
            await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


async def suppress(redis_url: str, key_prefix: str, customer_id: str) -> None:
    redis = aioredis.from_url(redis_url)
    try:
        await SuppressionStore(redis, key_prefix).add(
            Suppression(customer_id, SuppressionReason.DO_NOT_CONTACT, "", DAY)
        )
    finally:
        await redis.aclose()


class TestScoresExport:
    def test_latest_score_per_customer_ranked_with_alert_reasons_and_suppression(
        self, kafka_bootstrap: str, redis_url: str, key_prefix: str, tmp_path: Path
    ) -> None:
        """B's later snapshot counts, with its alert's reasons; C is suppressed; highest priority first;
        the CSV and the Parquet file hold the same rows."""
        suffix = uuid.uuid4().hex[:6]
        predictions, alerts = f"pred-{suffix}", f"alerts-{suffix}"
        asyncio.run(ensure_topics(kafka_bootstrap, [predictions, alerts], 2))
        asyncio.run(
            publish(
                kafka_bootstrap,
                [
                    (predictions, snapshot("A", 0, 0.30, 30.0).model_dump_json().encode()),
                    (predictions, snapshot("B", 0, 0.60, 150.0).model_dump_json().encode()),
                    (predictions, snapshot("B", 1, 0.80, 150.0).model_dump_json().encode()),
                    (predictions, snapshot("C", 1, 0.90, 5.0).model_dump_json().encode()),
                    (alerts, ALERT.model_dump_json().encode()),
                ],
            )
        )
        asyncio.run(suppress(redis_url, key_prefix, "C"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHURNWATCH_")}
        env.update(
            CHURNWATCH_KAFKA_BOOTSTRAP=kafka_bootstrap,
            CHURNWATCH_REDIS_URL=redis_url,
            CHURNWATCH_FEATURES__KEY_PREFIX=key_prefix,
            CHURNWATCH_TOPICS__PREDICTIONS=predictions,
            CHURNWATCH_TOPICS__ALERTS=alerts,
            PYTHONPATH=str(Path(__file__).resolve().parents[2]),
        )
        for name in ("risk.csv", "risk.parquet"):
            result = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "from cli.main import main; main()",
                    "scores",
                    "export",
                    "--out",
                    str(tmp_path / name),
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert result.returncode == 0, result.stderr
        with (tmp_path / "risk.csv").open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert [row["customer_id"] for row in rows] == ["B", "A", "C"]
        b = rows[0]
        assert float(b["score"]) == 0.8
        assert (b["zone"], b["value_tier"], b["last_alert_zone"]) == ("red", "high", "yellow")
        assert b["reasons"] == "calls down 60%"
        assert b["action"] == "personal call"
        assert rows[2]["suppressed"] == "do_not_contact"
        assert rows[1]["suppressed"] == ""
        parquet = pq.read_table(tmp_path / "risk.parquet").to_pylist()
        assert [row["customer_id"] for row in parquet] == ["B", "A", "C"]
        assert parquet[0]["value_at_risk"] == float(b["value_at_risk"])
