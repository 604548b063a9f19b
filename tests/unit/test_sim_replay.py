"""Replay: event-time merge across files, routing, rejected lines, bounded memory, pacing."""

from __future__ import annotations

import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas import parsing
from schemas.events import CallEvent, EventType
from sim.errors import ReplayError
from sim.pacing import EventTimeSpeedup, FixedRate
from sim.publish import BAD_RECORD_KINDS, bad_records
from sim.replay import Rejection, expand_paths, replay
from sim.simulate import Simulation
from sim.sink import EventTopics

START = datetime(2025, 11, 3, tzinfo=UTC)


class RecordingSink:
    """Keeps every message in memory, in order."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, bytes]] = []
        self.flushed = False

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        self.messages.append((topic, key, value))

    async def flush(self) -> None:
        self.flushed = True


class CountingSink:
    """Counts messages per topic and keeps nothing else."""

    def __init__(self) -> None:
        self.per_topic: Counter[str] = Counter()

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        self.per_topic[topic] += 1

    async def flush(self) -> None:
        return None


def _call(customer: str, moment: datetime, event_id: str) -> dict[str, object]:
    return {
        "type": "call",
        "event_id": event_id,
        "customer_id": customer,
        "event_time": moment.isoformat(),
        "direction": "outgoing",
        "duration_s": 10.0,
        "counterparty": "+999700000001",
    }


def _write_jsonl(path: Path, events: list[dict[str, object]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


class TestOrdering:
    async def test_events_from_several_files_come_out_in_event_time_order(self, tmp_path: Path) -> None:
        """Three time-sorted files interleave into one stream sorted by event time."""
        for index in range(3):
            events = [
                _call(f"C{index}", START + timedelta(minutes=3 * n + index), f"{index}-{n}")
                for n in range(50)
            ]
            _write_jsonl(tmp_path / f"part{index}.jsonl", events)
        sink = RecordingSink()
        summary = await replay([tmp_path], sink)
        times = [datetime.fromisoformat(orjson.loads(v)["event_time"]) for _, _, v in sink.messages]
        assert summary.published == 150
        assert times == sorted(times)
        assert sink.flushed

    async def test_a_single_file_keeps_its_own_arrival_order(self, tmp_path: Path) -> None:
        """A late event inside one file is published where it sits, not moved forward."""
        events = [
            _call("C1", START + timedelta(hours=2), "a"),
            _call("C1", START, "late"),
            _call("C1", START + timedelta(hours=3), "b"),
        ]
        sink = RecordingSink()
        await replay([_write_jsonl(tmp_path / "events.jsonl", events)], sink)
        assert [orjson.loads(v)["event_id"] for _, _, v in sink.messages] == ["a", "late", "b"]

    async def test_values_are_published_byte_for_byte_with_the_customer_key(self, tmp_path: Path) -> None:
        """Each line goes unchanged, type included, to its type's topic keyed by customer_id."""
        simulation = Simulation(30, 5, 1, START)
        path = tmp_path / "sim"
        simulation.write(path)
        lines = [line for line in (path / "events.jsonl").read_bytes().splitlines() if line]
        sink = RecordingSink()
        await replay([path], sink, EventTopics())
        topics = EventTopics()
        assert sorted(v for _, _, v in sink.messages) == sorted(lines)
        for topic, key, value in sink.messages:
            event = orjson.loads(value)
            assert topic == topics.for_type(event["type"])
            assert key == event["customer_id"].encode()


class TestCsv:
    async def test_csv_rows_publish_as_typed_json(self, tmp_path: Path) -> None:
        """A CSV row becomes the JSON object with numbers and booleans typed and blanks left out."""
        path = tmp_path / "calls.csv"
        path.write_text(
            "type,event_id,customer_id,event_time,direction,duration_s,counterparty,dropped,charge\n"
            "call,e1,C9,2025-11-03T10:00:00+00:00,incoming,42.5,+999700000002,true,\n"
        )
        sink = RecordingSink()
        await replay([path], sink)
        event = orjson.loads(sink.messages[0][2])
        assert event["duration_s"] == 42.5
        assert event["dropped"] is True
        assert "charge" not in event


class TestParquet:
    async def test_parquet_rows_merge_with_json_lines_in_event_time_order(self, tmp_path: Path) -> None:
        """Parquet rows (typed columns, real timestamps) publish as JSON, merged by event time."""
        rows = [_call("C1", START + timedelta(minutes=m), f"p{m}") for m in (0, 20, 40)]
        table = pa.Table.from_pylist(
            [{**row, "event_time": datetime.fromisoformat(str(row["event_time"]))} for row in rows]
        )
        pq.write_table(table, tmp_path / "calls.parquet")
        _write_jsonl(tmp_path / "more.jsonl", [_call("C2", START + timedelta(minutes=30), "j30")])
        sink = RecordingSink()
        summary = await replay([tmp_path], sink)
        published = [orjson.loads(value) for _, _, value in sink.messages]
        assert [event["event_id"] for event in published] == ["p0", "p20", "j30", "p40"]
        first = parsing.parse_event(sink.messages[0][2], EventType.CALL)
        assert isinstance(first, CallEvent)
        assert first.duration_s == 10.0
        assert summary.rejected == 0

    async def test_bad_parquet_rows_are_reported_by_row_number(self, tmp_path: Path) -> None:
        """A row without a customer id is rejected with its row number; the others go out."""
        rows = [_call("C1", START, "a"), {**_call("C1", START, "b"), "customer_id": None}]
        pq.write_table(pa.Table.from_pylist(rows), tmp_path / "calls.parquet")
        summary = await replay([tmp_path / "calls.parquet"], RecordingSink())
        assert [(r.line, r.reason) for r in summary.rejections] == [(2, "customer_id=None: missing or empty")]
        assert summary.published == 1


