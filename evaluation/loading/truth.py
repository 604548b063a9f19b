"""Reading ground truth: the simulator's ``truth.csv`` or an operator's churn list.

A CSV or Parquet file becomes ``Truth`` (its ``TruthRow`` rows) for the measures, and the
same file becomes a ``CustomerTable`` (its cells as text) for the batch reference. A bad
row raises ``EvaluationInputError`` naming its line and field.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

from evaluation.errors import EvaluationInputError
from evaluation.measures.reference import CustomerTable
from evaluation.measures.truth import NO_DECOY, Truth, TruthRow, churn_list_row


def _time(field: str, text: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise EvaluationInputError(field, text, "not an RFC 3339 time") from error
    if moment.tzinfo is None:
        raise EvaluationInputError(field, text, "needs a UTC offset")
    return moment


def _activation(text: str) -> datetime | None:
    """``activated_on``: RFC 3339; a date or a time without offset is read as UTC.

    >>> _activation("2024-05-01").isoformat(), _activation("")
    ('2024-05-01T00:00:00+00:00', None)
    """
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise EvaluationInputError("activated_on", text, "not an RFC 3339 time") from error
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_churn_list_row(row: Mapping[str, object]) -> TruthRow:
    """One row of an operator's churn list: ``customer_id`` and ``churn_time`` (RFC 3339 text
    with an offset, or an aware datetime as Parquet stores it).

    >>> parse_churn_list_row({"customer_id": "C1", "churn_time": "2026-01-10T00:00:00Z"}).churns
    True
    """
    try:
        customer_id, churn_time = row["customer_id"], row["churn_time"]
    except KeyError as error:
        raise EvaluationInputError(str(error.args[0]), None, "missing column in the churn list") from error
    if not isinstance(customer_id, str) or not customer_id:
        raise EvaluationInputError("customer_id", customer_id, "must be a non-empty string")
    if isinstance(churn_time, datetime):
        if churn_time.tzinfo is None:
            raise EvaluationInputError("churn_time", churn_time, "needs a UTC offset")
        moment: datetime | None = churn_time
    else:
        moment = _time("churn_time", churn_time if isinstance(churn_time, str) else "")
    if moment is None:
        raise EvaluationInputError("churn_time", churn_time, "a churn list row needs its churn time")
    return churn_list_row(customer_id, moment)


def parse_truth_row(row: Mapping[str, str]) -> TruthRow:
    """One ``csv.DictReader`` row of ``truth.csv``; a churner must have a churn time.

    >>> r = parse_truth_row({"customer_id": "C1", "segment": "family", "churns": "1",
    ...     "churn_time": "2026-01-10T00:00:00Z", "trajectory_start": "2025-12-20T00:00:00Z",
    ...     "signals": "usage|complaints:price", "decoy_kind": ""})
    >>> r.churns, r.signals, r.decoy_kind
    (True, ('usage', 'complaints'), 'none')
    """
    try:
        customer_id, segment, churns = row["customer_id"], row["segment"], row["churns"]
    except KeyError as error:
        raise EvaluationInputError(str(error.args[0]), None, "missing column in truth.csv") from error
    if churns not in ("0", "1"):
        raise EvaluationInputError("churns", churns, "must be 0 or 1")
    churn_time = _time("churn_time", row.get("churn_time", ""))
    if (churns == "1") != (churn_time is not None):
        raise EvaluationInputError("churn_time", row.get("churn_time"), f"inconsistent with churns={churns}")
    signals = tuple(s.split(":", 1)[0] for s in row.get("signals", "").split("|") if s)
    return TruthRow(
        customer_id=customer_id,
        segment=segment,
        churn_time=churn_time,
        trajectory_start=_time("trajectory_start", row.get("trajectory_start", "")),
        signals=signals,
        decoy_kind=row.get("decoy_kind") or NO_DECOY,
        decoy_start=_time("decoy_start", row.get("decoy_start", "")),
        decoy_end=_time("decoy_end", row.get("decoy_end", "")),
        reactivated_time=_time("reactivated_time", row.get("reactivated_time", "")),
        activated_time=_activation(row.get("activated_on") or ""),
    )


def read_truth(path: Path) -> Truth:
    """The simulator's ``truth.csv`` (every customer) or an operator's churn list (CSV or Parquet
    with ``customer_id`` and ``churn_time``; customers absent from it stayed), told apart by
    the ``churns`` column. A bad row raises with its line (CSV) or row number (Parquet)."""
    if path.suffix == ".parquet":
        records: Iterator[tuple[int, Mapping[str, object]]] = enumerate(
            pq.read_table(path).to_pylist(), start=1
        )
        columns = set(pq.read_schema(path).names)
    else:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or ())
            records = iter(list(enumerate(reader, start=2)))
    simulator = "churns" in columns
    rows = []
    for line, row in records:
        try:
            if simulator:
                rows.append(parse_truth_row({k: "" if v is None else str(v) for k, v in row.items()}))
            else:
                rows.append(parse_churn_list_row(row))
        except EvaluationInputError as error:
            raise EvaluationInputError(
                f"{path.name}:{line}:{error.field}", error.value, error.reason
            ) from error
    return Truth(rows, absent_stayed=not simulator)


def read_customer_table(path: Path) -> CustomerTable:
    """The truth file's rows as text (CSV, or Parquet), for the batch reference's attributes."""
    if path.suffix == ".parquet":
        records = pq.read_table(path).to_pylist()
        rows = [{k: None if v is None else str(v) for k, v in row.items()} for row in records]
        return CustomerTable.from_rows(rows)
    with path.open(newline="", encoding="utf-8") as handle:
        return CustomerTable.from_rows(list(csv.DictReader(handle)))
