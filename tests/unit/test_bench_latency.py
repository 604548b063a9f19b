"""Latency samples of the live phase: send times joined with acknowledgements and alerts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest

from bench.live import (
    LiveSends,
    alert_latencies_by_trigger,
    alert_latency_ms,
    live_stamp,
    longest_silences_s,
    processed_latencies_by_type,
    stamped_at,
)
from bench.redis_memory import sample_evenly
from bench.run import topic_set
from schemas.events import EventType
from schemas.parsing import Rejection
from streams.settings import Settings
from streams.validation import RecordValidator


def sends(
    send_times: dict[tuple[str, int, int], float],
    triggers: dict[tuple[str, datetime], str] | None = None,
    began_s: float = 0.0,
    ended_s: float = 100.0,
) -> LiveSends:
    return LiveSends(send_times, {"t": "call", "u": "topup"}, triggers or {}, Counter(), began_s, ended_s, 0)


class TestProcessedLatency:
    def test_latency_is_acknowledge_time_minus_send_time(self) -> None:
        """A record sent at 10.0 s and acknowledged at 10.04 s took 40 ms."""
        assert processed_latencies_by_type(sends({("t", 1, 7): 10.0}), [("t", 1, 7, 10.04)]) == {
            "call": [pytest.approx(40.0)]
        }

    def test_records_not_sent_live_are_left_out(self) -> None:
        """Acknowledgements of records the live producer did not send are not samples."""
        noted = [("t", 1, 5, 2.0), ("u", 0, 5, 2.0)]
        assert processed_latencies_by_type(sends({("t", 0, 5): 1.0}), noted) == {}

    def test_every_record_up_to_the_noted_offset_is_processed_at_the_first_note_reaching_it(self) -> None:
        """A note at offset 2 covers offsets 0..2; offset 3 waits for the next note."""
        sent = sends({("t", 0, 0): 1.0, ("t", 0, 1): 2.0, ("t", 0, 2): 3.0, ("t", 0, 3): 4.0})
        latencies = processed_latencies_by_type(sent, [("t", 0, 2, 5.0), ("t", 0, 3, 9.0), ("t", 0, 3, 9.5)])
        assert latencies == {"call": [4000.0, 3000.0, 2000.0, 5000.0]}

    def test_latencies_are_split_by_the_topics_event_type(self) -> None:
        """Records of the top-up topic count as top-ups, of the call topic as calls."""
        sent = sends({("t", 0, 0): 1.0, ("u", 0, 0): 1.0})
        assert processed_latencies_by_type(sent, [("t", 0, 0, 1.5), ("u", 0, 0, 3.0)]) == {
            "call": [500.0],
            "topup": [2000.0],
        }


class TestSilences:
    def test_partition_that_never_sent_was_silent_for_the_whole_phase(self) -> None:
        """Top-ups only on partition 0 of two: partition 1's silence is the phase's length."""
        sent = sends({("u", 0, 0): 10.0, ("u", 0, 1): 20.0}, began_s=0.0, ended_s=300.0)
        assert longest_silences_s(sent, 2)["topup"] == 300.0

    def test_silence_is_the_longest_gap_between_sends_or_the_phase_edges(self) -> None:
        """Sends at 10 s and 200 s in a 0..300 s phase leave a 190 s silence."""
        sent = sends({("u", 0, 0): 10.0, ("u", 0, 1): 200.0}, began_s=0.0, ended_s=300.0)
        assert longest_silences_s(sent, 1)["topup"] == 190.0


class TestAlertLatency:
    def test_alert_latency_is_broker_timestamp_minus_triggering_event_time(self) -> None:
        """An alert's latency runs from its trigger's send time (event_time) to its record timestamp."""
        value = orjson.dumps({"event_time": "2026-03-01T12:00:00.250000+00:00"})
        published_ms = int(datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC).timestamp() * 1000)
        assert alert_latency_ms(value, published_ms) == pytest.approx(750.0)


class TestAlertTriggers:
    def test_alert_counts_under_the_type_of_the_event_it_names(self) -> None:
        """The alert's customer and event time find the sent complaint it was triggered by."""
        at = stamped_at(1_772_000_000.123456)
        value = orjson.dumps({"customer_id": "C1", "event_time": at.isoformat().replace("+00:00", "Z")})
        published_ms = int(at.timestamp() * 1000) + 900
        by_trigger = alert_latencies_by_trigger([(value, published_ms)], sends({}, {("C1", at): "complaint"}))
        assert list(by_trigger) == ["complaint"]
        assert by_trigger["complaint"][0] == pytest.approx(900.0, abs=1.0)


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
