"""The offline yardstick: split by snapshot day, gradient boosting on the earlier half, the
scores compared on the same later-half examples; files in, tables and JSON out."""

from __future__ import annotations

import csv
import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import typer
from aiokafka import AIOKafkaProducer
from typer.testing import CliRunner, Result

from evaluation.cli import evaluate
from evaluation.errors import YardstickUnavailableError
from evaluation.loading.records import read_training_file, read_training_topic
from evaluation.loading.truth import parse_truth_row
from evaluation.measures.ranking import ranking_metrics
from evaluation.measures.yardstick import (
    GRADIENT_BOOSTING,
    ONLINE_MODEL,
    RULES,
    SCORE_USED,
    ExampleRow,
    build_yardstick,
    model_input_names,
    split_day,
)
from models.labels import example_id
from schemas.event_days import day_end_s, day_number
from schemas.outputs import ResolvedDay, ScoreSource, TrainingExample
from stack.topics import ensure_topics

START = datetime(2025, 11, 3, tzinfo=UTC)
FIRST_DAY = day_number(START.date())


def example(
    customer_id: str,
    day: int,
    churned: bool,
    calls_out_7d: float,
    model_score: float = 0.5,
    rules_score: float = 0.2,
) -> TrainingExample:
    """A resolved snapshot of day ``FIRST_DAY + day`` with one informative input."""
    snapshot_day = FIRST_DAY + day
    return TrainingExample(
        example_id=example_id(customer_id, snapshot_day),
        customer_id=customer_id,
        partition=0,
        snapshot_time=datetime.fromtimestamp(day_end_s(snapshot_day), UTC),
        resolved_on=START.date() + timedelta(days=day + 33),
        churned=churned,
        churn_time=START + timedelta(days=day + 10) if churned else None,
        features={"calls_out_7d": calls_out_7d, "calls_out_30d": 40.0, "history_days": 60.0 + day},
        score=rules_score,
        score_source=ScoreSource.COLD_START_RULES,
        model_version="river-logreg-0",
        model_score=model_score,
        rules_score=rules_score,
    )


def learnable(days: int = 40, customers: int = 60, seed: int = 3) -> list[TrainingExample]:
    """Churners call out little in their last week; the online score is a constant 0.5 and the
    rules' a coin toss, so only a learner of the inputs ranks them."""
    rng = random.Random(seed)
    examples = []
    for day in range(days):
        for index in range(customers):
            churned = rng.random() < 0.15
            calls = rng.uniform(0.0, 3.0) if churned else rng.uniform(2.0, 10.0)
            examples.append(example(f"C{index}", day, churned, calls, rules_score=rng.random()))
    return examples


def rows(examples: list[TrainingExample]) -> list[ExampleRow | None]:
    return [ExampleRow.from_example(e) for e in examples]


class TestSplitDay:
    def test_split_is_the_midpoint_of_the_days_covered(self) -> None:
        """Ten days split five and five; eleven days give the later half the odd day."""
        assert split_day(range(100, 110)) == 105
        assert split_day(range(100, 111)) == 105

    def test_examples_are_split_by_their_snapshot_day(self) -> None:
        """Days 0-19 are fitted on and days 20-39 scored: the counts and the split day say so."""
        report = build_yardstick(rows(learnable(days=40, customers=20))).report
        assert report.first_day == START.date()
        assert report.split_day == START.date() + timedelta(days=20)
        assert report.last_day == START.date() + timedelta(days=39)
        assert report.earlier_examples == report.later_examples == 20 * 20

    def test_one_day_of_examples_has_no_halves(self) -> None:
        """With every snapshot on one day there is nothing earlier to fit on."""
        with pytest.raises(YardstickUnavailableError, match="no earlier and later half"):
            build_yardstick(rows([example("C1", 0, True, 1.0), example("C2", 0, False, 5.0)]))

    def test_an_earlier_half_of_one_class_cannot_be_fitted(self) -> None:
        """No churner before the split: nothing to learn churn from."""
        examples = [example("C1", 0, False, 5.0), example("C2", 1, False, 5.0), example("C3", 3, True, 1.0)]
        with pytest.raises(YardstickUnavailableError, match="one class only"):
            build_yardstick(rows(examples))


