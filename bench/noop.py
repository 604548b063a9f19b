"""Baseline (b): one Faust agent per input topic that takes batches and acknowledges them, nothing else.

Same app (``streams.app.create_app``: raw bytes, no monitor sensor, same buffer and fetch
sizes), same batching (``noack_take`` with the pipeline's ``max_records``/``within``) and
the same per-record ``stream.ack`` as the pipeline's coordinator, so the difference to
the pipeline is exactly the pipeline's own work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Any

import faust

from bench.floors import BatchWork
from schemas.events import EventType
from streams.app import create_app
from streams.settings import BatchSettings, Settings
from streams.topics import declare_topics


class NoopCounter:
    """Records consumed so far, and when the first batch arrived (``perf_counter`` and Unix time)."""

    def __init__(self) -> None:
        self.events = 0
        self.first_s: float | None = None
        self.first_wall_s: float | None = None

    def saw(self, count: int) -> None:
        if self.first_s is None:
            self.first_s = time.perf_counter()
            self.first_wall_s = time.time()
        self.events += count


def build_noop_app(
    settings: Settings, bootstrap: str, work: BatchWork | None = None
) -> tuple[faust.App, NoopCounter]:
    """The tuned app with a no-op agent on each of the four input topics.

    ``work``, when given, runs on each batch before it is acknowledged (``bench.floors``).
    """
    app = create_app(settings, bootstrap, faust_consumer=True)
    topics = declare_topics(app, settings.topics)
    counter = NoopCounter()
    for event_type, topic in topics.inputs.items():
        agent = _noop_agent(counter, settings.batching, event_type, work)
        app.agent(topic, name=f"bench.noop.{event_type.value}")(agent)
    return app, counter


def _noop_agent(
    counter: NoopCounter, batching: BatchSettings, event_type: EventType, work: BatchWork | None
) -> Callable[[faust.StreamT[bytes]], Coroutine[Any, Any, None]]:
    async def noop(stream: faust.StreamT[bytes]) -> None:
        """Take a batch, count it, acknowledge each record."""
        async for events in stream.noack_take(  # type: ignore[attr-defined]
            batching.max_records, within=batching.within_s
        ):
            counter.saw(len(events))
            if work is not None:
                await work(event_type, events)
            for event in events:
                await stream.ack(event)

    return noop
