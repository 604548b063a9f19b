"""The demo's pure parts: alert and dead-letter tallies, worker metrics, rendering, pacing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, RenderableType

from cli.demo import DemoPacer
from cli.demo_view import (
    AlertRow,
    DemoProgress,
    DemoSummary,
    OutputTally,
    RateMeter,
    WorkerMetrics,
    plain_alert,
    render_live,
    render_summary,
)
from schemas.outputs import Alert, Reason, RecommendedAction, ScoreSource, ValueTier, Zone
from streams.metrics import PipelineMetrics
from tests.fixtures.deadline import eventually

AT = datetime(2025, 11, 4, 13, 0, tzinfo=UTC)


def alert_record(
    customer_id: str = "C0000276",
    zone: Zone = Zone.YELLOW,
    priority: float = 5.0,
    reason_code: str = "topup_lapse",
    alert_id: str | None = None,
) -> dict[str, Any]:
    """An alert exactly as the worker publishes it: a contract model dumped to JSON."""
    alert = Alert(
        alert_id=alert_id or f"{customer_id}-{zone}-{priority}",
        customer_id=customer_id,
        event_time=AT,
        created_at=AT,
        score=0.43,
        zone=zone,
        previous_zone=Zone.GREEN,
        value_tier=ValueTier.MEDIUM,
        value_at_risk=29.4,
        priority=priority,
        reasons=(
            Reason(code=reason_code, text="no top-up for 57 days, usual gap 17", weight=1.9),
            Reason(code="topup_decline", text="top-ups down 36% vs the previous 60 days", weight=0.6),
        ),
        recommended_action=RecommendedAction(
            code="reactivation_bonus", text="Send a reactivation bonus.", channel="sms"
        ),
        model_version="rules-1",
        score_source=ScoreSource.COLD_START_RULES,
    )
    return alert.model_dump(mode="json")


def rendered(renderable: RenderableType, width: int = 200) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def progress(published: int = 1000, events_in: float = 900.0) -> DemoProgress:
    return DemoProgress(
        elapsed_s=12.0,
        total_s=60.0,
        phase="live",
        published=published,
        publish_rate=300.0,
        event_time=AT,
        worker=WorkerMetrics(events_in=events_in),
        worker_rate=280.0,
    )


class TestAlertRow:
    def test_reads_the_alert_contract(self) -> None:
        """An alert published under the output contract yields its customer, zone, top reason and action."""
        row = AlertRow.from_record(alert_record())
        assert (row.customer_id, row.zone, row.value_tier, row.event_day) == (
            "C0000276",
            "yellow",
            "medium",
            "2025-11-04",
        )
        assert row.reason_text == "no top-up for 57 days, usual gap 17"
        assert row.reasons[1] == "top-ups down 36% vs the previous 60 days"
        assert (row.action_channel, row.action_text) == ("sms", "Send a reactivation bonus.")


class TestOutputTally:
    def test_counts_alerts_by_zone_and_dead_letters_by_reason(self) -> None:
        """Zone and reason counters follow the records read back."""
        tally = OutputTally()
        tally.add_alert(alert_record("C1", Zone.RED))
        tally.add_alert(alert_record("C2", Zone.YELLOW))
        tally.add_alert(alert_record("C3", Zone.YELLOW))
        for reason in ("not_json", "duplicate", "not_json"):
            tally.add_dead_letter({"reason": reason})
        assert dict(tally.alerts_by_zone) == {"red": 1, "yellow": 2}
        assert dict(tally.dead_letters_by_reason) == {"not_json": 2, "duplicate": 1}
        assert tally.dead_letters == 3

    def test_board_shows_each_customer_once_with_the_latest_alert(self) -> None:
        """A customer alerted again (after the cooldown) appears once, with the newer alert."""
        tally = OutputTally()
        tally.add_alert(alert_record("C1", Zone.YELLOW, priority=9.0, alert_id="old"))
        tally.add_alert(alert_record("C2", Zone.YELLOW, priority=5.0))
        tally.add_alert(alert_record("C1", Zone.RED, priority=7.0, alert_id="new"))
        assert [(row.customer_id, row.alert_id) for row in tally.board(10)] == [
            ("C1", "new"),
            ("C2", "C2-yellow-5.0"),
        ]

    def test_board_forgets_alerts_older_than_the_recent_window(self) -> None:
        """Only the latest ``recent_window`` alerts compete for the board, so it stays live."""
        tally = OutputTally(recent_window=2)
        tally.add_alert(alert_record("C1", priority=100.0))
        tally.add_alert(alert_record("C2", priority=1.0))
        tally.add_alert(alert_record("C3", priority=2.0))
        assert [row.customer_id for row in tally.board(10)] == ["C3", "C2"]

    def test_examples_put_riskier_zones_first_and_vary_reasons(self) -> None:
        """Closing examples: red before yellow, distinct customers, a new leading reason before a repeat."""
        tally = OutputTally()
        tally.add_alert(alert_record("C1", Zone.YELLOW, priority=50.0, reason_code="topup_lapse"))
        tally.add_alert(alert_record("C2", Zone.RED, priority=3.0, reason_code="topup_lapse"))
        tally.add_alert(alert_record("C2", Zone.RED, priority=2.0, reason_code="topup_lapse"))
        tally.add_alert(alert_record("C3", Zone.RED, priority=1.0, reason_code="complaints_network"))
        assert [row.customer_id for row in tally.examples(3)] == ["C2", "C3", "C1"]


class TestWorkerMetrics:
    def test_parses_the_worker_exposition(self) -> None:
        """Totals are summed over labels from the worker's real Prometheus registry."""
        metrics = PipelineMetrics()
        metrics.events_in.labels("telco.calls").inc(10)
        metrics.events_in.labels("telco.topups").inc(5)
        metrics.events_applied.inc(12)
        metrics.dead_letters.labels("not_json").inc(2)
        metrics.dead_letters.labels("too_late").inc(1)
        metrics.alerts.labels("red").inc(4)
        parsed = WorkerMetrics.parse(metrics.exposition().decode())
        assert parsed == WorkerMetrics(events_in=15.0, events_applied=12.0, dead_letters=3.0, alerts=4.0)

    def test_empty_exposition_is_all_zero(self) -> None:
        """A worker that has read nothing yet reports zeros, not an error."""
        assert WorkerMetrics.parse(PipelineMetrics().exposition().decode()) == WorkerMetrics()


