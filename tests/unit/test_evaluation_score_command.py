"""``churnwatch evaluate`` with score snapshots: files in, ranking and money tables and JSON out."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from aiokafka import AIOKafkaProducer
from typer.testing import CliRunner, Result

from evaluation.cli import evaluate
from evaluation.errors import EvaluationInputError
from evaluation.loading.records import read_predictions_file, read_predictions_topic
from schemas.outputs import Alert, Prediction, RecommendedAction, ScoreSource, ValueTier, Zone
from stack.topics import ensure_topics

START = datetime(2025, 11, 3, tzinfo=UTC)
DAYS = 120


def day(n: float) -> datetime:
    return START + timedelta(days=n)


def snapshot(customer_id: str, at_day: int, score: float, revenue_90d: float = 100.0) -> Prediction:
    return Prediction(
        snapshot_id=f"{customer_id}-{at_day}",
        customer_id=customer_id,
        event_time=day(at_day) + timedelta(days=1, microseconds=-1),
        features={"revenue_90d": revenue_90d},
        score=score,
        model_version="rules-1",
        score_source=ScoreSource.COLD_START_RULES,
    )


def alert(customer_id: str, at: datetime) -> Alert:
    return Alert(
        alert_id=f"a-{customer_id}-{at:%Y%m%d}",
        customer_id=customer_id,
        event_time=at,
        created_at=at,
        score=0.6,
        zone=Zone.YELLOW,
        previous_zone=Zone.GREEN,
        value_tier=ValueTier.MEDIUM,
        value_at_risk=60.0,
        priority=1.0,
        reasons=(),
        recommended_action=RecommendedAction(code="call", text="Call the customer", channel="phone"),
        model_version="rules-1",
        score_source=ScoreSource.COLD_START_RULES,
    )


def write_run(directory: Path) -> tuple[Path, Path, Path]:
    """A small run: four churners scored high before they leave, sixteen stayers scored low,
    one alert per churner; every customer snapshotted weekly."""
    truth = directory / "truth.csv"
    predictions = directory / "predictions.jsonl"
    alerts = directory / "alerts.jsonl"
    churners = {f"C{i}": 40 + 10 * i for i in range(4)}
    stayers = [f"S{i}" for i in range(16)]
    with truth.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "segment", "churns", "churn_time", "trajectory_start", "decoy_kind"])
        for customer_id, churn_day in churners.items():
            writer.writerow([customer_id, "family", "1", day(churn_day).isoformat(), "", ""])
        for customer_id in stayers:
            writer.writerow([customer_id, "price_sensitive", "0", "", "", ""])
    lines = []
    for at_day in range(0, DAYS, 7):
        for customer_id, churn_day in churners.items():
            if at_day < churn_day:
                score = 0.8 if churn_day - at_day <= 30 else 0.3
                lines.append(snapshot(customer_id, at_day, score, revenue_90d=150.0).model_dump_json())
        for index, customer_id in enumerate(stayers):
            lines.append(snapshot(customer_id, at_day, 0.1 + 0.01 * index).model_dump_json())
    predictions.write_text("\n".join(lines) + "\n")
    alerts.write_text(
        "\n".join(alert(c, day(churn_day - 10)).model_dump_json() for c, churn_day in churners.items()) + "\n"
    )
    return truth, predictions, alerts


def run_evaluate(args: list[str]) -> Result:
    app = typer.Typer()
    app.command()(evaluate)
    return CliRunner().invoke(app, args)


class TestEvaluateWithPredictions:
    def test_ranking_and_money_are_printed_and_written_to_the_json_report(self, tmp_path: Path) -> None:
        """With --predictions-file the report carries ranking and profit beside the warning figures."""
        truth, predictions, alerts = write_run(tmp_path)
        out = tmp_path / "report.json"
        inputs = ["--truth", str(truth), "--alerts-file", str(alerts), "--predictions-file", str(predictions)]
        result = run_evaluate([*inputs, "--start", START.isoformat(), "--json", str(out)])
        assert result.exit_code == 0, result.output
        assert "Score ranking" in result.output
        assert "EMPC" in result.output
        report = json.loads(out.read_text())
        assert report["churners_warned"] == 4
        assert report["ranking"]["overall"]["roc_auc"] == 1.0
        assert report["profit"]["policy_share"] == pytest.approx(4 / 20)
        assert report["profit"]["empc"] > 0

    def test_without_predictions_the_report_is_unchanged(self, tmp_path: Path) -> None:
        """Only alerts: no ranking keys, no ranking tables."""
        truth, _, alerts = write_run(tmp_path)
        out = tmp_path / "report.json"
        result = run_evaluate(["--truth", str(truth), "--alerts-file", str(alerts), "--json", str(out)])
        assert result.exit_code == 0, result.output
        assert "ranking" not in json.loads(out.read_text())
        assert "Score ranking" not in result.output

    def test_invalid_prediction_lines_are_skipped_and_named(self, tmp_path: Path) -> None:
        """A line that is not a Prediction is listed with its line number and left out."""
        path = tmp_path / "predictions.jsonl"
        path.write_text(snapshot("C1", 3, 0.5).model_dump_json() + '\n{"score": 2}\n')
        read = read_predictions_file(path)
        assert [s.customer_id for s in read.items] == ["C1"]
        assert read.invalid[0].startswith("predictions.jsonl:2")


@pytest.mark.integration
class TestPredictionsTopic:
    async def test_topic_is_read_to_every_partition_high_water_mark(
        self, kafka_bootstrap: str, topic_suffix: str
    ) -> None:
        """Every snapshot is read, even with an empty partition."""
        topic = f"predictions-{topic_suffix}"
        await ensure_topics(kafka_bootstrap, [topic], 3)
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=False)
        await producer.start()
        try:
            for partition, customer_id in ((0, "C1"), (0, "C2"), (2, "C3")):
                value = snapshot(customer_id, 5, 0.4).model_dump_json().encode()
                await producer.send_and_wait(topic, value, key=customer_id.encode(), partition=partition)
        finally:
            await producer.stop()
        read = await read_predictions_topic(kafka_bootstrap, topic, timeout_s=30)
        assert sorted(s.customer_id for s in read.items) == ["C1", "C2", "C3"]

    async def test_missing_topic_is_an_input_error(self, kafka_bootstrap: str, topic_suffix: str) -> None:
        """Reading a snapshots topic the broker does not have raises, naming the topic."""
        with pytest.raises(EvaluationInputError, match=f"absent-{topic_suffix}"):
            await read_predictions_topic(kafka_bootstrap, f"absent-{topic_suffix}", timeout_s=5)


class TestReportCommand:
    def test_report_writes_markdown_and_every_plot(self, tmp_path: Path) -> None:
        """From small predictions, alerts and truth files the report writes report.md and five PNGs."""
        pytest.importorskip("matplotlib", reason="churnwatch report needs the report extra")
        from evaluation.cli import report

        truth, predictions, alerts = write_run(tmp_path)
        out = tmp_path / "report"
        app = typer.Typer()
        app.command()(report)
        inputs = ["--truth", str(truth), "--alerts-file", str(alerts), "--predictions-file", str(predictions)]
        result = CliRunner().invoke(app, [*inputs, "--start", START.isoformat(), "--out", str(out)])
        assert result.exit_code == 0, result.output
        pngs = ["calibration.png", "lead_time.png", "lift.png", "roc.png", "weekly.png"]
        assert sorted(p.name for p in out.iterdir()) == sorted(["report.md", *pngs])
        for name in pngs:
            assert (out / name).read_bytes().startswith(b"\x89PNG")
        markdown = (out / "report.md").read_text()
        assert "![ROC curve](roc.png)" in markdown
        assert "| churners warned at most 60 days ahead | 4 (100.0%) |" in markdown

    def test_report_without_predictions_has_warning_plots_only(self, tmp_path: Path) -> None:
        """Alerts alone give the lead-time and weekly plots, no ranking section."""
        pytest.importorskip("matplotlib", reason="churnwatch report needs the report extra")
        from evaluation.cli import report

        truth, _, alerts = write_run(tmp_path)
        out = tmp_path / "report"
        app = typer.Typer()
        app.command()(report)
        result = CliRunner().invoke(
            app,
            [
                "--truth",
                str(truth),
                "--alerts-file",
                str(alerts),
                "--start",
                START.isoformat(),
                "--out",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
        assert sorted(p.name for p in out.iterdir()) == ["lead_time.png", "report.md", "weekly.png"]
        assert "How well the scores rank" not in (out / "report.md").read_text()

    def test_report_without_matplotlib_names_the_extra(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without matplotlib the command stops before reading anything and names the extra to install."""
        from evaluation import cli

        monkeypatch.setattr(cli, "plotting_available", lambda: False)
        truth, _, alerts = write_run(tmp_path)
        app = typer.Typer()
        app.command()(cli.report)
        result = CliRunner().invoke(
            app, ["--truth", str(truth), "--alerts-file", str(alerts), "--out", str(tmp_path / "report")]
        )
        assert result.exit_code == 1
        assert "churnwatch[report]" in result.output
        assert not (tmp_path / "report").exists()
