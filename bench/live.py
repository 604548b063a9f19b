"""The latency phase's traffic: planned live events re-stamped with the wall clock as they are sent.

Each event's ``event_time`` is the moment it is handed to the producer (microseconds), so
event time and wall clock agree, as in production, and an alert's ``event_time`` names
the send time of the event that triggered it. Which event goes when, to which topic and
customer, is ``bench.live_plan``'s; the payloads are simulator events of the same type.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from bench.dataset import input_topic
from bench.errors import BenchError
from bench.live_plan import PlannedEvent, longest_silence_s
from sim.kafka_producer import open_producer, partition_of
from sim.pacing import EventTimeSpeedup
from sim.simulate import simulate
from streams.settings import TopicSettings

SendTimes = dict[tuple[str, int, int], float]
TriggerKey = tuple[str, datetime]  # (customer_id, event_time) of a sent event
_INPUT_TYPES = ("call", "topup", "complaint", "lifecycle")
_TEMPLATE_DAYS = 120  # enough for the rarest type even with few customers


@dataclass(frozen=True)
class LiveSends:
    """What the live producer sent: each record's send time by position, its event type by topic,
    which event each (customer, event time) was, and the wall-clock window of the phase."""

    send_times: SendTimes
    topic_types: dict[str, str]  # topic name -> event type
    triggers: dict[TriggerKey, str]  # (customer_id, event_time) -> event type
    sent_per_type: Counter[str]
    began_s: float
    ended_s: float
    # records the broker put on another partition than the plan computed (0: the plan's shape holds)
    partition_mismatches: int


def stamped_at(wall_s: float) -> datetime:
    """The event time a record sent at ``wall_s`` (Unix seconds) carries: UTC, microseconds.

    >>> stamped_at(1.5).isoformat()
    '1970-01-01T00:00:01.500000+00:00'
    """
    return datetime.fromtimestamp(wall_s, UTC)


def live_stamp(event: dict[str, Any], index: int, wall_s: float) -> bytes:
    """The event as sent live: unique ``event_id``, ``event_time`` = ``wall_s`` (UTC, microseconds).

    >>> live_stamp({"type": "topup", "event_id": "s1-4", "event_time": "2026-01-05T00:00:00Z"}, 9, 1.5)
    b'{"type":"topup","event_id":"live-9","event_time":"1970-01-01T00:00:01.500000+00:00"}'
    """
    stamped = {
        **event,
        "event_id": f"live-{index}",
        "event_time": stamped_at(wall_s).isoformat(timespec="microseconds"),
    }
    return orjson.dumps(stamped)


@dataclass(frozen=True)
class LiveTemplates:
    """Simulator events to send planned events as (per type), and the customers they are about."""

    by_type: dict[str, list[dict[str, Any]]]
    customer_ids: list[str]


def live_templates(per_type: int, customers: int, seed: int, start: datetime) -> LiveTemplates:
    """Up to ``per_type`` ongoing simulator events of each type, generated before the clock starts.

    The simulator opens with every customer's go-live profile or activation (one each); those
    are left out, so the payloads are calls, top-ups, complaints and later lifecycle changes,
    as on a normal day. Lifecycle changes are rare (about 1 in 5,000 events), so the
    simulation runs until every type has its templates or its days are over.
    """
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    customer_ids: dict[str, None] = {}
    for event in simulate(customers, _TEMPLATE_DAYS, seed, start):
        if event["type"] == "lifecycle" and event.get("kind") in ("activated", "profile"):
            continue
        customer_ids[event["customer_id"]] = None
        kept = by_type[event["type"]]
        if len(kept) < per_type:
            kept.append(event)
        if len(by_type) == len(_INPUT_TYPES) and all(len(kept) >= per_type for kept in by_type.values()):
            break
    return LiveTemplates(dict(by_type), list(customer_ids))


def customers_by_partition(customer_ids: Sequence[str], partitions: int) -> list[list[str]]:
    """The customers whose key the producer sends to each partition (index = partition).

    >>> groups = customers_by_partition([f"C{n:07d}" for n in range(100)], 4)
    >>> len(groups), sum(map(len, groups)), all(groups)
    (4, 100, True)
    """
    groups: list[list[str]] = [[] for _ in range(partitions)]
    for customer_id in customer_ids:
        groups[partition_of(customer_id.encode(), partitions)].append(customer_id)
    return groups


def templates_by_type(events: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Simulator events grouped by type: the payloads planned events of that type are made from.

    >>> templates_by_type([{"type": "call", "n": 1}, {"type": "topup"}, {"type": "call", "n": 2}])["call"]
    [{'type': 'call', 'n': 1}, {'type': 'call', 'n': 2}]
    """
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        grouped[event["type"]].append(event)
    return dict(grouped)


