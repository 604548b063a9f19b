"""Contract validation in µs per record: any validator, over simulated records as the replay sends them.

Records come from the simulator (``sim.simulate``), keyed by customer id and encoded with
``orjson`` as ``churnwatch replay`` publishes them, and are grouped by event type into
batches of the worker's size, as the coordinator receives them. A validator is timed over
every batch, best of ``repeats`` passes, so comparing two in one process run compares them
on the same records, the same interpreter and the same caches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import orjson

from schemas.events import EventType
from sim.simulate import Simulation
from streams.validation import KeyedValue

BatchValidator = Callable[[Sequence[KeyedValue], EventType], Sequence[object]]
RecordValidatorFn = Callable[[bytes | None, bytes | None, EventType], object]


def simulated_records(
    customers: int = 1_000, days: int = 20, seed: int = 7, start: datetime = datetime(2026, 1, 5, tzinfo=UTC)
) -> dict[EventType, list[KeyedValue]]:
    """The simulator's events for ``customers`` over ``days``, as keyed records per event type.

    >>> records = simulated_records(customers=20, days=2)
    >>> sum(map(len, records.values())) > 40, next(iter(records[EventType.LIFECYCLE]))[0][:2]
    (True, b'C0')
    """
    grouped: dict[EventType, list[KeyedValue]] = {event_type: [] for event_type in EventType}
    for event in Simulation(customers, days, seed, start).events():
        grouped[EventType(event["type"])].append((event["customer_id"].encode(), orjson.dumps(event)))
    return grouped


def one_by_one(validate: RecordValidatorFn) -> BatchValidator:
    """A per-record validator as a batch validator: a loop, as the coordinator had it.

    >>> one_by_one(lambda key, value, event_type: value)([(b"k", b"v")], EventType.CALL)
    [b'v']
    """

    def validate_batch(records: Sequence[KeyedValue], event_type: EventType) -> list[object]:
        return [validate(key, value, event_type) for key, value in records]

    return validate_batch


def microseconds_per_record(
    validate_batch: BatchValidator,
    records: Mapping[EventType, Sequence[KeyedValue]],
    batch_size: int = 1_000,
    repeats: int = 5,
) -> float:
    """Wall-clock µs per record of ``validate_batch`` over all batches, the best of ``repeats`` passes.

    >>> records = {EventType.CALL: [(b"k", b"v")] * 10}
    >>> microseconds_per_record(lambda batch, event_type: batch, records, batch_size=4, repeats=2) >= 0
    True
    """
    batches = [
        (event_type, list(typed[first : first + batch_size]))
        for event_type, typed in records.items()
        for first in range(0, len(typed), batch_size)
    ]
    count = sum(len(batch) for _, batch in batches)
    best_s = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for event_type, batch in batches:
            validate_batch(batch, event_type)
        best_s = min(best_s, time.perf_counter() - started)
    return best_s / max(count, 1) * 1e6


def compare_validators(
    validators: Mapping[str, BatchValidator],
    records: Mapping[EventType, Sequence[KeyedValue]],
    batch_size: int = 1_000,
    repeats: int = 5,
) -> dict[str, float]:
    """µs per record of each validator, by name, measured in turn on the same records."""
    return {
        name: microseconds_per_record(validate_batch, records, batch_size, repeats)
        for name, validate_batch in validators.items()
    }