class TestRateMeter:
    def test_rate_spans_only_the_window(self) -> None:
        """Old samples leave the window, so a slowdown shows within the window length."""
        meter = RateMeter(window_s=2.0)
        meter.observe(0.0, 0)
        meter.observe(1.0, 1000)
        meter.observe(2.0, 2000)
        assert meter.observe(4.0, 2100) == 50.0
        assert meter.peak == 1000.0


class TestRendering:
    def test_live_view_shows_alert_reason_action_and_counters(self) -> None:
        """The board row carries the reason and the action text, bracketed channel included."""
        tally = OutputTally()
        tally.add_alert(alert_record())
        tally.add_dead_letter({"reason": "not_json"})
        text = rendered(render_live(progress(), tally))
        assert "C0000276" in text
        assert "no top-up for 57 days, usual gap 17" in text
        assert "[sms] Send a reactivation bonus." in text
        assert "not_json 1" in text
        assert "worker behind by 100" in text

    def test_live_view_waits_politely_without_alerts(self) -> None:
        """Before the first alert the board says it is waiting instead of staying blank."""
        assert "waiting for alerts" in rendered(render_live(progress(), OutputTally()))

    def test_summary_reports_totals_and_example_reasons(self) -> None:
        """The closing report names dead-letter reasons, zone counts and each example's reasons."""
        tally = OutputTally()
        tally.add_alert(alert_record("C1", Zone.RED))
        tally.add_dead_letter({"reason": "unknown_type"})
        summary = DemoSummary(
            seconds_run=61.0,
            customers=400,
            simulated_days=200.0,
            published=240_550,
            bad_records=12,
            worker=WorkerMetrics(events_in=240_550.0, events_applied=238_888.0),
            events_per_s=3839.0,
            peak_events_per_s=5897.0,
            worker_log="/tmp/worker.log",
            first_alert_s=20.0,
        )
        text = rendered(render_summary(summary, tally))
        assert "240,550 (of which 12 deliberately bad)" in text
        assert "unknown_type 1" in text
        assert "1: red 1" in text
        assert "after 20s (event day 2025-11-04)" in text
        assert "- top-ups down 36% vs the previous 60 days" in text
        assert "action [sms]: Send a reactivation bonus." in text

    def test_plain_alert_line_has_reason_and_action(self) -> None:
        """Without a terminal each alert is one greppable line with its reason and action."""
        line = plain_alert(AlertRow.from_record(alert_record()))
        assert line.startswith("ALERT C0000276 day=2025-11-04 zone=yellow")
        assert 'reason="no top-up for 57 days, usual gap 17"' in line
        assert line.endswith("action=[sms] Send a reactivation bonus.")


class TestDemoPacer:
    def test_switches_to_live_at_the_end_of_the_warm_up(self) -> None:
        """Events before ``live_from`` are warm-up; the first one at or after it starts live pacing."""
        pacer = DemoPacer(1000.0, 1e9, backlog=lambda: 0, max_backlog=10, scraped=asyncio.Event())

        async def feed() -> list[str]:
            phases = []
            for event_time_s in (10.0, 999.0, 1000.0, 990.0):
                await pacer.wait(event_time_s)
                phases.append(pacer.phase)
            return phases

        assert asyncio.run(feed()) == ["warm-up", "warm-up", "live", "live"]
        assert pacer.event_time_s == 1000.0

    def test_holds_back_while_the_worker_is_too_far_behind(self) -> None:
        """With the backlog above the limit, publishing waits for a metrics scrape that shows it fell."""
        backlog = [50.0]

        async def scenario() -> tuple[bool, bool]:
            scraped = asyncio.Event()
            scraped.set()  # an earlier scrape; the pacer clears it when it starts holding back
            pacer = DemoPacer(1e12, 1.0, backlog=lambda: backlog[0], max_backlog=10, scraped=scraped)
            waiting = asyncio.create_task(pacer.wait(1.0))

            async def holding() -> None:
                assert not scraped.is_set(), "the pacer has not reached its hold yet"

            await eventually(holding, timeout=5)
            held = not waiting.done()
            backlog[0] = 5.0
            scraped.set()
            await asyncio.wait_for(waiting, timeout=5)
            return held, waiting.done()

        assert asyncio.run(scenario()) == (True, True)