async def produce_live(
    bootstrap: str,
    topics: TopicSettings,
    plan: Sequence[PlannedEvent],
    templates: dict[str, list[dict[str, Any]]],
) -> LiveSends:
    """Send each planned event at its offset from the first one, re-stamped and about its customer.

    A late producer sends at once and catches up, so a slow moment never builds a backlog of sleeps.
    """
    missing = {event.event_type for event in plan} - set(templates)
    if missing:
        raise BenchError(f"event types {sorted(missing)}: no simulator event to send them as")
    cycles = {event_type: itertools.cycle(events) for event_type, events in templates.items()}
    pacer = EventTimeSpeedup(1.0)
    sent: list[tuple[asyncio.Future[Any], float, PlannedEvent]] = []
    topic_types: dict[str, str] = {}
    async with open_producer(bootstrap, linger_ms=1) as producer:
        began_s = time.time()
        for index, planned in enumerate(plan):
            await pacer.wait(planned.at_s)
            wall_s = time.time()
            topic = input_topic(topics, planned.event_type)
            topic_types[topic] = planned.event_type
            event = {**next(cycles[planned.event_type]), "customer_id": planned.customer_id}
            future = await producer.send(
                topic, live_stamp(event, index, wall_s), key=planned.customer_id.encode()
            )
            sent.append((future, wall_s, planned))
        ended_s = time.time()
    send_times: SendTimes = {}
    triggers: dict[TriggerKey, str] = {}
    mismatches = 0
    for future, wall_s, planned in sent:
        metadata = await future
        send_times[(metadata.topic, metadata.partition, metadata.offset)] = wall_s
        triggers[(planned.customer_id, stamped_at(wall_s))] = planned.event_type
        mismatches += metadata.partition != planned.partition
    sent_per_type = Counter(planned.event_type for _, _, planned in sent)
    return LiveSends(send_times, topic_types, triggers, sent_per_type, began_s, ended_s, mismatches)


def alert_latency_ms(alert_value: bytes, published_ms: int) -> float:
    """From the triggering event's time (its send time, see above) to the alert record's timestamp.

    >>> alert_latency_ms(b'{"event_time": "1970-01-01T00:00:01.500000+00:00"}', 1_620)
    120.0
    """
    event_time = datetime.fromisoformat(orjson.loads(alert_value)["event_time"])
    return published_ms - event_time.timestamp() * 1000.0


def processed_latencies_by_type(
    sends: LiveSends, processed_times: list[tuple[str, int, int, float]]
) -> dict[str, list[float]]:
    """Send-to-processed times (ms) of every live record, per event type.

    The worker notes ``(topic, partition, offset, time)`` once per released tick and partition:
    every record up to that offset is processed by then. So a record's time is that of the
    first note reaching its offset, not only the noted offset's (the tick's last record, the
    one that waited least).

    >>> sends = LiveSends({("t.calls", 0, 4): 9.0, ("t.calls", 0, 5): 10.0, ("t.calls", 0, 6): 10.5},
    ...                   {"t.calls": "call"}, {}, Counter(), 9.0, 11.0, 0)
    >>> processed_latencies_by_type(sends, [("t.calls", 0, 5, 10.25), ("t.calls", 1, 0, 11.0)])
    {'call': [1250.0, 250.0]}
    """
    offsets: dict[tuple[str, int], list[int]] = defaultdict(list)
    for topic, partition, sent_offset in sends.send_times:
        offsets[(topic, partition)].append(sent_offset)
    waiting = {tp: iter(sorted(sent)) for tp, sent in offsets.items()}
    next_offset: dict[tuple[str, int], int | None] = {tp: next(it, None) for tp, it in waiting.items()}
    latencies: dict[str, list[float]] = defaultdict(list)
    for topic, partition, through, done_s in sorted(processed_times, key=lambda noted: noted[3]):
        tp = (topic, partition)
        offset: int | None = next_offset.get(tp)
        while offset is not None and offset <= through:
            sent_s = sends.send_times[(topic, partition, offset)]
            latencies[sends.topic_types[topic]].append((done_s - sent_s) * 1000.0)
            offset = next(waiting[tp], None)
        if tp in next_offset:
            next_offset[tp] = offset
    return dict(latencies)


def alert_latencies_by_trigger(
    alerts: Sequence[tuple[bytes, int]], sends: LiveSends
) -> dict[str, list[float]]:
    """Event-to-alert times (ms) per type of the triggering event, from alert records and their
    broker timestamps (ms). The alert names its trigger by customer and event time, which the
    send log maps to the event sent; an alert it cannot map counts under ``unmatched``.

    >>> at = stamped_at(1.5)
    >>> sends = LiveSends({}, {}, {("C1", at): "complaint"}, Counter(), 0.0, 2.0, 0)
    >>> alert = orjson.dumps({"customer_id": "C1", "event_time": at.isoformat()})
    >>> other = orjson.dumps({"customer_id": "C2", "event_time": at.isoformat()})
    >>> alert_latencies_by_trigger([(alert, 1_620), (other, 1_700)], sends)
    {'complaint': [120.0], 'unmatched': [200.0]}
    """
    latencies: dict[str, list[float]] = defaultdict(list)
    for value, published_ms in alerts:
        alert = orjson.loads(value)
        trigger = (alert["customer_id"], datetime.fromisoformat(alert["event_time"]))
        latencies[sends.triggers.get(trigger, "unmatched")].append(alert_latency_ms(value, published_ms))
    return dict(latencies)


def longest_silences_s(sends: LiveSends, partitions: int) -> dict[str, float]:
    """Per event type, the longest stretch of the phase in which one of its topic's partitions
    sent nothing (a partition that never sent: the whole phase).

    >>> sends = LiveSends({("t.c", 0, 0): 1.0, ("t.c", 0, 1): 2.0, ("t.c", 1, 0): 4.0},
    ...                   {"t.c": "complaint"}, {}, Counter(), 0.0, 5.0, 0)
    >>> longest_silences_s(sends, 2), longest_silences_s(sends, 3)
    ({'complaint': 4.0}, {'complaint': 5.0})
    """
    times: dict[tuple[str, int], list[float]] = defaultdict(list)
    for (topic, partition, _), sent_s in sends.send_times.items():
        times[(topic, partition)].append(sent_s)
    return {
        event_type: max(
            longest_silence_s(times[(topic, partition)], sends.began_s, sends.ended_s)
            for partition in range(partitions)
        )
        for topic, event_type in sends.topic_types.items()
    }
