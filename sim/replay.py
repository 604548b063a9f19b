"""Replay history: JSON Lines or CSV files, merged by event time, published per event type.

Each file is read lazily, line by line, and the files are merged with ``heapq.merge`` on
(event time, file, line): memory is one pending record per file, whatever the sizes.
A file is taken in its own order (its arrival order, disorder included); the merge only
decides how the files interleave. JSON lines are published byte for byte; a CSV row (the
JSON fields as columns, empty cell = absent) is published as the equivalent JSON object.
A line that cannot be routed (bad JSON, unknown ``type``, no ``customer_id`` or no
``event_time`` with an offset) is reported with its file and line number, counted and
skipped; the replay goes on.
"""

from __future__ import annotations

import csv
import heapq
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import ReplayError
from sim.pacing import FullSpeed, Pacer
from sim.simulate import TRUTH_FILE
from sim.sink import EventSink, EventTopics

JSONL_SUFFIXES = (".jsonl", ".ndjson")
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet",)
PARQUET_BATCH_ROWS = 10_000
EVENT_FILE_SUFFIXES = JSONL_SUFFIXES + CSV_SUFFIXES + PARQUET_SUFFIXES
_FLOAT_COLUMNS = frozenset({"duration_s", "charge", "amount"})
_INT_COLUMNS = frozenset({"severity"})
_BOOL_COLUMNS = frozenset({"dropped", "roaming", "resolved"})
_BOOLS = {"true": True, "false": False, "1": True, "0": False}

# (event time, file index, line number, topic, key, value): ordered by the first three
Record = tuple[float, int, int, str, bytes, bytes]


@dataclass(frozen=True, slots=True)
class Rejection:
    """A line that was not published, and why."""

    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass(slots=True)
class ReplayProgress:
    """Running totals, handed to ``on_progress`` every few thousand events."""

    bytes_total: int
    bytes_read: int = 0
    published: int = 0
    rejected: int = 0
    event_time_s: float | None = None
    started_s: float = field(default_factory=time.monotonic)

    @property
    def events_per_s(self) -> float:
        elapsed_s = time.monotonic() - self.started_s
        return self.published / elapsed_s if elapsed_s > 0 else 0.0


@dataclass(slots=True)
class ReplaySummary:
    """What a replay published and rejected."""

    files: tuple[Path, ...]
    per_topic: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    """The first ``keep_rejections`` rejections; ``rejected`` counts them all."""
    first_event_time_s: float | None = None
    last_event_time_s: float | None = None
    elapsed_s: float = 0.0

    @property
    def published(self) -> int:
        return sum(self.per_topic.values())

    @property
    def events_per_s(self) -> float:
        return self.published / self.elapsed_s if self.elapsed_s > 0 else 0.0


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files to replay: files as given, directories expanded to their event files, sorted.

    ``truth.csv`` (the simulator's ground truth) is never an event file.

    >>> expand_paths([Path("events.jsonl")])
    [PosixPath('events.jsonl')]
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix in EVENT_FILE_SUFFIXES and p.name != TRUTH_FILE
            )
            if not found:
                raise ReplayError(f"path={path}: directory holds no .jsonl, .csv or .parquet event file")
            files.extend(found)
        elif path.suffix in EVENT_FILE_SUFFIXES:
            files.append(path)
        else:
            raise ReplayError(f"path={path}: expected a directory, .jsonl, .csv or .parquet file")
    return files


def parse_event_time(value: object) -> float:
    """Epoch seconds of an RFC 3339 timestamp with offset; ValueError otherwise.

    >>> parse_event_time("1970-01-01T00:01:00+00:00"), parse_event_time("1970-01-01T01:00:00+01:00")
    (60.0, 0.0)
    """
    if not isinstance(value, str):
        raise ValueError(f"event_time={value!r}: missing or not a string")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"event_time={value!r}: no UTC offset")
    return moment.timestamp()


