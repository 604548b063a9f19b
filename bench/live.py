"""The latency phase's traffic: simulator events re-stamped with the wall clock, at a fixed rate.

Each event's ``event_time`` is the moment it is handed to the producer (microseconds), so
event time and wall clock agree, as in production, and an alert's ``event_time`` names
the send time of the event that triggered it.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from bench.dataset import input_topic, simulated_events
from sim.kafka_producer import open_producer
from sim.pacing import FixedRate
from streams.settings import TopicSettings

SendTimes = dict[tuple[str, int, int], float]


def live_stamp(event: dict[str, Any], index: int, wall_s: float) -> bytes:
    """The event as sent live: unique ``event_id``, ``event_time`` = ``wall_s`` (UTC, microseconds).

    >>> live_stamp({"type": "topup", "event_id": "s1-4", "event_time": "2026-01-05T00:00:00Z"}, 9, 1.5)
    b'{"type":"topup","event_id":"live-9","event_time":"1970-01-01T00:00:01.500000+00:00"}'
    """
    stamped = {
        **event,
        "event_id": f"live-{index}",
        "event_time": datetime.fromtimestamp(wall_s, UTC).isoformat(timespec="microseconds"),
    }
    return orjson.dumps(stamped)


def live_events(count: int, customers: int, seed: int, start: datetime) -> list[dict[str, Any]]:
    """Ongoing traffic, generated before the clock starts so generation never slows the offered load.

    The simulator opens with every customer's go-live profile or activation (one each); those
    are left out, so the live mix is calls, top-ups, complaints and later lifecycle changes,
    as on a normal day.
    """
    ongoing = (
        event
        for event in simulated_events(count * 2 + customers, customers, seed, start)
        if not (event["type"] == "lifecycle" and event.get("kind") in ("activated", "profile"))
    )
    return list(itertools.islice(ongoing, count))


async def produce_live(
    bootstrap: str, topics: TopicSettings, events: list[dict[str, Any]], rate_eps: float
) -> tuple[SendTimes, float]:
    """Send ``events`` at ``rate_eps``; returns each record's send time and the achieved rate."""
    pacer = FixedRate(rate_eps)
    sent: list[tuple[asyncio.Future[Any], float]] = []
    async with open_producer(bootstrap, linger_ms=1) as producer:
        began_s = time.perf_counter()
        for index, event in enumerate(events):
            await pacer.wait(0.0)
            wall_s = time.time()
            future = await producer.send(
                input_topic(topics, event["type"]),
                live_stamp(event, index, wall_s),
                key=event["customer_id"].encode(),
            )
            sent.append((future, wall_s))
        elapsed_s = time.perf_counter() - began_s
    send_times: SendTimes = {}
    for future, wall_s in sent:
        metadata = await future
        send_times[(metadata.topic, metadata.partition, metadata.offset)] = wall_s
    return send_times, len(events) / elapsed_s if elapsed_s > 0 else 0.0


def processed_latencies_ms(
    send_times: SendTimes, processed_times: list[tuple[str, int, int, float]]
) -> list[float]:
    """Send-to-acknowledge times of the records both sides know, in milliseconds.

    >>> processed_latencies_ms({("t", 0, 5): 10.0}, [("t", 0, 5, 10.25), ("t", 1, 0, 11.0)])
    [250.0]
    """
    return [
        (done_s - send_times[(topic, partition, offset)]) * 1000.0
        for topic, partition, offset, done_s in processed_times
        if (topic, partition, offset) in send_times
    ]


def alert_latency_ms(alert_value: bytes, published_ms: int) -> float:
    """From the triggering event's time (its send time, see above) to the alert record's timestamp.

    >>> alert_latency_ms(b'{"event_time": "1970-01-01T00:00:01.500000+00:00"}', 1_620)
    120.0
    """
    event_time = datetime.fromisoformat(orjson.loads(alert_value)["event_time"])
    return published_ms - event_time.timestamp() * 1000.0
