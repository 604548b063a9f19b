"""``churnwatch evaluate`` and ``report`` with decision dates, event files and the operating point."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import typer
from typer.testing import CliRunner, Result

from evaluation.cli import evaluate
from schemas.outputs import Alert, Prediction, RecommendedAction, ScoreSource, ValueTier, Zone

START = datetime(2025, 11, 3, tzinfo=UTC)
DAYS = 120
CHURN_DAYS = {"C0": 40, "C1": 70, "C2": 80, "C3": 100}
STAYERS = [f"S{i:02d}" for i in range(16)]


def day(n: float) -> datetime:
    return START + timedelta(days=n)


def snapshot(customer_id: str, at_day: int, score: float) -> str:
    return Prediction(
        snapshot_id=f"{customer_id}-{at_day}",
        customer_id=customer_id,
        event_time=day(at_day) + timedelta(days=1, microseconds=-1),
        features={"revenue_90d": 100.0},
        score=score,
        model_version="m-1",
        score_source=ScoreSource.ONLINE_MODEL,
    ).model_dump_json()


def alert(customer_id: str, at: datetime, zone: Zone) -> str:
    return Alert(
        alert_id=f"a-{customer_id}-{at:%Y%m%d}",
        customer_id=customer_id,
        event_time=at,
        created_at=at,
        score=0.7,
        zone=zone,
        previous_zone=Zone.GREEN,
        value_tier=ValueTier.MEDIUM,
        value_at_risk=60.0,
        priority=1.0,
        reasons=(),
        recommended_action=RecommendedAction(code="call", text="Call the customer", channel="phone"),
        model_version="m-1",
        score_source=ScoreSource.ONLINE_MODEL,
    ).model_dump_json()


def write_run(directory: Path) -> list[str]:
    """Truth with attributes, weekly snapshots (churners 0.8 in their last 30 days, else 0.3;
    stayers 0.10-0.25), a red alert 10 days before each churn, a yellow one for S00, and
    daily calls (churners silent in their last 20 days). Returns the file options."""
    truth = directory / "truth.csv"
    with truth.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["customer_id", "segment", "payment_type", "plan", "tenure_years", "churns", "churn_time"]
        )
        for customer_id, churn_day in CHURN_DAYS.items():
            writer.writerow(
                [customer_id, "family", "prepaid", "basic", "1.5", "1", day(churn_day).isoformat()]
            )
        for customer_id in STAYERS:
            writer.writerow([customer_id, "business", "postpaid", "pro", "4.0", "0", ""])
    lines = []
    for at_day in range(0, DAYS, 7):
        for customer_id, churn_day in CHURN_DAYS.items():
            if at_day < churn_day:
                lines.append(snapshot(customer_id, at_day, 0.8 if churn_day - at_day <= 30 else 0.3))
        for index, customer_id in enumerate(STAYERS):
            lines.append(snapshot(customer_id, at_day, 0.1 + 0.01 * index))
    predictions = directory / "predictions.jsonl"
    predictions.write_text("\n".join(lines) + "\n")
    alerts = directory / "alerts.jsonl"
    marks = [alert(c, day(d - 10), Zone.RED) for c, d in CHURN_DAYS.items()]
    alerts.write_text("\n".join([*marks, alert("S00", day(20), Zone.YELLOW)]) + "\n")
    events = directory / "events"
    events.mkdir()
    with (events / "events.jsonl").open("wb") as handle:
        for customer_id in [*CHURN_DAYS, *STAYERS]:
            silent_from = CHURN_DAYS.get(customer_id, DAYS + 20) - 20
            for n in range(min(silent_from, DAYS)):
                record = {
                    "type": "call",
                    "event_id": f"{customer_id}-{n}",
                    "customer_id": customer_id,
                    "event_time": (day(n) + timedelta(hours=12)).isoformat(),
                    "direction": "outgoing",
                    "duration_s": 90.0,
                    "counterparty": "x",
                }
                handle.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
    return [
        "--truth",
        str(truth),
        "--alerts-file",
        str(alerts),
        "--predictions-file",
        str(predictions),
        "--start",
        START.isoformat(),
        "--days",
        str(DAYS),
    ]


def run_evaluate(args: list[str]) -> Result:
    app = typer.Typer()
    app.command()(evaluate)
    return CliRunner().invoke(app, args)


class TestEvaluateAtADecisionDate:
    def test_each_customer_is_ranked_once_by_the_last_snapshot_before_the_date(self, tmp_path: Path) -> None:
        """At day 60: C0 has churned; 19 customers, C1 and C2 churn within 30 days and were scored
        0.8 on day 56, C3 (day 100) 0.3: AUC 1, both churners in the top 1.9 customers."""
        out = tmp_path / "report.json"
        result = run_evaluate(
            [*write_run(tmp_path), "--decision-date", day(60).date().isoformat(), "--json", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert "Ranking at 2026-01-02" in result.output
        (at_date,) = json.loads(out.read_text())["decision_dates"]
        assert (at_date["customers"], at_date["positives"], at_date["left_out_churned_before"]) == (19, 2, 1)
        used = at_date["overall"]["by_score"]["score_used"]
        assert used["roc_auc"] == 1.0
        assert used["precision_top_10"] == pytest.approx(1.0)
        assert used["lift_top_10"] == pytest.approx(19 / 2)
        assert at_date["reference"] is None
        assert [g["group"] for g in at_date["by_segment"]] == ["business", "family"]

    def test_repeated_dates_give_one_ranking_each_in_date_order(self, tmp_path: Path) -> None:
        """--decision-date 2026-01-22 and 2026-01-02: two rankings, earliest first."""
        out = tmp_path / "report.json"
        options = ["--decision-date", "2026-01-22", "--decision-date", "2026-01-02", "--json", str(out)]
        result = run_evaluate([*write_run(tmp_path), *options])
        assert result.exit_code == 0, result.output
        dates = [d["decision_time"][:10] for d in json.loads(out.read_text())["decision_dates"]]
        assert dates == ["2026-01-02", "2026-01-22"]

    def test_a_date_whose_horizon_ends_after_history_is_refused(self, tmp_path: Path) -> None:
        """Day 100 + 30 days passes the 120-day history: exit 1, naming the date."""
        result = run_evaluate([*write_run(tmp_path), "--decision-date", day(100).date().isoformat()])
        assert result.exit_code == 1
        assert "decision_date" in result.output

    def test_without_a_date_there_is_no_decision_ranking(self, tmp_path: Path) -> None:
        """No --decision-date: the JSON has no decision_dates and no such table prints."""
        out = tmp_path / "report.json"
        result = run_evaluate([*write_run(tmp_path), "--json", str(out)])
        assert result.exit_code == 0, result.output
        assert "decision_dates" not in json.loads(out.read_text())
        assert "Ranking at" not in result.output

    def test_events_without_a_date_are_a_usage_error(self, tmp_path: Path) -> None:
        """--events alone says it needs --decision-date."""
        result = run_evaluate([*write_run(tmp_path), "--events", str(tmp_path / "events")])
        assert result.exit_code == 2
        assert "--decision-date" in result.output

    def test_with_events_the_batch_reference_ranks_the_same_customers(self, tmp_path: Path) -> None:
        """The reference scores the 19 rows; its AUC and the gap to the product are reported."""
        pytest.importorskip("sklearn", reason="the batch reference needs the evaluation extra")
        out = tmp_path / "report.json"
        options = ["--decision-date", "2026-01-02", "--events", str(tmp_path / "events"), "--json", str(out)]
        result = run_evaluate([*write_run(tmp_path), *options])
        assert result.exit_code == 0, result.output
        assert "Batch reference" in result.output
        (at_date,) = json.loads(out.read_text())["decision_dates"]
        reference = at_date["overall"]["by_score"]["batch_reference"]
        assert reference["customers"] == 19
        assert reference["positives"] == 2
        summary = at_date["reference"]
        assert summary["folds"] == 2
        assert summary["roc_auc_gap"] == pytest.approx(reference["roc_auc"] - 1.0)
        assert "tenure_days" in summary["inputs"]
        assert "calls_out_30d" in summary["inputs"]


class TestOperatingPointInEvaluate:
    def test_zones_and_monthly_shares_are_printed_and_written(self, tmp_path: Path) -> None:
        """Red: four churners each alerted 10 days ahead (precision 100% at 30 days); yellow: S00,
        who stays (0%); 5 of 20 customers alerted."""
        out = tmp_path / "report.json"
        result = run_evaluate([*write_run(tmp_path), "--json", str(out)])
        assert result.exit_code == 0, result.output
        assert "Operating point" in result.output
        point = json.loads(out.read_text())["operating_point"]
        zones = {z["zone"]: z for z in point["by_zone"]}
        assert zones["red"]["alerted_customers"] == 4
        assert zones["red"]["precision"][0]["precision"] == 1.0
        assert zones["yellow"]["precision"][0]["precision"] == 0.0
        assert point["alerted_share"] == pytest.approx(5 / 20)
        november = point["by_month"][0]
        assert (november["month"], november["alerted_customers"], november["active_customers"]) == (
            "2025-11",
            1,
            20,
        )


class TestReportAtADecisionDate:
    def test_report_shows_the_default_date_and_the_operating_point(self, tmp_path: Path) -> None:
        """Without --decision-date the report ranks at the later half's midpoint (day 90)."""
        pytest.importorskip("matplotlib", reason="churnwatch report needs the report extra")
        from evaluation.cli import report

        app = typer.Typer()
        app.command()(report)
        out = tmp_path / "out"
        result = CliRunner().invoke(app, [*write_run(tmp_path), "--out", str(out)])
        assert result.exit_code == 0, result.output
        markdown = (out / "report.md").read_text()
        assert f"## At the decision date {day(90):%Y-%m-%d}" in markdown
        assert "## The operating point" in markdown
        assert "| red | 4 | 4 |" in markdown