class _FileReader:
    """Lazily yields the records of one file and reports its rejected lines."""

    def __init__(
        self,
        path: Path,
        index: int,
        topics: EventTopics,
        progress: ReplayProgress,
        reject: Callable[[Rejection], None],
    ) -> None:
        self.path = path
        self.index = index
        self._topics = topics
        self._progress = progress
        self._reject = reject

    def records(self) -> Iterator[Record]:
        if self.path.suffix in CSV_SUFFIXES:
            return self._csv_records()
        if self.path.suffix in PARQUET_SUFFIXES:
            return self._parquet_records()
        return self._jsonl_records()

    def _parquet_records(self) -> Iterator[Record]:
        """Rows in file order, one record batch in memory at a time; row numbers count from 1."""
        try:
            parquet = pq.ParquetFile(self.path)
        except (OSError, pa.ArrowException) as error:
            raise ReplayError(f"path={self.path}: not a readable Parquet file: {error}") from error
        row_no = 0
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            self._progress.bytes_read += batch.nbytes
            for row in batch.to_pylist():
                row_no += 1
                event = {column: _json_value(cell) for column, cell in row.items() if cell is not None}
                record = self._route(event, row_no, None)
                if record is not None:
                    yield record

    def _jsonl_records(self) -> Iterator[Record]:
        progress = self._progress
        with self.path.open("rb") as handle:
            for line_no, raw in enumerate(handle, start=1):
                progress.bytes_read += len(raw)
                line = raw.strip()
                if not line:
                    continue
                try:
                    event = orjson.loads(line)
                except orjson.JSONDecodeError as error:
                    self._reject(Rejection(self.path, line_no, f"invalid JSON: {error}"))
                    continue
                record = self._route(event, line_no, line)
                if record is not None:
                    yield record

    def _csv_records(self) -> Iterator[Record]:
        progress = self._progress
        with self.path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                progress.bytes_read += sum(len(v) + 1 for v in row.values() if isinstance(v, str))
                try:
                    event = _typed_row(row)
                except ValueError as error:
                    self._reject(Rejection(self.path, reader.line_num, str(error)))
                    continue
                record = self._route(event, reader.line_num, None)
                if record is not None:
                    yield record

    def _route(self, event: Any, line_no: int, raw: bytes | None) -> Record | None:
        """The record to publish, or None after reporting why the line cannot be."""
        if not isinstance(event, dict):
            self._reject(Rejection(self.path, line_no, "not a JSON object"))
            return None
        topic = self._topics.for_type(str(event.get("type")))
        if topic is None:
            self._reject(Rejection(self.path, line_no, f"type={event.get('type')!r}: unknown event type"))
            return None
        customer_id = event.get("customer_id")
        if not isinstance(customer_id, str) or not customer_id:
            self._reject(Rejection(self.path, line_no, f"customer_id={customer_id!r}: missing or empty"))
            return None
        try:
            event_time_s = parse_event_time(event.get("event_time"))
        except ValueError as error:
            self._reject(Rejection(self.path, line_no, str(error)))
            return None
        value = raw if raw is not None else orjson.dumps(event)
        return (event_time_s, self.index, line_no, topic, customer_id.encode(), value)


def _json_value(cell: object) -> object:
    """A Parquet cell as its JSON value: timestamps become RFC 3339 text (naive ones stay naive).

    >>> from datetime import UTC, datetime
    >>> _json_value(datetime(2026, 1, 1, 8, tzinfo=UTC)), _json_value(3.5)
    ('2026-01-01T08:00:00+00:00', 3.5)
    """
    return cell.isoformat() if isinstance(cell, datetime) else cell


def _typed_row(row: dict[str | Any, str | Any]) -> dict[str, Any]:
    """A CSV row as the JSON object it stands for: numbers and booleans typed, blanks dropped.

    >>> _typed_row({"type": "call", "duration_s": "12.5", "dropped": "true", "charge": ""})
    {'type': 'call', 'duration_s': 12.5, 'dropped': True}
    """
    event: dict[str, Any] = {}
    for column, cell in row.items():
        if not isinstance(column, str) or not isinstance(cell, str):
            raise ValueError("row has more cells than the header has columns")
        if cell == "":
            continue
        if column in _FLOAT_COLUMNS:
            event[column] = float(cell)
        elif column in _INT_COLUMNS:
            event[column] = int(cell)
        elif column in _BOOL_COLUMNS:
            if cell.lower() not in _BOOLS:
                raise ValueError(f"{column}={cell!r}: not a boolean")
            event[column] = _BOOLS[cell.lower()]
        else:
            event[column] = cell
    return event


async def replay(
    paths: Iterable[Path],
    sink: EventSink,
    topics: EventTopics | None = None,
    *,
    pacer: Pacer | None = None,
    on_progress: Callable[[ReplayProgress], None] | None = None,
    on_reject: Callable[[Rejection], None] | None = None,
    progress_every: int = 5_000,
    keep_rejections: int = 1_000,
) -> ReplaySummary:
    """Publish every valid line of ``paths`` to its type's topic, merged by event time.

    Returns after the sink has flushed. Rejected lines go to ``on_reject`` as they are met.
    """
    topics = topics or EventTopics()
    pacer = pacer or FullSpeed()
    files = expand_paths(paths)
    summary = ReplaySummary(files=tuple(files))
    progress = ReplayProgress(bytes_total=sum(path.stat().st_size for path in files))

    def reject(rejection: Rejection) -> None:
        summary.rejected += 1
        progress.rejected += 1
        if len(summary.rejections) < keep_rejections:
            summary.rejections.append(rejection)
        if on_reject is not None:
            on_reject(rejection)

    readers = [_FileReader(path, index, topics, progress, reject) for index, path in enumerate(files)]
    began = time.monotonic()
    per_topic = summary.per_topic
    for event_time_s, _, _, topic, key, value in heapq.merge(*(r.records() for r in readers)):
        await pacer.wait(event_time_s)
        await sink.send(topic, key, value)
        per_topic[topic] += 1
        progress.published += 1
        if summary.first_event_time_s is None:
            summary.first_event_time_s = event_time_s
        if summary.last_event_time_s is None or event_time_s > summary.last_event_time_s:
            summary.last_event_time_s = event_time_s
        if on_progress is not None and progress.published % progress_every == 0:
            progress.event_time_s = summary.last_event_time_s
            on_progress(progress)
    await sink.flush()
    progress.event_time_s = summary.last_event_time_s
    if on_progress is not None:
        on_progress(progress)
    summary.elapsed_s = time.monotonic() - began
    return summary
