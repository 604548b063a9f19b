"""Event rows to contract-shaped dicts (``schemas.events`` plus ``type``), chunk by chunk.

Plain dicts from pre-built lookup tables: no per-event pydantic, no datetime objects.
Times are RFC 3339 in UTC with a ``Z`` offset, to the second.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from sim.day import COMPLAINT_CHANNELS, LIFECYCLE_KINDS, PAYMENT_TYPES, TOPUP_CHANNELS
from sim.population import CATEGORIES
from sim.table import (
    FLAG_DROPPED,
    FLAG_RESOLVED,
    FLAG_ROAMING,
    KIND_CALL,
    KIND_COMPLAINT,
    KIND_LIFECYCLE,
    KIND_TOPUP,
    EventTable,
)

CHUNK_ROWS = 65_536
NUMBER_PREFIXES = ("+99970", "+99980", "+99990")
"""Synthetic subscriber ranges (country code 999 is unassigned): on-net, off-net, international."""
_NETWORKS = ("on_net", "off_net", "international")
_DIRECTIONS = ("outgoing", "incoming")
_CATEGORY_NAMES = tuple(c.value for c in CATEGORIES)


def encode(
    table: EventTable, *, event_id_prefix: str, plans: tuple[str, ...], currency: str
) -> Iterator[dict[str, Any]]:
    """Yield one dict per row, in row order; equal rows give equal dicts (duplicates).

    >>> from sim.table import KIND_TOPUP
    >>> row = EventTable.build(1, KIND_TOPUP, time_s=[0], seq=[7], customer=[3], amount=[5.0])
    >>> next(encode(row, event_id_prefix="s1-", plans=(), currency="EUR"))["event_time"]
    '1970-01-01T00:00:00Z'
    """
    for first in range(0, len(table), CHUNK_ROWS):
        chunk = table.take(np.arange(first, min(first + CHUNK_ROWS, len(table))))
        times = np.datetime_as_string(chunk.time_s.astype("datetime64[s]"), unit="s").tolist()
        with_profile = (chunk.kind == KIND_LIFECYCLE) & (chunk.code_b >= 0)
        activated_on = iter(
            np.datetime_as_string(chunk.number[with_profile].astype("datetime64[s]"), unit="s").tolist()
        )
        rows = zip(
            times,
            chunk.seq.tolist(),
            chunk.customer.tolist(),
            chunk.kind.tolist(),
            chunk.code_a.tolist(),
            chunk.code_b.tolist(),
            chunk.code_c.tolist(),
            chunk.code_d.tolist(),
            chunk.amount.tolist(),
            chunk.charge.tolist(),
            chunk.number.tolist(),
            strict=True,
        )
        for time, seq, customer, kind, code_a, code_b, code_c, code_d, amount, charge, number in rows:
            head = {
                "event_id": f"{event_id_prefix}{seq}",
                "customer_id": f"C{customer:07d}",
                "event_time": f"{time}Z",
            }
            if kind == KIND_CALL:
                yield {
                    "type": "call",
                    **head,
                    "direction": _DIRECTIONS[code_a],
                    "duration_s": amount,
                    "counterparty": f"{NUMBER_PREFIXES[code_b]}{number:07d}",
                    "counterparty_network": _NETWORKS[code_b],
                    "dropped": bool(code_c & FLAG_DROPPED),
                    "roaming": bool(code_c & FLAG_ROAMING),
                    "charge": charge,
                }
            elif kind == KIND_TOPUP:
                yield {
                    "type": "topup",
                    **head,
                    "amount": amount,
                    "currency": currency,
                    "channel": TOPUP_CHANNELS[code_a],
                }
            elif kind == KIND_COMPLAINT:
                yield {
                    "type": "complaint",
                    **head,
                    "category": _CATEGORY_NAMES[code_a],
                    "severity": code_b,
                    "channel": COMPLAINT_CHANNELS[code_c & (FLAG_RESOLVED - 1)],
                    "resolved": bool(code_c & FLAG_RESOLVED),
                }
            else:
                event = {"type": "lifecycle", **head, "kind": LIFECYCLE_KINDS[code_a]}
                if code_b >= 0:
                    event["plan"] = plans[code_b]
                    event["payment_type"] = PAYMENT_TYPES[code_c & 1]
                    event["activated_on"] = f"{next(activated_on)}Z"
                    event["commitment_months"] = code_d
                    event["monthly_fee"] = amount
                    event["bundled_services"] = code_c >> 1
                yield event
