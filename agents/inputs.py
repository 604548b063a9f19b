"""The input topics' agents: each consumes one topic's fetched batches into the pipeline.

| agent | consumes (default topic name) |
|---|---|
| ``consume_calls`` | ``telco.calls`` |
| ``consume_topups`` | ``telco.topups`` |
| ``consume_complaints`` | ``telco.complaints`` |
| ``consume_lifecycle`` | ``telco.lifecycle`` |

The records come from the worker's input reader (``agents/ingest.py``), whole fetched
batches through one channel per topic (``streams.input_batches``). An agent takes a
batch through the intake throttle into the coordinator (``submit``: validated, dead
letters out, queued for its event-time tick) and lets it process every tick that became
complete (``drain``). The coordinator acknowledges records to the reader only once their
tick's effects are durable; the reader commits only those.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import faust

from pipeline.coordinator import IngestCoordinator
from pipeline.throttle import IntakeThrottle
from schemas.events import EventType
from streams.input_batches import BatchChannels, InputBatch, InputRecords, consume_batches
from streams.input_reader import InputToken
from streams.metrics import PipelineMetrics
from streams.topics import ChurnTopics

Intake = Callable[[EventType, InputRecords], Awaitable[object]]
"""Where an agent hands a batch of its topic's records (the event type says which contract)."""


def pipeline_intake(
    coordinator: IngestCoordinator[InputToken], throttle: IntakeThrottle, metrics: PipelineMetrics
) -> Intake:
    """The throttle (one cap shared by all four agents), then ``submit`` and ``drain``."""

    async def take(event_type: EventType, records: InputRecords) -> None:
        if not throttle.unlimited:
            metrics.intake_throttled_seconds.inc(await throttle.take(len(records)))
        await coordinator.submit(event_type, records)
        await coordinator.drain()

    return take


def register_input_agents(
    app: faust.App, topics: ChurnTopics, channels: BatchChannels, intake: Intake
) -> None:
    """One agent per input topic, each on that topic's channel of batches (wiring only)."""

    def channel(event_type: EventType) -> faust.ChannelT[InputBatch]:
        return channels.of(topics.inputs[event_type].get_topic_name())

    @app.agent(channel(EventType.CALL), name="consume_calls")
    async def consume_calls(batches: faust.StreamT[InputBatch]) -> None:
        """Consumes the calls topic (``telco.calls``)."""
        await consume_batches(batches, lambda records: intake(EventType.CALL, records))

    @app.agent(channel(EventType.TOPUP), name="consume_topups")
    async def consume_topups(batches: faust.StreamT[InputBatch]) -> None:
        """Consumes the top-ups topic (``telco.topups``)."""
        await consume_batches(batches, lambda records: intake(EventType.TOPUP, records))

    @app.agent(channel(EventType.COMPLAINT), name="consume_complaints")
    async def consume_complaints(batches: faust.StreamT[InputBatch]) -> None:
        """Consumes the complaints topic (``telco.complaints``)."""
        await consume_batches(batches, lambda records: intake(EventType.COMPLAINT, records))

    @app.agent(channel(EventType.LIFECYCLE), name="consume_lifecycle")
    async def consume_lifecycle(batches: faust.StreamT[InputBatch]) -> None:
        """Consumes the lifecycle topic (``telco.lifecycle``)."""
        await consume_batches(batches, lambda records: intake(EventType.LIFECYCLE, records))
