"""Publish a simulated population straight to the input topics, paced by arrival time.

``publish_live`` is the demo's feed: one simulated day every ``seconds_per_day`` seconds,
so alerts appear while people watch, optionally with a few deliberately broken records
that the worker must dead-letter.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from schemas.events import EventType
from sim.config import SimConfig
from sim.encode import encode
from sim.pacing import EventTimeSpeedup, Pacer
from sim.population import SECONDS_PER_DAY
from sim.simulate import Simulation
from sim.sink import EventSink, EventTopics, KafkaProducerLike, ProducerSink

BAD_RECORD_KINDS = ("not_json", "naive_timestamp", "negative_amount", "unknown_type")


@dataclass(slots=True)
class PublishSummary:
    """Messages sent per topic, of which ``bad_records`` were deliberately invalid."""

    per_topic: Counter[str] = field(default_factory=Counter)
    bad_records: int = 0
    elapsed_s: float = 0.0

    @property
    def published(self) -> int:
        return sum(self.per_topic.values())

    @property
    def events_per_s(self) -> float:
        return self.published / self.elapsed_s if self.elapsed_s > 0 else 0.0


def bad_records(count: int, at: datetime) -> list[tuple[EventType, bytes, bytes]]:
    """``count`` invalid messages (type of the target topic, key, value), kinds in rotation.

    Kinds: not JSON, a naive timestamp, a negative top-up, an unknown ``type`` on the calls
    topic; each must end in the dead-letter topic, not in the features.

    >>> from datetime import UTC
    >>> [kind for kind, _, _ in bad_records(4, datetime(2026, 1, 1, tzinfo=UTC))][:3]
    [<EventType.CALL: 'call'>, <EventType.CALL: 'call'>, <EventType.TOPUP: 'topup'>]
    """
    moment = at.isoformat()
    naive = at.replace(tzinfo=None).isoformat()
    records: list[tuple[EventType, bytes, bytes]] = []
    for index in range(count):
        kind = BAD_RECORD_KINDS[index % len(BAD_RECORD_KINDS)]
        customer_id = f"BAD{index:05d}"
        head = {"event_id": f"bad-{index}", "customer_id": customer_id}
        if kind == "not_json":
            records.append((EventType.CALL, customer_id.encode(), b"{not json"))
            continue
        if kind == "naive_timestamp":
            event_type = EventType.CALL
            event = {
                **head,
                "type": "call",
                "event_time": naive,
                "direction": "outgoing",
                "duration_s": 30.0,
                "counterparty": "+999700000000",
            }
        elif kind == "negative_amount":
            event_type = EventType.TOPUP
            event = {**head, "type": "topup", "event_time": moment, "amount": -5.0}
        else:
            event_type = EventType.CALL
            event = {**head, "type": "sms", "event_time": moment, "counterparty": "+999700000000"}
        records.append((event_type, customer_id.encode(), orjson.dumps(event)))
    return records


async def publish_simulation(
    simulation: Simulation,
    sink: EventSink,
    topics: EventTopics,
    *,
    pacer: Pacer,
    bad_record_count: int = 0,
    on_day: Callable[[int, int], None] | None = None,
) -> PublishSummary:
    """Send every simulated event (arrival order) to its topic, key = customer_id.

    Bad records are spread over the run, one batch at the start of evenly spaced days.
    ``on_day(days_done, published_so_far)`` follows progress.
    """
    summary = PublishSummary()
    began = time.monotonic()
    injections: dict[int, list[tuple[EventType, bytes, bytes]]] = {}
    for index, record in enumerate(bad_records(bad_record_count, simulation.start)):
        day = (index + 1) * simulation.days // (bad_record_count + 1)
        injections.setdefault(day, []).append(record)
    plans = simulation.population.plans
    for day, table in enumerate(simulation.tables()):
        for event_type, key, value in injections.get(day, []):
            topic = topics.for_type(event_type.value) or topics.calls
            await sink.send(topic, key, value)
            summary.per_topic[topic] += 1
            summary.bad_records += 1
        events = encode(
            table,
            event_id_prefix=simulation.event_id_prefix,
            plans=plans,
            currency=simulation.config.currency,
        )
        for arrival_s, event in zip(table.arrival_s.tolist(), events, strict=True):
            topic = topics.for_type(event["type"]) or topics.calls
            await pacer.wait(float(arrival_s))
            await sink.send(topic, event["customer_id"].encode(), orjson.dumps(event))
            summary.per_topic[topic] += 1
        if on_day is not None:
            on_day(min(day + 1, simulation.days), summary.published)
    await sink.flush()
    summary.elapsed_s = time.monotonic() - began
    return summary


async def publish_live(
    producer: KafkaProducerLike,
    topics: EventTopics,
    *,
    customers: int,
    days: int,
    seed: int,
    start: datetime,
    seconds_per_day: float,
    bad_record_count: int = 0,
    config: SimConfig | None = None,
) -> PublishSummary:
    """Publish a seeded population in real time: one event-time day per ``seconds_per_day``.

    ``producer`` is a started ``aiokafka.AIOKafkaProducer`` (the caller owns its life).
    """
    simulation = Simulation(customers, days, seed, start, config)
    pacer = EventTimeSpeedup(SECONDS_PER_DAY / seconds_per_day)
    return await publish_simulation(
        simulation,
        ProducerSink(producer),
        topics,
        pacer=pacer,
        bad_record_count=bad_record_count,
    )
