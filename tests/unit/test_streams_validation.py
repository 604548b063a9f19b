"""Record validation beyond the contract: keys, plausible times, and no time that can crash later code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from features.records import encode, from_epoch_us
from features.store import PositionedEvent, SourcePosition
from pipeline.alignment import Admission, EventTimeAligner
from schemas.events import EventType
from schemas.outputs import DeadLetterReason
from schemas.parsing import Rejection
from streams.records import SourceRecord, dead_letter
from streams.validation import RecordValidator

VALIDATOR = RecordValidator(b"test-key", 65536)
OFFSETS = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda minutes: timezone(timedelta(minutes=minutes)))


def call(event_time: str, customer_id: str = "c1") -> bytes:
    return orjson.dumps(
        {
            "event_id": "e1",
            "customer_id": customer_id,
            "event_time": event_time,
            "direction": "outgoing",
            "duration_s": 60,
            "counterparty": "+8613800000001",
        }
    )


class TestEventTimeSanity:
    @settings(max_examples=400, deadline=None)
    @given(
        moment=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
        offset=OFFSETS,
    )
    def test_no_admitted_time_can_make_later_code_raise(self, moment: datetime, offset: timezone) -> None:
        """Any RFC 3339 time with an offset is refused or flows through admission, encoding and a
        dead letter without raising (a year-9999 time once crashed the worker in a loop)."""
        text = moment.replace(tzinfo=offset).isoformat()
        parsed = VALIDATOR.validate(b"c1", call(text), EventType.CALL)
        record = SourceRecord("telco.calls", 0, 5, b"c1", call(text), 1_780_000_000.0)
        if isinstance(parsed, Rejection):
            assert parsed.reason in (DeadLetterReason.IMPLAUSIBLE_TIME, DeadLetterReason.INVALID_SCHEMA)
            dead_letter(record, parsed, datetime(2026, 1, 1, tzinfo=UTC))
            return
        aligner = EventTimeAligner[str](timedelta(hours=1), timedelta(days=3), max_ahead=timedelta(days=1))
        aligner.assign(("telco.calls", 0), None)
        produced_at_s = 1_780_000_000.0
        admission, _ = aligner.admit(("telco.calls", 0), 5, parsed.event_time.timestamp(), produced_at_s)
        if admission is Admission.ACCEPT:
            packed = encode(PositionedEvent(parsed, SourcePosition("telco.calls", 0, 5)))
            assert from_epoch_us(packed.time_us) == parsed.event_time

    def test_epoch_number_as_text_is_not_a_time(self) -> None:
        """ "1762768800" is refused: the contract says RFC 3339 with an offset."""
        parsed = VALIDATOR.validate(b"c1", call("1762768800"), EventType.CALL)
        assert isinstance(parsed, Rejection)
        assert parsed.reason is DeadLetterReason.INVALID_SCHEMA

    def test_time_beyond_the_plausible_range_is_its_own_reason(self) -> None:
        """Year 9999 is implausible_time, and its dead letter carries no raw number."""
        parsed = VALIDATOR.validate(b"c1", call("9999-12-31T23:59:59-14:00"), EventType.CALL)
        assert isinstance(parsed, Rejection)
        assert parsed.reason is DeadLetterReason.IMPLAUSIBLE_TIME
        record = SourceRecord("telco.calls", 0, 5, b"c1", call("9999-12-31T23:59:59-14:00"))
        letter = dead_letter(record, parsed, datetime(2026, 1, 1, tzinfo=UTC))
        assert letter.original_pseudonymised
        assert "+8613800000001" not in letter.model_dump_json()


class TestKeys:
    def test_record_keyed_by_another_customer_is_refused(self) -> None:
        """Co-partitioning needs key = customer_id; a null or other key is key_mismatch."""
        for key in (None, b"c2", b""):
            parsed = VALIDATOR.validate(key, call("2026-05-01T10:00:00+08:00"), EventType.CALL)
            assert isinstance(parsed, Rejection)
            assert parsed.reason is DeadLetterReason.KEY_MISMATCH

    def test_huge_key_is_capped_in_its_dead_letter(self) -> None:
        """An 800 kB key leaves 1 KiB in the dead letter, with its full size recorded."""
        key = b"k" * 800_000
        record = SourceRecord("telco.calls", 0, 5, key, call("2026-05-01T10:00:00+08:00"))
        parsed = VALIDATOR.validate(key, record.value, EventType.CALL)
        assert isinstance(parsed, Rejection)
        letter = dead_letter(record, parsed, datetime(2026, 1, 1, tzinfo=UTC))
        assert letter.original_key_truncated
        assert letter.original_key_size == 800_000
        assert len(letter.model_dump_json()) < 70_000
