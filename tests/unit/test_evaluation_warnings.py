"""Warning-quality evaluation on hand-made truth rows and alerts."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from aiokafka import AIOKafkaProducer
from typer.testing import CliRunner

from evaluation.errors import EvaluationInputError
from evaluation.loading.records import read_alerts_file, read_alerts_topic
from evaluation.loading.truth import parse_truth_row, read_truth
from evaluation.measures.truth import AlertMark, TruthRow
from evaluation.measures.warnings import EvaluationConfig, evaluate, quantile, warning_lead_days
from schemas.outputs import Alert, RecommendedAction, ScoreSource, ValueTier, Zone
from stack.topics import ensure_topics

T0 = datetime(2026, 1, 1, tzinfo=UTC)
END = T0 + timedelta(days=120)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def churner(
    customer_id: str,
    churn_day: float,
    *,
    trajectory_day: float | None = None,
    segment: str = "family",
    signals: tuple[str, ...] = ("usage",),
    decoy_kind: str = "none",
    reactivated_day: float | None = None,
) -> TruthRow:
    return TruthRow(
        customer_id=customer_id,
        segment=segment,
        churn_time=day(churn_day),
        trajectory_start=day(trajectory_day if trajectory_day is not None else churn_day - 20),
        signals=signals,
        decoy_kind=decoy_kind,
        decoy_start=None,
        decoy_end=None,
        reactivated_time=day(reactivated_day) if reactivated_day is not None else None,
    )


def stayer(
    customer_id: str,
    *,
    segment: str = "family",
    decoy_kind: str = "none",
    decoy_days: tuple[float, float] | None = None,
) -> TruthRow:
    return TruthRow(
        customer_id=customer_id,
        segment=segment,
        churn_time=None,
        trajectory_start=None,
        signals=(),
        decoy_kind=decoy_kind,
        decoy_start=day(decoy_days[0]) if decoy_days else None,
        decoy_end=day(decoy_days[1]) if decoy_days else None,
        reactivated_time=None,
    )


def alert(customer_id: str, at_day: float, zone: Zone = Zone.YELLOW) -> AlertMark:
    return AlertMark(customer_id, day(at_day), zone)


class TestRecallAndLeadTime:
    def test_churner_alerted_before_churn_counts_as_warned(self) -> None:
        """An alert within the horizon before churn makes the churner warned, with its lead in days."""
        report = evaluate([churner("C1", 50)], [alert("C1", 40)], history_end=END)
        assert (report.churners_warned, report.recall, report.lead_days.median) == (1, 1.0, 10.0)

    def test_alert_after_churn_is_not_a_warning(self) -> None:
        """An alert at or after the churn time does not warn of it."""
        report = evaluate([churner("C1", 50)], [alert("C1", 50)], history_end=END)
        assert report.churners_warned == 0

    def test_alert_earlier_than_the_horizon_is_not_a_warning(self) -> None:
        """An alert more than the recall horizon before churn is counted apart, not as a warning."""
        config = EvaluationConfig(recall_horizon_days=30)
        report = evaluate([churner("C1", 80)], [alert("C1", 45)], history_end=END, config=config)
        assert (report.churners_warned, report.churners_alerted_early_only) == (0, 1)

    def test_lead_time_uses_the_earliest_alert_inside_the_horizon(self) -> None:
        """Of several alerts before churn, the earliest one within the horizon sets the lead time."""
        config = EvaluationConfig(recall_horizon_days=30)
        alerts = [alert("C1", 10), alert("C1", 60, Zone.RED), alert("C1", 75)]
        report = evaluate([churner("C1", 80)], alerts, history_end=END, config=config)
        assert report.lead_days.median == 20.0

    def test_lead_time_quantiles_span_the_warned_churners(self) -> None:
        """p25, median and p75 are taken over the warned churners' lead times."""
        rows = [churner(f"C{i}", 60) for i in range(5)]
        alerts = [alert(f"C{i}", 60 - lead) for i, lead in enumerate((2, 4, 6, 8, 10))]
        lead = evaluate(rows, alerts, history_end=END).lead_days
        assert (lead.p25, lead.median, lead.p75) == (4.0, 6.0, 8.0)

    def test_recall_by_lead_counts_only_warnings_far_enough_ahead(self) -> None:
        """Of five churners, warned 5, 10, 20 and 40 days ahead and one not at all: 3 of 5 at
        least 7 days ahead, 2 at least 14, 1 at least 30 (the earliest warning decides)."""
        rows = [churner(f"C{i}", 90) for i in range(5)]
        alerts = [alert(f"C{i}", 90 - lead) for i, lead in enumerate((5, 10, 20, 40))]
        alerts.append(alert("C0", 89))  # a later alert does not shorten C0's lead
        by_lead = evaluate(rows, alerts, history_end=END).recall_by_lead
        assert [(lead.days, lead.warned, lead.recall) for lead in by_lead] == [
            (7.0, 3, 0.6),
            (14.0, 2, 0.4),
            (30.0, 1, 0.2),
        ]

    def test_green_alerts_are_not_warnings(self) -> None:
        """Only yellow and red alerts count."""
        report = evaluate([churner("C1", 50)], [alert("C1", 40, Zone.GREEN)], history_end=END)
        assert (report.alerts, report.churners_warned) == (0, 0)

    def test_trajectory_elapsed_is_the_share_of_the_trajectory_before_the_warning(self) -> None:
        """A warning halfway through a churn trajectory reports 50% elapsed."""
        rows = [churner("C1", 60, trajectory_day=40)]
        report = evaluate(rows, [alert("C1", 50)], history_end=END)
        assert report.trajectory_elapsed_at_warning == 0.5


