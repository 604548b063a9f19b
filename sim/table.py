"""Columnar event buffer: one day of events as numpy arrays, a few bytes per event.

The simulator never holds Python objects for a whole day: a day of one million customers
is a few million rows here, turned into dicts only chunk by chunk on the way out.
Column meaning depends on ``kind`` (see ``sim.encode``):

========== ============ ============ ============= ============ ============= ========== ==============
kind       ``code_a``   ``code_b``   ``code_c``    ``code_d``   ``amount``    ``charge`` ``number``
========== ============ ============ ============= ============ ============= ========== ==============
call       direction    network      flags         -            duration_s    charge     counterparty
topup      channel      -            -             -            amount        -          -
complaint  category     severity     channel       -            -             -          -
lifecycle  kind         plan (or -1) payment (-1)  commitment   monthly fee   -          activated_on
========== ============ ============ ============= ============ ============= ========== ==============

``flags`` bit 1 = dropped, bit 2 = roaming; a complaint's ``code_c`` is its channel, plus 8
if resolved. A lifecycle row with a plan (``code_b`` >= 0) carries the customer's profile:
``code_c`` is the payment type plus twice the number of bundled services, ``code_d`` the
commitment in months, ``number`` the activation time in epoch seconds; a churn row has -1
in ``code_b``, ``code_c`` and ``code_d`` and no profile.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

KIND_CALL = 0
KIND_TOPUP = 1
KIND_COMPLAINT = 2
KIND_LIFECYCLE = 3

FLAG_DROPPED = 1
FLAG_ROAMING = 2
FLAG_RESOLVED = 8


@dataclass(slots=True)
class EventTable:
    """Events as parallel arrays; ``arrival_s`` orders emission, ``time_s`` is event time."""

    time_s: npt.NDArray[np.int64]
    arrival_s: npt.NDArray[np.int64]
    seq: npt.NDArray[np.int64]
    customer: npt.NDArray[np.int32]
    kind: npt.NDArray[np.int8]
    code_a: npt.NDArray[np.int8]
    code_b: npt.NDArray[np.int8]
    code_c: npt.NDArray[np.int8]
    code_d: npt.NDArray[np.int8]
    amount: npt.NDArray[np.float64]
    charge: npt.NDArray[np.float64]
    number: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    @classmethod
    def empty(cls) -> EventTable:
        """A table with no rows.

        >>> len(EventTable.empty())
        0
        """
        return cls(**{name: np.zeros(0, dtype=dtype) for name, dtype in _DTYPES.items()})

    @classmethod
    def build(cls, size: int, kind: int, **columns: Any) -> EventTable:
        """Rows of one kind; columns not given are zero (``code_b`` defaults to -1 for plans).

        >>> table = EventTable.build(2, KIND_TOPUP, amount=[5.0, 10.0])
        >>> table.amount.tolist(), table.kind.tolist()
        ([5.0, 10.0], [1, 1])
        """
        arrays: dict[str, Any] = {}
        for name, dtype in _DTYPES.items():
            if name in columns:
                arrays[name] = np.asarray(columns[name], dtype=dtype).reshape(size)
            elif name == "kind":
                arrays[name] = np.full(size, kind, dtype=dtype)
            else:
                arrays[name] = np.zeros(size, dtype=dtype)
        if "arrival_s" not in columns:
            arrays["arrival_s"] = arrays["time_s"].copy()
        return cls(**arrays)

    def take(self, index: npt.NDArray[Any]) -> EventTable:
        """Rows at ``index`` (an integer array or a boolean mask), as a new table."""
        return EventTable(**{name: getattr(self, name)[index] for name in _DTYPES})

    @staticmethod
    def concat(tables: list[EventTable]) -> EventTable:
        """All rows of ``tables``, in order.

        >>> one = EventTable.build(1, KIND_CALL)
        >>> len(EventTable.concat([one, one, EventTable.empty()]))
        2
        """
        if not tables:
            return EventTable.empty()
        return EventTable(**{name: np.concatenate([getattr(t, name) for t in tables]) for name in _DTYPES})

    def sorted_by_arrival(self) -> EventTable:
        """Rows in emission order; ties keep event sequence order, so output is deterministic."""
        return self.take(np.lexsort((self.seq, self.arrival_s)))


_COLUMN_TYPES: tuple[type[np.generic], ...] = (
    np.int64,  # time_s
    np.int64,  # arrival_s
    np.int64,  # seq
    np.int32,  # customer
    np.int8,  # kind
    np.int8,  # code_a
    np.int8,  # code_b
    np.int8,  # code_c
    np.int8,  # code_d
    np.float64,  # amount
    np.float64,  # charge
    np.int64,  # number
)
_DTYPES: dict[str, type[np.generic]] = {
    f.name: dtype for f, dtype in zip(fields(EventTable), _COLUMN_TYPES, strict=True)
}
