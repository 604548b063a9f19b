"""The input topics' consumers: each fetched batch of a topic goes to the coordinator, then it drains.

Records arrive in whole fetched batches from ``streams.input_reader`` (framework work per
batch, not per record). They are acknowledged by the coordinator, tick by tick, only
once they are fully handled, so no offset is committed whose effects could still be lost.
"""

from __future__ import annotations

from collections.abc import Sequence

import faust

from pipeline.coordinator import IngestCoordinator
from pipeline.throttle import IntakeThrottle
from streams.input_reader import InputReader, InputToken, PartitionKey, ReaderHooks
from streams.metrics import PipelineMetrics
from streams.records import SourceRecord
from streams.settings import Settings
from streams.topics import ChurnTopics


def ingest_hooks(
    topics: ChurnTopics,
    coordinator: IngestCoordinator[InputToken],
    throttle: IntakeThrottle,
    metrics: PipelineMetrics,
) -> ReaderHooks:
    """Calls, top-ups, complaints and lifecycle events: each topic's batch is validated and queued."""
    event_types = {topic.get_topic_name(): event_type for event_type, topic in topics.inputs.items()}

    async def handle(topic: str, records: Sequence[tuple[SourceRecord, InputToken]]) -> None:
        if not throttle.unlimited:
            metrics.intake_throttled_seconds.inc(await throttle.take(len(records)))
        await coordinator.submit(event_types[topic], records)

    async def assigned(tps: list[PartitionKey]) -> None:
        await coordinator.assign(tps)

    async def revoked(tps: list[PartitionKey]) -> None:
        await coordinator.revoke(tps)
        metrics.forget_partitions(tps)

    return ReaderHooks(handle=handle, after_batch=coordinator.drain, assigned=assigned, revoked=revoked)


def register_ingest(app: faust.App, reader: InputReader, topics: ChurnTopics, settings: Settings) -> None:
    """Run the input reader beside the app's other tasks; it stops before the producer does."""

    @app.task  # type: ignore[untyped-decorator]
    async def ingest() -> None:
        """Read the input topics into the coordinator (wiring only)."""
        for topic in topics.inputs.values():  # a worker started before any producer finds them
            await topic.maybe_declare()
        await reader.run(lambda: bool(app.should_stop))

    async def stop_reading() -> None:
        await reader.stop(settings.kafka.rebalance_timeout_s + 5.0)

    app.before_stop.append(stop_reading)  # type: ignore[attr-defined]
