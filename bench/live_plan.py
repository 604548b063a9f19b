"""The live phase's traffic plan: which event goes when, to which topic, about which customer.

Live traffic is not the simulator's arrival order: calls arrive all the time on every
partition, while top-ups, complaints and lifecycle changes are sparse, and some partitions
of each sparse topic see nothing for minutes (complaints come in bursts from a few regions,
lifecycle changes from very few customers). A quiet partition is what holds an event-time
pipeline back, so the plan makes those silences on purpose and the report measures them.

Pure: the caller groups customers by the partition the producer will give their key
(``sim.kafka_producer.partition_of``) and sends each planned event at its offset.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

CALL = "call"
SPARSE_TYPES = ("topup", "complaint", "lifecycle")


@dataclass(frozen=True)
class SparseShape:
    """How one sparse topic sends: its share of all events, the fraction of partitions that ever
    send, and the bursts those send in (``burst_s`` on, then ``silence_s`` quiet, staggered)."""

    share: float
    partitions_fraction: float
    burst_s: float
    silence_s: float

    @property
    def cycle_s(self) -> float:
        return self.burst_s + self.silence_s


@dataclass(frozen=True)
class LiveMix:
    """The topic mix of the live phase; calls take whatever share the sparse topics leave.

    Shares are about the simulator's (calls ~97.7%, top-ups ~1.9%, complaints ~0.4%,
    lifecycle ~0.02%); lifecycle is raised a little so a short phase still sends some.
    """

    sparse: dict[str, SparseShape] = field(
        default_factory=lambda: {
            "topup": SparseShape(share=0.02, partitions_fraction=0.75, burst_s=40.0, silence_s=120.0),
            "complaint": SparseShape(share=0.004, partitions_fraction=0.5, burst_s=20.0, silence_s=150.0),
            "lifecycle": SparseShape(share=0.001, partitions_fraction=0.25, burst_s=15.0, silence_s=180.0),
        }
    )


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    """One event of the plan: ``at_s`` seconds after the phase starts, of ``event_type``, keyed
    by ``customer_id`` (so it lands on ``partition``)."""

    at_s: float
    event_type: str
    customer_id: str
    partition: int


def sending_partitions(partitions: int, fraction: float) -> list[int]:
    """The partitions a sparse topic ever sends on: the first ``fraction`` of them, at least one.

    >>> sending_partitions(4, 0.5), sending_partitions(4, 0.1), sending_partitions(1, 0.25)
    ([0, 1], [0], [0])
    """
    return list(range(max(1, math.floor(partitions * fraction))))


def on_windows(shape: SparseShape, partitions: int, duration_s: float) -> list[tuple[int, float, float]]:
    """``(partition, start_s, end_s)`` of every burst within ``[0, duration_s)``, in partition order.

    The sending partitions' bursts are staggered over the cycle, so the topic as a whole is
    rarely silent while each of its partitions is silent for ``silence_s`` between bursts.

    >>> on_windows(SparseShape(0.01, 0.5, 10.0, 30.0), 4, 100.0)
    [(0, 0.0, 10.0), (0, 40.0, 50.0), (0, 80.0, 90.0), (1, 20.0, 30.0), (1, 60.0, 70.0)]
    """
    senders = sending_partitions(partitions, shape.partitions_fraction)
    windows = []
    for index, partition in enumerate(senders):
        start_s = shape.cycle_s * index / len(senders)
        while start_s < duration_s:
            windows.append((partition, start_s, min(start_s + shape.burst_s, duration_s)))
            start_s += shape.cycle_s
    return windows


def spread(count: int, windows: Sequence[tuple[int, float, float]]) -> list[tuple[float, int]]:
    """``count`` evenly spaced ``(at_s, partition)`` over the windows' total length, in window order.

    >>> spread(4, [(0, 0.0, 2.0), (1, 10.0, 12.0)])
    [(0.5, 0), (1.5, 0), (10.5, 1), (11.5, 1)]
    """
    total_s = sum(end_s - start_s for _, start_s, end_s in windows)
    if count <= 0 or total_s <= 0:
        return []
    placed = []
    window_index, before_s = 0, 0.0  # on-time of the windows before the current one
    for number in range(count):
        position_s = (number + 0.5) * total_s / count
        partition, start_s, end_s = windows[window_index]
        while position_s >= before_s + (end_s - start_s) and window_index + 1 < len(windows):
            before_s += end_s - start_s
            window_index += 1
            partition, start_s, end_s = windows[window_index]
        placed.append((start_s + position_s - before_s, partition))
    return placed


def live_plan(
    rate_eps: float,
    duration_s: float,
    customers_by_partition: Sequence[Sequence[str]],
    mix: LiveMix,
    seed: int,
) -> list[PlannedEvent]:
    """Every event of a live phase of ``duration_s`` at ``rate_eps`` overall, in send order.

    Calls are spread evenly over the whole phase, each about a customer drawn from all of them
    (so every partition is busy); each sparse topic's events are spread evenly over its bursts,
    about customers of the bursting partition. ``customers_by_partition[p]`` are the customers
    whose key the producer sends to partition ``p``; every partition needs at least one.

    >>> plan = live_plan(100.0, 10.0, [["a", "c"], ["b"]], LiveMix(), seed=1)
    >>> len(plan), sorted({e.partition for e in plan if e.event_type == "call"})
    (1000, [0, 1])
    >>> sorted({(e.event_type, e.partition) for e in plan if e.event_type != "call"})
    [('complaint', 0), ('lifecycle', 0), ('topup', 0)]
    """
    if any(not customers for customers in customers_by_partition):
        raise ValueError("customers_by_partition: every partition needs at least one customer")
    rng = random.Random(seed)
    total = round(rate_eps * duration_s)
    partitions = len(customers_by_partition)
    everyone = [
        (customer, partition)
        for partition, group in enumerate(customers_by_partition)
        for customer in group
    ]
    plan: list[PlannedEvent] = []
    sparse_total = 0
    for event_type, shape in mix.sparse.items():
        count = round(total * shape.share)
        for at_s, partition in spread(count, on_windows(shape, partitions, duration_s)):
            customer = rng.choice(customers_by_partition[partition])
            plan.append(PlannedEvent(at_s, event_type, customer, partition))
            sparse_total += 1
    calls = total - sparse_total
    for number in range(calls):
        customer, partition = rng.choice(everyone)
        plan.append(PlannedEvent((number + 0.5) * duration_s / calls, CALL, customer, partition))
    plan.sort(key=lambda event: event.at_s)
    return plan


def longest_silence_s(send_times_s: Sequence[float], began_s: float, ended_s: float) -> float:
    """The longest stretch of ``[began_s, ended_s]`` in which a partition sent nothing.

    A partition that never sent was silent for the whole phase.

    >>> longest_silence_s([3.0, 4.0, 9.5], 1.0, 10.0), longest_silence_s([], 1.0, 10.0)
    (5.5, 9.0)
    """
    moments = [began_s, *sorted(send_times_s), ended_s]
    return max(later - earlier for earlier, later in itertools.pairwise(moments))