class TestYardstick:
    def test_gradient_boosting_beats_a_useless_online_score_on_a_learnable_signal(self) -> None:
        """The inputs separate churners; a constant online score ranks at chance, so the gap is large."""
        report = build_yardstick(rows(learnable())).report
        overall = report.overall
        assert overall.by_score[GRADIENT_BOOSTING].roc_auc is not None
        assert overall.by_score[GRADIENT_BOOSTING].roc_auc > 0.9
        assert overall.by_score[ONLINE_MODEL].roc_auc == 0.5
        assert overall.roc_auc_gap is not None
        assert overall.roc_auc_gap > 0.4
        assert overall.within_target is False

    def test_snapshot_time_scores_are_ranked_with_the_evaluation_metrics(self) -> None:
        """The rules' row equals ranking_metrics of the later half's rules scores."""
        yardstick = build_yardstick(rows(learnable()))
        later = yardstick.later[RULES]
        assert yardstick.report.overall.by_score[RULES] == ranking_metrics(RULES, later)
        assert [s.score for s in later] == [s.score for s in yardstick.later[SCORE_USED]]
        assert len(later) == yardstick.report.later_examples

    def test_same_examples_give_the_same_numbers_in_any_order(self) -> None:
        """Fixed seed, no early stopping, examples put in example-id order: shuffled input, same report."""
        examples = learnable()
        first = build_yardstick(rows(examples)).report
        random.Random(9).shuffle(examples)
        assert build_yardstick(rows(examples)).report == first

    def test_repeated_examples_and_end_of_day_marks_are_counted_not_learned(self) -> None:
        """A redone resolution publishes an example again; marks are records without an example."""
        examples = learnable(days=10, customers=20)
        records = [*rows(examples), ExampleRow.from_example(examples[0]), None]
        report = build_yardstick(records).report
        assert (report.records_read, report.repeats_dropped, report.resolved_day_marks) == (202, 1, 1)
        assert report.earlier_examples + report.later_examples == 200

    def test_inputs_are_the_online_model_inputs_in_its_order(self) -> None:
        """Clock inputs left out, rate ratios added, as inputs_from_stored gives them."""
        report = build_yardstick(rows(learnable(days=10, customers=20))).report
        assert tuple(report.inputs) == model_input_names()
        assert "history_days" not in report.inputs
        assert "calls_out_rate_7d_per_30d" in report.inputs

    def test_segments_come_from_the_truth(self) -> None:
        """Later-half examples are grouped by their customer's segment, each with its own gap."""
        truth = [
            parse_truth_row(
                {"customer_id": f"C{i}", "segment": "family" if i % 2 else "business", "churns": "0"}
            )
            for i in range(60)
        ]
        report = build_yardstick(rows(learnable()), truth).report
        assert [g.group for g in report.by_segment] == ["business", "family"]
        assert sum(g.examples for g in report.by_segment) == report.later_examples


def write_truth(path: Path, customers: int) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "segment", "churns", "churn_time", "trajectory_start", "signals"])
        for index in range(customers):
            writer.writerow([f"C{index}", "family", "0", "", "", ""])


def run_evaluate(args: list[str]) -> Result:
    app = typer.Typer()
    app.command()(evaluate)
    return CliRunner().invoke(app, args)


class TestEvaluateWithTraining:
    def test_yardstick_is_printed_and_written_to_the_json_report(self, tmp_path: Path) -> None:
        """--training-file adds the Yardstick table and a yardstick object; marks are skipped."""
        truth, training, alerts, out = (
            tmp_path / "truth.csv",
            tmp_path / "training.jsonl",
            tmp_path / "alerts.jsonl",
            tmp_path / "report.json",
        )
        write_truth(truth, 60)
        alerts.write_text("")
        mark = ResolvedDay(partition=0, resolved_on=date(2026, 1, 1), examples=3)
        lines = [e.model_dump_json() for e in learnable()] + [mark.model_dump_json()]
        training.write_text("\n".join(lines) + "\n")
        args = ["--truth", str(truth), "--alerts-file", str(alerts), "--training-file", str(training)]
        result = run_evaluate([*args, "--start", START.isoformat(), "--json", str(out)])
        assert result.exit_code == 0, result.output
        assert "Yardstick on the later half" in result.output
        report = json.loads(out.read_text())
        assert report["yardstick"]["resolved_day_marks"] == 1
        assert report["yardstick"]["split_day"] == (START.date() + timedelta(days=20)).isoformat()
        assert report["yardstick"]["overall"]["roc_auc_gap"] > 0.4

    def test_empty_training_file_is_a_note_not_a_failure(self, tmp_path: Path) -> None:
        """No examples: the warning tables print, with a note, and the JSON has no yardstick."""
        truth, training, alerts, out = (
            tmp_path / "truth.csv",
            tmp_path / "training.jsonl",
            tmp_path / "alerts.jsonl",
            tmp_path / "report.json",
        )
        write_truth(truth, 3)
        alerts.write_text("")
        training.write_text("")
        args = ["--truth", str(truth), "--alerts-file", str(alerts), "--training-file", str(training)]
        result = run_evaluate([*args, "--json", str(out)])
        assert result.exit_code == 0, result.output
        assert "no yardstick" in result.output
        assert "yardstick" not in json.loads(out.read_text())

    def test_invalid_training_lines_are_skipped_and_named(self, tmp_path: Path) -> None:
        """A line that is neither an example nor a mark is listed with its line number."""
        path = tmp_path / "training.jsonl"
        path.write_text(example("C1", 0, True, 1.0).model_dump_json() + '\n{"kind": "example"}\n')
        read = read_training_file(path)
        assert [r.customer_id for r in read.items if r is not None] == ["C1"]
        assert read.invalid[0].startswith("training.jsonl:2")