class TestPrecision:
    def test_first_alert_followed_by_churn_within_horizon_is_a_hit(self) -> None:
        """Precision counts alerted customers who churn within the horizon after their first alert."""
        rows = [churner("C1", 50), churner("C2", 90), stayer("C3")]
        alerts = [alert("C1", 40), alert("C2", 40), alert("C3", 40)]
        report = evaluate(rows, alerts, history_end=END)
        by_horizon = {p.horizon_days: (p.churned_within, p.judged_customers) for p in report.precision}
        assert by_horizon == {30.0: (1, 3), 60.0: (2, 3)}

    def test_first_alert_too_close_to_history_end_is_not_judged(self) -> None:
        """A first alert whose horizon runs past the end of history is left out of precision."""
        report = evaluate([stayer("C1")], [alert("C1", 80)], history_end=END)
        by_horizon = {p.horizon_days: p.judged_customers for p in report.precision}
        assert by_horizon == {30.0: 1, 60.0: 0}

    def test_alert_precision_counts_every_alert(self) -> None:
        """Per-alert precision judges each alert, not only each customer's first."""
        alerts = [alert("C1", 10), alert("C1", 45)]
        report = evaluate([churner("C1", 50)], alerts, history_end=END)
        thirty = next(p for p in report.alert_precision if p.horizon_days == 30.0)
        assert (thirty.churned_within, thirty.judged_customers) == (1, 2)


class TestSafetyCounts:
    def test_alert_while_churned_is_counted(self) -> None:
        """An alert between churn and reactivation is a policy violation and counted."""
        rows = [churner("C1", 50, reactivated_day=70)]
        report = evaluate(rows, [alert("C1", 60), alert("C1", 80)], history_end=END)
        assert report.alerts_while_churned == 1

    def test_alert_for_unknown_customer_is_counted_and_ignored(self) -> None:
        """Alerts of customers absent from the truth are counted, not evaluated."""
        report = evaluate([stayer("C1")], [alert("C9", 10)], history_end=END)
        assert (report.alerts_unknown_customer, report.alerted_customers) == (1, 0)


