"""Latency samples of the live phase: send times joined with acknowledgements and alerts."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from bench.live import alert_latency_ms, live_stamp, processed_latencies_ms
from bench.redis_memory import sample_evenly
from bench.run import topic_set
from schemas.events import EventType
from schemas.parsing import Rejection
from streams.settings import Settings
from streams.validation import RecordValidator


class TestProcessedLatency:
    def test_latency_is_acknowledge_time_minus_send_time(self) -> None:
        """A record sent at 10.0 s and acknowledged at 10.04 s took 40 ms."""
        assert processed_latencies_ms({("t", 1, 7): 10.0}, [("t", 1, 7, 10.04)]) == [pytest.approx(40.0)]

    def test_records_not_sent_live_are_left_out(self) -> None:
        """Acknowledgements of records the live producer did not send are not samples."""
        assert processed_latencies_ms({("t", 0, 0): 1.0}, [("t", 0, 1, 2.0), ("u", 0, 0, 2.0)]) == []


class TestAlertLatency:
    def test_alert_latency_is_broker_timestamp_minus_triggering_event_time(self) -> None:
        """An alert's latency runs from its trigger's send time (event_time) to its record timestamp."""
        value = orjson.dumps({"event_time": "2026-03-01T12:00:00.250000+00:00"})
        published_ms = int(datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC).timestamp() * 1000)
        assert alert_latency_ms(value, published_ms) == pytest.approx(750.0)


class TestLiveStamp:
    def test_live_event_passes_the_workers_validation(self) -> None:
        """A re-stamped simulator event is still a valid contract event for the pipeline."""
        event = {
            "type": "topup",
            "event_id": "s1-1",
            "customer_id": "C0000001",
            "event_time": "2026-01-05T00:00:00Z",
            "amount": 20.0,
            "currency": "CNY",
            "channel": "app",
        }
        validator = RecordValidator(b"k" * 16, Settings().batching.max_record_bytes)
        parsed = validator.validate(b"C0000001", live_stamp(event, 3, 1_772_000_000.123456), EventType.TOPUP)
        assert not isinstance(parsed, Rejection)
        assert parsed.event_time.timestamp() == pytest.approx(1_772_000_000.123456)

    def test_live_event_ids_are_unique_per_index(self) -> None:
        """Re-sending the same simulator event at two indices gives two distinct event ids."""
        event = {"type": "call", "event_id": "s1-1", "event_time": "2026-01-05T00:00:00Z"}
        ids = {orjson.loads(live_stamp(event, index, 1.0))["event_id"] for index in (1, 2)}
        assert ids == {"live-1", "live-2"}


class TestSampling:
    def test_sample_spreads_over_the_whole_population(self) -> None:
        """The sample takes customers from the start, middle and end, not just the first ones."""
        ids = [f"C{index:07d}" for index in range(10_000)]
        sample = sample_evenly(ids, 4)
        assert sample == ["C0000000", "C0002500", "C0005000", "C0007500"]

    def test_small_population_is_taken_whole(self) -> None:
        """Asking for more than there are gives everyone."""
        assert sample_evenly(["a", "b"], 10) == ["a", "b"]


class TestTopicSet:
    def test_each_run_and_phase_has_its_own_topics(self) -> None:
        """Fresh topic names per run and phase, so no phase reads another's records."""
        first, second = topic_set("r1", "tp", 4), topic_set("r1", "live", 4)
        assert {first.calls, first.alerts}.isdisjoint({second.calls, second.alerts})