@pytest.mark.integration
class TestTrainingTopic:
    async def test_examples_and_marks_are_read_to_the_end(
        self, kafka_bootstrap: str, topic_suffix: str
    ) -> None:
        """Every record of the training topic is read: examples as rows, marks as None."""
        topic = f"training-{topic_suffix}"
        await ensure_topics(kafka_bootstrap, [topic], 1)
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=False)
        await producer.start()
        try:
            for record in (
                example("C1", 0, True, 1.0),
                example("C2", 0, False, 6.0),
                ResolvedDay(partition=0, resolved_on=date(2025, 12, 6), examples=2),
            ):
                await producer.send_and_wait(topic, record.model_dump_json().encode(), partition=0)
        finally:
            await producer.stop()
        read = await read_training_topic(kafka_bootstrap, topic, timeout_s=30)
        assert sorted(r.customer_id if r is not None else "mark" for r in read.items) == ["C1", "C2", "mark"]
        assert read.invalid == []


def write_training_run(directory: Path) -> list[str]:
    """Truth (C0 a churner in trajectory throughout, the rest stayers), no alerts, learnable examples;
    the evaluate / report arguments that read them."""
    truth, training, alerts = (
        directory / "truth.csv",
        directory / "training.jsonl",
        directory / "alerts.jsonl",
    )
    with truth.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "segment", "churns", "churn_time", "trajectory_start", "signals"])
        writer.writerow(
            ["C0", "family", "1", (START + timedelta(days=100)).isoformat(), START.isoformat(), "usage"]
        )
        for index in range(1, 60):
            writer.writerow([f"C{index}", "family" if index % 2 else "business", "0", "", "", ""])
    alerts.write_text("")
    training.write_text("\n".join(e.model_dump_json() for e in learnable()) + "\n")
    return ["--truth", str(truth), "--alerts-file", str(alerts), "--training-file", str(training)]


class TestOfflineComparisonCommands:
    def test_ceiling_over_the_later_half_is_in_the_json_report(self, tmp_path: Path) -> None:
        """With a simulator truth the later half gets a ceiling, overall and per segment."""
        out = tmp_path / "report.json"
        result = run_evaluate(
            [*write_training_run(tmp_path), "--start", START.isoformat(), "--json", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert "Ceiling" in result.output
        report = json.loads(out.read_text())
        ceiling = report["ceiling"]["yardstick_later_half"]
        assert ceiling["overall"]["snapshots"] == report["yardstick"]["later_examples"]
        assert [g["group"] for g in ceiling["by_segment"]] == ["business", "family"]

    def test_a_training_file_without_scikit_learn_names_the_extra(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Asked for a yardstick without scikit-learn, evaluate stops with one line naming the extra."""
        from evaluation import cli

        monkeypatch.setattr(cli, "yardstick_available", lambda: False)
        result = run_evaluate(write_training_run(tmp_path))
        assert result.exit_code == 1
        assert "churnwatch[evaluation]" in result.output
        assert "Warning quality" not in result.output

    def test_report_has_the_yardstick_section_and_its_roc_plot(self, tmp_path: Path) -> None:
        """The page gains the yardstick table, the ceiling table and a three-curve ROC plot."""
        pytest.importorskip("matplotlib", reason="churnwatch report needs the report extra")
        from evaluation.cli import report

        app = typer.Typer()
        app.command()(report)
        out = tmp_path / "report"
        args = [*write_training_run(tmp_path), "--start", START.isoformat(), "--out", str(out)]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        markdown = (out / "report.md").read_text()
        assert "## The offline yardstick" in markdown
        assert "## What the simulator allows" in markdown
        assert "![ROC on the later half](yardstick_roc.png)" in markdown
        assert (out / "yardstick_roc.png").read_bytes().startswith(b"\x89PNG")