class TestRejections:
    async def test_bad_lines_are_reported_with_file_and_line_and_replay_goes_on(self, tmp_path: Path) -> None:
        """Bad JSON, unknown type, missing customer and naive time are rejected by line; good lines go out."""
        good = orjson.dumps(_call("C1", START, "ok")).decode()
        naive = orjson.dumps({**_call("C1", START, "n"), "event_time": "2025-11-03T10:00:00"}).decode()
        no_customer = orjson.dumps({**_call("C1", START, "x"), "customer_id": ""}).decode()
        sms = orjson.dumps({**_call("C1", START, "s"), "type": "sms"}).decode()
        path = tmp_path / "mixed.jsonl"
        path.write_text("\n".join([good, "{oops", sms, no_customer, "", naive, good]) + "\n")
        reported: list[Rejection] = []
        sink = RecordingSink()
        summary = await replay([path], sink, on_reject=reported.append)
        assert [r.line for r in summary.rejections] == [2, 3, 4, 6]
        assert all(r.path == path for r in reported)
        assert summary.rejected == 4
        assert summary.published == 2

    async def test_rejection_message_names_the_offending_field(self, tmp_path: Path) -> None:
        """An unknown type is reported as type='sms'."""
        path = _write_jsonl(tmp_path / "e.jsonl", [{**_call("C1", START, "s"), "type": "sms"}])
        summary = await replay([path], RecordingSink())
        assert str(summary.rejections[0]) == f"{path}:1: type='sms': unknown event type"

    def test_truth_csv_is_not_an_event_file(self, tmp_path: Path) -> None:
        """Expanding a simulator output directory skips truth.csv."""
        Simulation(10, 2, 1, START).write(tmp_path)
        assert [p.name for p in expand_paths([tmp_path])] == ["events.jsonl"]

    def test_unknown_file_kind_is_refused(self, tmp_path: Path) -> None:
        """A path that is neither a directory nor an event file stops the replay before it starts."""
        with pytest.raises(ReplayError, match="expected a directory"):
            expand_paths([tmp_path / "events.xlsx"])


class TestMemory:
    async def test_replaying_a_large_file_keeps_memory_small(self, tmp_path: Path) -> None:
        """Replaying 200k lines into a counting sink peaks under 2 MiB of Python allocations."""
        path = tmp_path / "big.jsonl"
        template = orjson.dumps(_call("C1", START, "x"))
        with path.open("wb") as handle:
            for n in range(200_000):
                handle.write(template.replace(b'"x"', f'"{n}"'.encode()) + b"\n")
        sink = CountingSink()
        tracemalloc.start()
        try:
            summary = await replay([path], sink)
            _, peak_bytes = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert summary.published == 200_000
        assert peak_bytes < 2 * 1024 * 1024


class FakeClock:
    """A clock that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now_s = 100.0
        self.slept_s = 0.0

    def __call__(self) -> float:
        return self.now_s

    async def sleep(self, seconds: float) -> None:
        self.now_s += seconds
        self.slept_s += seconds


class TestPacing:
    async def test_fixed_rate_spreads_events_over_time(self) -> None:
        """1,000 events at 500 events/s take two seconds of clock time."""
        clock = FakeClock()
        pacer = FixedRate(500.0, clock=clock, sleep=clock.sleep)
        for _ in range(1_001):
            await pacer.wait(0.0)
        assert clock.slept_s == pytest.approx(2.0, abs=0.01)

    async def test_speedup_compresses_event_time(self) -> None:
        """A day of event time at speedup 8,640 takes ten seconds, and late events do not wait."""
        clock = FakeClock()
        pacer = EventTimeSpeedup(8_640.0, clock=clock, sleep=clock.sleep)
        await pacer.wait(0.0)
        await pacer.wait(86_400.0)
        await pacer.wait(3_600.0)
        assert clock.slept_s == pytest.approx(10.0)


class TestBadRecords:
    def test_bad_records_cover_every_kind_and_fail_validation(self) -> None:
        """The demo's bad records rotate through all kinds and none is a valid event."""
        records = bad_records(len(BAD_RECORD_KINDS), START)
        for event_type, _, value in records:
            assert isinstance(parsing.parse_event(value, event_type), parsing.Rejection)
