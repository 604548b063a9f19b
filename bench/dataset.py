"""The pre-produced topic set every throughput run reads: simulator events keyed by customer id."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from bench.errors import BenchError
from sim.kafka_producer import open_producer
from sim.simulate import simulate
from stack.topics import ensure_topics
from streams.settings import TopicSettings

TopicPartition = tuple[str, int]
_IN_FLIGHT = 20_000


@dataclass(frozen=True)
class ProducedSet:
    """What is on the broker: the end offset of every input partition and who the events are about."""

    topics: TopicSettings
    end_offsets: dict[TopicPartition, int]
    per_type: Counter[str]
    customer_ids: tuple[str, ...]
    elapsed_s: float

    @property
    def events(self) -> int:
        return sum(self.end_offsets.values())


def input_topic(topics: TopicSettings, event_type: str) -> str:
    """The input topic of an event's ``type``.

    >>> input_topic(TopicSettings(calls="b.calls"), "call")
    'b.calls'
    """
    names = {
        "call": topics.calls,
        "topup": topics.topups,
        "complaint": topics.complaints,
        "lifecycle": topics.lifecycle,
    }
    if event_type not in names:
        raise BenchError(f"type={event_type!r}: not an input event type")
    return names[event_type]


EVENTS_PER_CUSTOMER_DAY = 2.8
"""About what the simulator makes (2.83 per customer and day): events for a wanted history length."""


def days_for(events: int, customers: int) -> int:
    """Simulated days that surely yield ``events`` (the simulator makes ~2.9 per customer and day).

    >>> days_for(200_000, 50_000)
    3
    """
    return math.ceil(events / customers / 2.0) + 1


def simulated_events(events: int, customers: int, seed: int, start: datetime) -> Iterator[dict[str, Any]]:
    """The first ``events`` simulator events (arrival order) over ``customers`` customers."""
    produced = 0
    for event in simulate(customers, days_for(events, customers), seed, start):
        if produced == events:
            return
        yield event
        produced += 1
    raise BenchError(f"events={events}: the simulator yielded only {produced}")


async def produce_dataset(
    bootstrap: str, topics: TopicSettings, events: int, customers: int, seed: int, start: datetime
) -> ProducedSet:
    """Create the four input topics (co-partitioned) and fill them as fast as the producer goes."""
    names = [topics.calls, topics.topups, topics.complaints, topics.lifecycle]
    await ensure_topics(bootstrap, names, topics.partitions, topics.replicas)
    end_offsets: dict[TopicPartition, int] = {
        (name, partition): 0 for name in names for partition in range(topics.partitions)
    }
    per_type: Counter[str] = Counter()
    customer_ids: dict[str, None] = {}
    began = time.perf_counter()
    async with open_producer(bootstrap) as producer:
        in_flight: list[asyncio.Future[Any]] = []
        for event in simulated_events(events, customers, seed, start):
            customer_id = event["customer_id"]
            customer_ids[customer_id] = None
            per_type[event["type"]] += 1
            topic = input_topic(topics, event["type"])
            in_flight.append(await producer.send(topic, orjson.dumps(event), key=customer_id.encode()))
            if len(in_flight) >= _IN_FLIGHT:
                _note_offsets(end_offsets, await asyncio.gather(*in_flight))
                in_flight = []
        await producer.flush()
        _note_offsets(end_offsets, await asyncio.gather(*in_flight))
    return ProducedSet(topics, end_offsets, per_type, tuple(customer_ids), time.perf_counter() - began)


def _note_offsets(end_offsets: dict[TopicPartition, int], delivered: list[Any]) -> None:
    for metadata in delivered:
        key = (metadata.topic, metadata.partition)
        end_offsets[key] = max(end_offsets[key], metadata.offset + 1)