class TestBreakdowns:
    def test_segments_are_evaluated_separately(self) -> None:
        """Each segment gets its own churners, warnings and recall."""
        rows = [churner("C1", 50, segment="family"), churner("C2", 50, segment="business_postpaid")]
        report = evaluate(rows, [alert("C1", 45)], history_end=END)
        recall = {g.group: g.recall for g in report.segments}
        assert recall == {"business_postpaid": 0.0, "family": 1.0}

    def test_silent_churners_are_those_without_complaints(self) -> None:
        """The silent group holds churners whose signals include no complaint burst."""
        rows = [
            churner("C1", 50, signals=("usage",)),
            churner("C2", 50, signals=("usage", "complaints")),
        ]
        report = evaluate(rows, [alert("C2", 45)], history_end=END)
        groups = {g.group: (g.churners, g.warned) for g in report.signals}
        assert groups["silent"] == (1, 0)
        assert groups["complaints"] == (1, 1)

    def test_sudden_churners_are_those_without_signals(self) -> None:
        """Churners with no trajectory signals form the sudden group, apart from the silent one."""
        rows = [churner("C1", 50, signals=()), churner("C2", 50, signals=("usage",))]
        groups = {g.group: g.churners for g in evaluate(rows, [], history_end=END).signals}
        assert (groups["sudden"], groups["silent"]) == (1, 1)

    def test_decoy_alerted_inside_its_window_is_counted(self) -> None:
        """A decoy alerted during its dip (plus grace) counts as fooled; one alerted later does not."""
        rows = [
            stayer("C1", decoy_kind="dip_recover", decoy_days=(30, 45)),
            stayer("C2", decoy_kind="dip_recover", decoy_days=(30, 45)),
            stayer("C3", decoy_kind="dip_recover", decoy_days=(30, 45)),
        ]
        alerts = [alert("C1", 50), alert("C2", 90)]
        outcome = evaluate(rows, alerts, history_end=END).decoys[0]
        assert (outcome.alerted_customers, outcome.alerted_in_window) == (2, 1)
        assert outcome.alerted_share == pytest.approx(2 / 3)


class TestTruthParsing:
    def test_churner_without_churn_time_is_rejected(self) -> None:
        """A truth row with churns=1 but no churn time raises, naming the field."""
        with pytest.raises(EvaluationInputError, match="churn_time"):
            parse_truth_row({"customer_id": "C1", "segment": "family", "churns": "1", "churn_time": ""})

    def test_naive_time_is_rejected(self) -> None:
        """Truth times must carry an offset."""
        with pytest.raises(EvaluationInputError, match="UTC offset"):
            parse_truth_row(
                {"customer_id": "C1", "segment": "f", "churns": "1", "churn_time": "2026-01-01T00:00:00"}
            )

    def test_truth_file_error_names_the_line(self, tmp_path: Path) -> None:
        """A bad row in truth.csv is reported with its line number."""
        path = tmp_path / "truth.csv"
        path.write_text("customer_id,segment,churns,churn_time\nC1,family,0,\nC2,family,2,\n")
        with pytest.raises(EvaluationInputError, match=r"truth.csv:3:churns"):
            read_truth(path)

    def test_operator_churn_list_counts_absent_alerted_customers_as_stayers(self, tmp_path: Path) -> None:
        """A CSV churn list names only who left: an alert for someone absent is a false alarm."""
        path = tmp_path / "churns.csv"
        path.write_text(f"customer_id,churn_time\nC1,{day(40).isoformat()}\n")
        truth = read_truth(path)
        assert truth.absent_stayed
        assert [r.customer_id for r in truth.rows] == ["C1"]
        marks = [AlertMark("C1", day(30), Zone.YELLOW), AlertMark("C2", day(10), Zone.RED)]
        report = evaluate(truth.rows, marks, history_end=END, absent_stayed=truth.absent_stayed)
        assert report.recall == 1.0
        assert report.precision[0].precision == 0.5
        assert report.alerts_unknown_customer == 0

    def test_parquet_churn_list_reads_like_csv(self, tmp_path: Path) -> None:
        """The same churn list as Parquet (timestamps with a zone) gives the same rows."""
        path = tmp_path / "churns.parquet"
        pq.write_table(pa.table({"customer_id": ["C1", "C2"], "churn_time": [day(40), day(50)]}), path)
        truth = read_truth(path)
        assert truth.absent_stayed
        assert [(r.customer_id, r.churn_time) for r in truth.rows] == [("C1", day(40)), ("C2", day(50))]

    def test_churn_list_row_without_a_time_names_its_row(self, tmp_path: Path) -> None:
        """A churn list row must say when the customer left."""
        path = tmp_path / "churns.csv"
        path.write_text("customer_id,churn_time\nC1,\n")
        with pytest.raises(EvaluationInputError, match=r"churns.csv:2:churn_time"):
            read_truth(path)


