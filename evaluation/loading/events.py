"""Reading the simulator's event files into packed columns for the batch reference.

The event files of ``churnwatch simulate --out`` (JSON Lines, one event per line with its
``type``) run to ten million lines for 20,000 customers over 180 days, so they are read
once, line by line, into ``EventColumns`` (about 22 bytes an event, only events inside
some decision date's 90-day window kept); ``evaluation.measures.behaviour`` turns them into
each decision date's table.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import orjson

from evaluation.loading.truth import read_customer_table
from evaluation.measures.behaviour import (
    CATEGORIES,
    SECONDS_PER_DAY,
    WINDOW_DAYS,
    CallFlag,
    EventColumns,
    EventKind,
    customer_numbers,
)
from evaluation.measures.reference import ReferenceInputs

_CATEGORY_CODE = {name: code for code, name in enumerate(CATEGORIES)}
_CALL_OUT, _CALL_IN, _TOPUP, _COMPLAINT = (int(kind) for kind in EventKind)
_DROPPED, _ROAMING = int(CallFlag.DROPPED), int(CallFlag.ROAMING)
_NETWORK_FLAG = {"international": int(CallFlag.INTERNATIONAL), "off_net": int(CallFlag.OFF_NET)}


@dataclass
class _Builder:
    customer: array[int]
    time_s: array[float]
    kind: array[int]
    flags: array[int]
    value: array[float]
    charge: array[float]

    @classmethod
    def empty(cls) -> _Builder:
        return cls(array("i"), array("d"), array("B"), array("B"), array("f"), array("f"))


def event_files(location: Path) -> list[Path]:
    """The JSON Lines files of ``location``: the file itself, or a directory's ``*.jsonl``
    files in name order."""
    if location.is_dir():
        return sorted(location.glob("*.jsonl"))
    return [location]


def read_event_columns(
    paths: Iterable[Path],
    customer_index: Mapping[str, int],
    decision_times: Iterable[datetime],
) -> EventColumns:
    """Stream the event files into columns, keeping the events inside some decision date's
    90-day window; customers are numbered by ``customer_index``. The columns are views of
    the packed arrays filled line by line (no copy: 10 million lines stay within memory)."""
    times = [moment.timestamp() for moment in decision_times]
    earliest = min(times) - WINDOW_DAYS * SECONDS_PER_DAY
    latest = max(times)
    built = _Builder.empty()
    lines = outside = other = unknown = unreadable = 0
    loads, parse_time, index = orjson.loads, datetime.fromisoformat, customer_index.get
    add_customer, add_time, add_kind = built.customer.append, built.time_s.append, built.kind.append
    add_flags, add_value, add_charge = built.flags.append, built.value.append, built.charge.append
    for path in paths:
        with path.open("rb") as handle:
            for line in handle:
                lines += 1
                try:
                    record = loads(line)
                    event_type = record["type"]
                    if event_type not in ("call", "topup", "complaint"):
                        other += 1
                        continue
                    customer = index(record["customer_id"])
                    if customer is None:
                        unknown += 1
                        continue
                    moment = parse_time(record["event_time"])
                    if moment.tzinfo is None:
                        unreadable += 1
                        continue
                    t = moment.timestamp()
                    if not earliest <= t < latest:
                        outside += 1
                        continue
                    kind, flags, value, charge = _encode(event_type, record)
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    unreadable += not line.isspace()
                    continue
                add_customer(customer)
                add_time(t)
                add_kind(kind)
                add_flags(flags)
                add_value(value)
                add_charge(charge)
    return EventColumns(
        customer=np.frombuffer(built.customer, dtype=np.int32),
        time_s=np.frombuffer(built.time_s, dtype=np.float64),
        kind=np.frombuffer(built.kind, dtype=np.uint8),
        flags=np.frombuffer(built.flags, dtype=np.uint8),
        value=np.frombuffer(built.value, dtype=np.float32),
        charge=np.frombuffer(built.charge, dtype=np.float32),
        lines_read=lines,
        outside_windows=outside,
        other_events=other,
        unknown_customer=unknown,
        unreadable=unreadable,
    )


def _encode(event_type: str, record: Mapping[str, object]) -> tuple[int, int, float, float]:
    """(kind, flags, value, charge) of a call, top-up or complaint record; plain ints, not
    the enums, on this path (an ``IntFlag`` union costs microseconds a line).

    >>> _encode("call", {"direction": "outgoing", "duration_s": 60.0, "dropped": True,
    ...                  "counterparty_network": "off_net", "charge": 0.5})
    (0, 9, 60.0, 0.5)
    >>> _encode("complaint", {"category": "price"})
    (3, 0, 3.0, 0.0)
    """
    if event_type == "call":
        flags = _NETWORK_FLAG.get(record.get("counterparty_network", "on_net"), 0)  # type: ignore[call-overload]
        if record.get("dropped"):
            flags |= _DROPPED
        if record.get("roaming"):
            flags |= _ROAMING
        kind = _CALL_OUT if record["direction"] == "outgoing" else _CALL_IN
        return kind, flags, float(record["duration_s"]), float(record.get("charge", 0.0))  # type: ignore[arg-type]
    if event_type == "topup":
        return _TOPUP, 0, float(record["amount"]), 0.0  # type: ignore[arg-type]
    return _COMPLAINT, 0, float(_CATEGORY_CODE[str(record["category"])]), 0.0


def read_reference_inputs(truth: Path, events: Path, decision_times: Iterable[datetime]) -> ReferenceInputs:
    """The customer table of the truth file and the event columns for every decision date,
    read once, with how long reading the events took."""
    table = read_customer_table(truth)
    numbers = customer_numbers(table.customer_ids)
    began = time.perf_counter()
    columns = read_event_columns(event_files(events), numbers, decision_times)
    return ReferenceInputs(table, columns, numbers, read_s=time.perf_counter() - began)
