"""Arrival disorder as upstream systems produce it: late events, too-late events, duplicates.

Each event gets an arrival time (``arrival_s``); the stream is emitted in arrival order.
Most events arrive at their event time. ``late_share`` arrive up to 90% of the allowed
lateness later, ``too_late_share`` between 1.1 and 2 times the allowed lateness later
(lifecycle events are never too late, so churn labels are not lost, and activations and
go-live profiles are never late, so they come first), and
``duplicate_share`` are delivered a second time, identical, within two hours.
"""

from __future__ import annotations

import numpy as np

from sim.config import SimConfig
from sim.day import LIFECYCLE_KINDS
from sim.population import SECONDS_PER_DAY
from sim.table import KIND_LIFECYCLE, EventTable

_PROFILE = LIFECYCLE_KINDS.index("profile")
_MIN_DELAY_S = 300


def add_disorder(table: EventTable, config: SimConfig, rng: np.random.Generator) -> EventTable:
    """Set arrival times and append duplicates; event times and contents are unchanged.

    >>> from sim.table import KIND_CALL
    >>> table = EventTable.build(1000, KIND_CALL, time_s=np.arange(1000))
    >>> out = add_disorder(table, SimConfig(duplicate_share=0.0), np.random.default_rng(1))
    >>> bool((out.arrival_s >= out.time_s).all()), len(out)
    (True, 1000)
    """
    size = len(table)
    allowed_s = config.allowed_lateness_days * SECONDS_PER_DAY
    draw = rng.random(size)
    late = draw < config.late_share
    too_late = (~late) & (draw < config.late_share + config.too_late_share)
    lifecycle = table.kind == KIND_LIFECYCLE
    too_late &= ~lifecycle
    opening = (table.code_a == LIFECYCLE_KINDS.index("activated")) | (table.code_a == _PROFILE)
    late &= ~(lifecycle & opening)
    delay = np.zeros(size, dtype=np.int64)
    late_delay = np.clip(rng.exponential(config.late_mean_hours * 3600, size), _MIN_DELAY_S, 0.9 * allowed_s)
    delay[late] = late_delay[late].astype(np.int64)
    too_late_delay = rng.uniform(1.1 * allowed_s, 2.0 * allowed_s, size)
    delay[too_late] = too_late_delay[too_late].astype(np.int64)
    table.arrival_s = table.time_s + delay

    copies = table.take(rng.random(size) < config.duplicate_share)
    within_s = max(int(config.duplicate_within_hours * 3600), 2)
    copies.arrival_s = copies.arrival_s + rng.integers(1, within_s, len(copies))
    return EventTable.concat([table, copies])


class ArrivalBuffer:
    """Holds events whose arrival falls on a later day; its size is bounded by the lateness."""

    def __init__(self) -> None:
        self._pending = EventTable.empty()

    def __len__(self) -> int:
        return len(self._pending)

    def release(self, table: EventTable, before_s: int) -> EventTable:
        """Add ``table`` and return everything arriving before ``before_s``, in arrival order.

        >>> from sim.table import KIND_CALL
        >>> buffer = ArrivalBuffer()
        >>> first = buffer.release(EventTable.build(2, KIND_CALL, time_s=[5, 1], seq=[0, 1]), 3)
        >>> first.time_s.tolist(), len(buffer)
        ([1], 1)
        """
        combined = EventTable.concat([self._pending, table])
        now = combined.arrival_s < before_s
        self._pending = combined.take(~now)
        return combined.take(now).sorted_by_arrival()

    def drain(self) -> EventTable:
        """Everything still held, in arrival order."""
        rest = self._pending.sorted_by_arrival()
        self._pending = EventTable.empty()
        return rest