def full_alert(customer_id: str, at: datetime, zone: Zone) -> Alert:
    return Alert(
        alert_id=f"a-{customer_id}-{at:%Y%m%d}",
        customer_id=customer_id,
        event_time=at,
        created_at=at,
        score=0.5,
        zone=zone,
        previous_zone=Zone.WHITE,
        value_tier=ValueTier.LOW,
        value_at_risk=1.0,
        priority=1.0,
        reasons=(),
        recommended_action=RecommendedAction(code="sms", text="Send an offer", channel="sms"),
        model_version="rules-v1",
        score_source=ScoreSource.COLD_START_RULES,
    )


class TestCommand:
    def test_alerts_file_skips_invalid_lines_and_names_them(self, tmp_path: Path) -> None:
        """Invalid alert lines are listed with their line number and left out."""
        path = tmp_path / "alerts.jsonl"
        path.write_text(full_alert("C1", day(40), Zone.RED).model_dump_json() + '\n{"customer_id": 1}\n')
        read = read_alerts_file(path)
        assert [m.customer_id for m in read.items] == ["C1"]
        assert read.invalid[0].startswith("alerts.jsonl:2:")

    def test_command_writes_the_json_report(self, tmp_path: Path) -> None:
        """The evaluate command reads truth and alert files and writes the report as JSON."""
        import typer

        from evaluation.cli import evaluate as evaluate_command

        truth = tmp_path / "truth.csv"
        with truth.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                ["customer_id", "segment", "churns", "churn_time", "trajectory_start", "decoy_kind"]
            )
            writer.writerow(["C1", "family", "1", "2025-12-23T00:00:00Z", "2025-12-03T00:00:00Z", ""])
            writer.writerow(["C2", "family", "0", "", "", "holiday"])
        alerts = tmp_path / "alerts.jsonl"
        alerts.write_text(full_alert("C1", datetime(2025, 12, 13, tzinfo=UTC), Zone.YELLOW).model_dump_json())
        out = tmp_path / "report.json"
        app = typer.Typer()
        app.command()(evaluate_command)
        result = CliRunner().invoke(
            app, ["--truth", str(truth), "--alerts-file", str(alerts), "--json", str(out)]
        )
        assert result.exit_code == 0, result.output
        report = json.loads(out.read_text())
        assert (report["churners_warned"], report["lead_days"]["median"]) == (1, 10.0)


@pytest.mark.integration
class TestAlertsTopic:
    async def test_topic_is_read_to_every_partition_high_water_mark(
        self, kafka_bootstrap: str, topic_suffix: str
    ) -> None:
        """Every alert is read, even with an empty partition, and the read ends at the high-water marks."""
        topic = f"alerts-{topic_suffix}"
        await ensure_topics(kafka_bootstrap, [topic], 3)
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=False)
        await producer.start()
        try:
            for partition, customer_id in ((0, "C1"), (0, "C2"), (2, "C3")):
                value = full_alert(customer_id, day(40), Zone.RED).model_dump_json().encode()
                await producer.send_and_wait(topic, value, key=customer_id.encode(), partition=partition)
        finally:
            await producer.stop()
        read = await read_alerts_topic(kafka_bootstrap, topic, timeout_s=30)
        assert sorted(m.customer_id for m in read.items) == ["C1", "C2", "C3"]

    async def test_missing_topic_is_an_input_error(self, kafka_bootstrap: str, topic_suffix: str) -> None:
        """Reading a topic the broker does not have raises, naming the topic."""
        with pytest.raises(EvaluationInputError, match=f"absent-{topic_suffix}"):
            await read_alerts_topic(kafka_bootstrap, f"absent-{topic_suffix}", timeout_s=5)


class TestWarningLeadDays:
    def test_lead_days_are_what_the_report_summarises(self) -> None:
        """The per-churner lead times give the report's quartiles, one per warned churner."""
        rows = [churner(f"C{i}", 40 + 7 * i) for i in range(6)] + [stayer("S1")]
        early_and_stayer = [alert("C5", 1), alert("S1", 9)]
        marks = [alert(f"C{i}", 40 + 7 * i - (2 + 3 * i)) for i in range(5)] + early_and_stayer
        leads = warning_lead_days(rows, marks)
        report = evaluate(rows, marks, history_end=END)
        assert len(leads) == report.churners_warned == 5
        assert quantile(leads, 0.25) == report.lead_days.p25
        assert quantile(leads, 0.5) == report.lead_days.median
