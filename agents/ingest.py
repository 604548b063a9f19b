"""The input reader's wiring: it hands each fetched batch to its topic's agent (``agents.inputs``).

The reader runs as a task of the app and fetches in bulk (framework work per batch, not
per record); rebalances go straight to the coordinator. Records are acknowledged by the
coordinator, tick by tick, only once they are fully handled, so no offset is committed
whose effects could still be lost.
"""

from __future__ import annotations

import faust

from pipeline.coordinator import IngestCoordinator
from streams.input_batches import BatchChannels
from streams.input_reader import InputReader, InputToken, PartitionKey, ReaderHooks
from streams.metrics import PipelineMetrics
from streams.settings import Settings
from streams.topics import ChurnTopics


def reader_hooks(
    channels: BatchChannels, coordinator: IngestCoordinator[InputToken], metrics: PipelineMetrics
) -> ReaderHooks:
    """Batches to the agents, one at a time; partitions taken and given up to the coordinator."""

    async def revoked(tps: list[PartitionKey]) -> None:
        await coordinator.revoke(tps)
        metrics.forget_partitions(tps)

    return ReaderHooks(handle=channels.hand_over, assigned=coordinator.assign, revoked=revoked)


def register_ingest(app: faust.App, reader: InputReader, topics: ChurnTopics, settings: Settings) -> None:
    """Run the input reader beside the agents; it stops before the agents and the producer do.

    An error in an agent stops the reader with that error, and the app with it (the
    worker is restarted from the committed offsets).
    """

    @app.task  # type: ignore[untyped-decorator]
    async def ingest() -> None:
        """Read the input topics into the agents (wiring only)."""
        for topic in topics.inputs.values():  # a worker started before any producer finds them
            await topic.maybe_declare()
        await reader.run(lambda: bool(app.should_stop))

    async def stop_reading() -> None:
        await reader.stop(settings.kafka.rebalance_timeout_s + 5.0)

    app.before_stop.append(stop_reading)  # type: ignore[attr-defined]
