"""One agent per input topic: take a batch, hand it to the coordinator, let it drain.

Records are acknowledged by the coordinator, tick by tick, only once they are fully
handled, so Faust never commits an offset whose effects could still be lost.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import faust
from faust.types import EventT
from mode.supervisors import CrashingSupervisor

from schemas.events import EventType
from streams.coordinator import IngestCoordinator
from streams.metrics import PipelineMetrics
from streams.records import SourceRecord
from streams.settings import BatchSettings
from streams.throttle import IntakeThrottle
from streams.topics import ChurnTopics

AckToken = tuple[faust.StreamT[bytes], EventT[bytes]]


async def acknowledge(token: AckToken) -> None:
    """Acknowledge one event on the stream that delivered it."""
    stream, event = token
    await stream.ack(event)


def register_ingest_agents(
    app: faust.App,
    topics: ChurnTopics,
    coordinator: IngestCoordinator[AckToken],
    batching: BatchSettings,
    metrics: PipelineMetrics,
) -> None:
    """Wire each input topic to the coordinator; decisions live in features/, models/ and policy/."""
    throttle = IntakeThrottle(batching.max_records_per_second)  # one cap for the whole worker
    for event_type, topic in topics.inputs.items():
        agent = _ingest_agent(event_type, coordinator, batching, throttle, metrics)
        # An unexpected error stops the worker (to be restarted from committed offsets)
        # rather than restarting one agent over state the others still hold.
        app.agent(
            topic, name=f"churnwatch.ingest.{event_type.value}", supervisor_strategy=CrashingSupervisor
        )(agent)


def _ingest_agent(
    event_type: EventType,
    coordinator: IngestCoordinator[AckToken],
    batching: BatchSettings,
    throttle: IntakeThrottle,
    metrics: PipelineMetrics,
) -> Callable[[faust.StreamT[bytes]], Coroutine[Any, Any, None]]:
    async def ingest(stream: faust.StreamT[bytes]) -> None:
        # noack(): acknowledgements stay ours even while the worker stops. noack_take alone
        # turns the stream's automatic acks back on when it ends, and records still
        # buffered then were acknowledged, and committed, without being processed.
        manual: faust.StreamT[bytes] = stream.noack()  # type: ignore[attr-defined]
        async for events in manual.noack_take(  # type: ignore[attr-defined]
            batching.max_records, within=batching.within_s
        ):
            if not throttle.unlimited:
                metrics.intake_throttled_seconds.inc(await throttle.take(len(events)))
            await coordinator.submit(event_type, [(_source_record(e), (manual, e)) for e in events])
            await coordinator.drain()

    ingest.__doc__ = f"Consume {event_type.value} records in batches (wiring only)."
    return ingest


def _source_record(event: EventT[bytes]) -> SourceRecord:
    message = event.message
    return SourceRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        timestamp_s=message.timestamp,
    )
