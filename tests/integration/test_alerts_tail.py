"""`churnwatch alerts tail` against a real broker: filters by zone and tier, new alerts only by default."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from schemas.outputs import Alert, Reason, RecommendedAction, ScoreSource, ValueTier, Zone
from stack.topics import ensure_topics

pytestmark = pytest.mark.integration

AT = datetime(2026, 3, 1, 8, tzinfo=UTC)


def alert(customer_id: str, zone: Zone, tier: ValueTier) -> bytes:
    return (
        Alert(
            alert_id=f"a-{customer_id}",
            customer_id=customer_id,
            event_time=AT,
            created_at=AT,
            score=0.8,
            zone=zone,
            previous_zone=Zone.GREEN,
            value_tier=tier,
            value_at_risk=50.0,
            priority=40.0,
            reasons=(Reason(code="usage_decline", text="calls down 60%", weight=1.0),),
            recommended_action=RecommendedAction(code="call", text="personal call", channel="phone"),
            model_version="v1",
            score_source=ScoreSource.ONLINE_MODEL,
        )
        .model_dump_json()
        .encode()
    )


async def publish(bootstrap: str, topic: str, records: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for value in records:
            await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


def tail_command(bootstrap: str, topic: str, *args: str) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHURNWATCH_")}
    env.update(
        CHURNWATCH_KAFKA_BOOTSTRAP=bootstrap,
        CHURNWATCH_TOPICS__ALERTS=topic,
        COLUMNS="200",
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    return [sys.executable, "-c", "from cli.main import main; main()", "alerts", "tail", *args], env


class TestAlertsTail:
    def test_from_the_beginning_only_the_chosen_zone_and_tier(self, kafka_bootstrap: str) -> None:
        """Red alerts of low-value customers only: the yellow one and the high-value red one are left out."""
        topic = f"alerts-{uuid.uuid4().hex[:6]}"
        asyncio.run(ensure_topics(kafka_bootstrap, [topic], 2))
        records = [
            alert("C1", Zone.RED, ValueTier.LOW),
            alert("C2", Zone.YELLOW, ValueTier.LOW),
            alert("C3", Zone.RED, ValueTier.HIGH),
            alert("C4", Zone.RED, ValueTier.LOW),
        ]
        asyncio.run(publish(kafka_bootstrap, topic, records))
        command, env = tail_command(
            kafka_bootstrap, topic, "--from-beginning", "--zone", "red", "--tier", "low", "--max", "2"
        )
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        shown = [line for line in result.stdout.splitlines() if "at risk" in line]
        assert sorted(line.split()[2] for line in shown) == ["C1", "C4"]

    def test_by_default_only_alerts_published_after_it_started(self, kafka_bootstrap: str) -> None:
        """An alert already on the topic is not shown; one published while it runs is."""
        topic = f"alerts-{uuid.uuid4().hex[:6]}"
        asyncio.run(ensure_topics(kafka_bootstrap, [topic], 1))
        asyncio.run(publish(kafka_bootstrap, topic, [alert("OLD", Zone.RED, ValueTier.LOW)]))
        command, env = tail_command(kafka_bootstrap, topic, "--max", "1", "--idle-s", "30")
        with subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as tail:
            assert tail.stdout is not None
            header = tail.stdout.readline()  # printed once the broker answered
            assert topic in header
            asyncio.run(publish(kafka_bootstrap, topic, [alert("NEW", Zone.YELLOW, ValueTier.HIGH)]))
            out, err = tail.communicate(timeout=60)
        assert tail.returncode == 0, err
        assert "NEW" in out
        assert "OLD" not in out
