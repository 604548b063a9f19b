"""The publisher against a real broker: Faust's partitions, refusals for good, a stopped producer.

Outputs go to the app's aiokafka producer directly; consumers rely on a customer's records
keeping the partition ``topic.send`` gave them, so that placement is read back from the broker.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import faust
import pytest

from schemas.errors import OutputUnavailableError
from schemas.event_days import day_end
from schemas.outputs import DeadLetter, DeadLetterReason, Prediction, ResolvedDay, ScoreSource
from stack.topics import ensure_topics
from streams.app import create_app
from streams.metrics import PipelineMetrics
from streams.publisher import OutputPublisher
from streams.settings import KafkaSettings, Settings, TopicSettings
from streams.topic_reader import read_topics
from streams.topics import ChurnTopics, declare_topics

pytestmark = pytest.mark.integration

MAX_REQUEST_BYTES = 6000


@dataclass
class Outputs:
    app: faust.App
    topics: ChurnTopics
    names: TopicSettings
    metrics: PipelineMetrics
    publisher: OutputPublisher
    bootstrap: str

    async def read(self, topic: str) -> list[tuple[int, bytes, bytes]]:
        """(partition, key, value) of every record of ``topic``."""
        records = await read_topics(self.bootstrap, [topic])
        return [(r.partition, r.key or b"", r.value or b"") for r in records]

    def refused(self, topic: str, outcome: str) -> float:
        labels = {"topic": topic, "outcome": outcome}
        return self.metrics.registry.get_sample_value("churnwatch_outputs_refused_total", labels) or 0.0


@pytest.fixture
async def outputs(kafka_bootstrap: str) -> AsyncIterator[Outputs]:
    suffix = uuid.uuid4().hex[:8]
    names = TopicSettings(
        alerts=f"retention.alerts.{suffix}",
        predictions=f"churn.predictions.{suffix}",
        training=f"churn.training.{suffix}",
        dead_letters=f"churn.dlq.{suffix}",
        capacity=f"retention.capacity.{suffix}",
        partitions=5,
    )
    await ensure_topics(kafka_bootstrap, [names.alerts, names.predictions, names.dead_letters], 5)
    await ensure_topics(kafka_bootstrap, [names.training], 1)
    settings = Settings(topics=names, kafka=KafkaSettings(max_request_bytes=MAX_REQUEST_BYTES))
    app = create_app(settings, kafka_bootstrap)
    topics = declare_topics(app, names)
    metrics = PipelineMetrics()
    await app.maybe_start_producer()
    try:
        yield Outputs(app, topics, names, metrics, OutputPublisher(topics, metrics), kafka_bootstrap)
    finally:
        await app.producer.stop()


def snapshot(index: int, padding: int = 0) -> Prediction:
    features = {f"f{n}": float(n) + 0.5 for n in range(padding)}
    return Prediction(
        snapshot_id=f"s{index}",
        customer_id=f"C{index:07d}",
        event_time=day_end(20454),
        features=features,
        score=0.25,
        model_version="rules-1",
        score_source=ScoreSource.COLD_START_RULES,
    )


def dead_letter(offset: int, original_bytes: int) -> DeadLetter:
    return DeadLetter(
        reason=DeadLetterReason.NOT_JSON,
        detail="not JSON",
        source_topic="telco.calls",
        source_partition=2,
        source_offset=offset,
        original_key_b64="QzAwMDAwMDE=",
        original_value_b64="eA" * (original_bytes // 2),
        original_size=original_bytes,
        original_key_size=8,
        rejected_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


class TestOutputPublisher:
    async def test_keys_land_on_the_partitions_faust_topic_send_gives_them(self, outputs: Outputs) -> None:
        predictions = [snapshot(index) for index in range(300)]
        deliveries = [
            await outputs.topics.alerts.send(key=p.customer_id.encode(), value=b"by topic.send")
            for p in predictions
        ]
        for delivery in deliveries:
            await delivery
        await outputs.publisher.publish((), (), predictions)

        by_faust = {key: partition for partition, key, _ in await outputs.read(outputs.names.alerts)}
        published = await outputs.read(outputs.names.predictions)
        by_publisher = {key: partition for partition, key, _ in published}
        assert len(by_publisher) == len(predictions) == len(by_faust)
        assert len(set(by_publisher.values())) == 5, "the keys should spread over every partition"
        assert by_publisher == by_faust
        read_back = {(p := Prediction.model_validate_json(value)).customer_id: p for *_, value in published}
        assert read_back == {p.customer_id: p for p in predictions}

    async def test_refused_dead_letter_goes_out_reduced_and_a_refused_snapshot_is_dropped(
        self, outputs: Outputs
    ) -> None:
        """Over the producer's size limit: the dead letter is resent without its original, the
        snapshot is counted and dropped, and the rest of the batch is delivered."""
        letters = [dead_letter(10, 100), dead_letter(11, MAX_REQUEST_BYTES * 2)]
        predictions = [snapshot(1), snapshot(2, padding=800), snapshot(3)]
        resolved = ResolvedDay(partition=0, resolved_on=date(2026, 1, 31), examples=2)
        await outputs.publisher.publish((), letters, predictions, [resolved])

        sent_letters = [
            DeadLetter.model_validate_json(v) for *_, v in await outputs.read(outputs.names.dead_letters)
        ]
        assert sorted((d.source_offset, d.original_value_b64 == "") for d in sent_letters) == [
            (10, False),
            (11, True),
        ]
        reduced = next(d for d in sent_letters if d.source_offset == 11)
        assert reduced.original_size == MAX_REQUEST_BYTES * 2
        assert reduced.original_truncated
        sent_snapshots = [
            Prediction.model_validate_json(v) for *_, v in await outputs.read(outputs.names.predictions)
        ]
        assert sorted(p.snapshot_id for p in sent_snapshots) == ["s1", "s3"]
        assert [
            ResolvedDay.model_validate_json(v) for *_, v in await outputs.read(outputs.names.training)
        ] == [resolved]
        assert outputs.refused(outputs.names.dead_letters, "reduced") == 1
        assert outputs.refused(outputs.names.predictions, "dropped") == 1

    async def test_a_stopped_producer_makes_outputs_unavailable(self, outputs: Outputs) -> None:
        """While the app stops, a batch's outputs cannot be published: the batch is retried."""
        await outputs.app.producer.stop()
        with pytest.raises(OutputUnavailableError):
            await outputs.publisher.publish((), (), [snapshot(1)])
        assert await outputs.read(outputs.names.predictions) == []
