"""The benchmark's JSON document and table: the issue's keys, ratios and latency labels."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
from rich.console import Console

from bench.result import BenchResult, Latency, LivePhase, LiveTopic, Throughput

ISSUE_KEYS = {
    "raw_aiokafka_eps",
    "faust_noop_eps",
    "pipeline_eps",
    "pipeline_over_faust",
    "pipeline_over_raw",
    "faust_over_raw",
    "latency_p50_ms",
    "latency_p99_ms",
    "redis_bytes_per_customer",
}


NO_ALERTS = Latency(0, math.nan, math.nan)
LIVE = LivePhase(
    seconds=240.0,
    partitions=4,
    topics={
        "call": LiveTopic(48_000, 200.0, 199.5, 4, 0.4, Latency(48_000, 900.0, 2_000.0), NO_ALERTS),
        "complaint": LiveTopic(
            96, 0.4, 0.4, 2, 240.0, Latency(96, 800.0, 1_900.0), Latency.of([61_000.0, 125_000.0])
        ),
    },
    alerts_unmatched=0,
    partition_mismatches=0,
)


def result(
    alert_latency: Latency = NO_ALERTS,
    faust_eps: float = 20_000.0,
    floors: dict[str, Throughput] | None = None,
) -> BenchResult:
    return BenchResult(
        events=200_000,
        customers=50_000,
        partitions=4,
        raw=Throughput(200_000, 1.0, 200_000.0),
        faust_noop=Throughput(200_000, 10.0, faust_eps),
        pipeline=Throughput(200_000, 12.5, 16_000.0),
        event_to_alert=alert_latency,
        event_to_processed=Latency(50_000, 40.0, 180.0),
        offered_load_eps=8_000.0,
        achieved_load_eps=7_990.0,
        redis_bytes_per_customer=610.0,
        redis_customers_sampled=2_000,
        pipeline_alerts=0,
        floors=floors or {},
        extra={"run_id": "abc"},
    )


class TestJsonDocument:
    def test_document_has_every_key_the_issue_names(self) -> None:
        """``--json`` carries the nine keys of the issue's benchmark item."""
        assert set(result().to_json()) >= ISSUE_KEYS

    def test_ratios_divide_the_measured_rates(self) -> None:
        """pipeline/faust, pipeline/raw and faust/raw come from the three throughputs."""
        doc = result().to_json()
        assert (doc["pipeline_over_faust"], doc["pipeline_over_raw"], doc["faust_over_raw"]) == (
            pytest.approx(0.8),
            pytest.approx(0.08),
            pytest.approx(0.1),
        )

    def test_headline_latency_is_event_to_alert_when_alerts_were_timed(self) -> None:
        """With alert samples, latency_p50/p99 are event-to-alert and say so."""
        doc = result(alert_latency=Latency(500, 30.0, 90.0)).to_json()
        assert (doc["latency_kind"], doc["latency_p50_ms"], doc["latency_p99_ms"]) == (
            "event_to_alert",
            30.0,
            90.0,
        )

    def test_headline_latency_falls_back_to_event_to_processed_and_is_labelled(self) -> None:
        """Without alerts the headline percentiles are event-to-processed, named in latency_kind."""
        doc = result().to_json()
        assert (doc["latency_kind"], doc["latency_p99_ms"]) == ("event_to_processed", 180.0)

    def test_unmeasured_values_are_json_null(self) -> None:
        """NaN (nothing measured) is written as null, so the file is strict JSON."""
        text = json.dumps(result(faust_eps=0.0).to_json(), allow_nan=False)
        assert json.loads(text)["pipeline_over_faust"] is None

    def test_extra_values_are_kept_under_their_own_names(self) -> None:
        """Details beyond the issue's keys are added, not mixed into them."""
        assert result().to_json()["run_id"] == "abc"

    def test_floors_are_reported_with_their_ratio_to_the_no_op(self) -> None:
        """Each measured floor appears with its rate and its share of the no-op's rate."""
        floors = {
            "validate": Throughput(200_000, 12.5, 16_000.0),
            "features": Throughput(200_000, 20.0, 10_000.0),
        }
        doc = result(floors=floors).to_json()
        assert doc["floors"]["validate"]["over_faust"] == pytest.approx(0.8)
        assert doc["floors"]["features"]["events_per_s"] == 10_000.0
        assert doc["floors"]["features"]["over_faust"] == pytest.approx(0.5)

    def test_unmeasured_floors_are_absent(self) -> None:
        assert result().to_json()["floors"] == {}

    def test_live_phase_is_written_per_topic_with_nan_as_null(self) -> None:
        """Each live topic carries its rates, silence and both latencies; no alerts give nulls."""
        bench = result()
        doc = replace(bench, live=LIVE).to_json()
        complaint = doc["live"]["topics"]["complaint"]
        assert (complaint["longest_silence_s"], complaint["event_to_alert"]["max_ms"]) == (240.0, 125_000.0)
        assert doc["live"]["topics"]["call"]["event_to_alert"]["p50_ms"] is None
        assert result().to_json()["live"] is None


class TestTable:
    def test_table_shows_floors_when_measured(self) -> None:
        console = Console(record=True, width=160)
        console.print(result(floors={"features": Throughput(200_000, 20.0, 10_000.0)}).table())
        text = console.export_text()
        assert "no-op + validation + Redis features" in text
        assert "0.500 of faust" in text

    def test_table_shows_each_live_topic_with_its_silence_and_alert_latencies(self) -> None:
        """A sparse topic's row names its sending partitions, longest silence and alert percentiles."""
        bench = result()
        console = Console(record=True, width=220)
        console.print(replace(bench, live=LIVE).table())
        text = console.export_text()
        assert "96 on 2 of 4 partitions; longest partition silence 240 s of 240" in text
        assert "to alert p50 / p95 / p99 / max 93.0 / 121.8 / 124.4 / 125.0 s (2 alerts)" in text

    def test_table_marks_a_missed_target(self) -> None:
        """pipeline/raw 0.08 is below the 0.1 goal, and the table says so."""
        console = Console(record=True, width=140)
        console.print(result().table())
        assert "≥ 0.1 MISSED" in console.export_text()

    def test_table_marks_a_met_target(self) -> None:
        """610 Redis bytes per customer meet the 1 KiB budget; pipeline/faust 0.8 misses 1.0."""
        console = Console(record=True, width=140)
        console.print(result().table())
        text = console.export_text()
        assert "≤ 1024 ok" in text
        assert "≥ 1.0 MISSED" in text

    def test_table_judges_the_history_replay_only_at_its_target_size(self) -> None:
        """20,000 x 120 days in 9 minutes misses the 8-minute target; another size is not judged."""
        for size, judged in (((20_000, 120), True), ((500, 70), False)):
            bench = result()
            bench.extra["history_replay"] = {
                "customers": size[0],
                "days": size[1],
                "handled_s": 540.0,
                "events": 1_000,
            }
            console = Console(record=True, width=160)
            console.print(bench.table())
            text = console.export_text()
            assert "9.0 min" in text
            assert ("≤ 8 min MISSED" in text) is judged
