"""``churnwatch evaluate`` and ``churnwatch report``: read a run, measure it, show it.

``evaluate`` reads truth.csv and the alerts (a file or the whole topic) and prints warning
quality; with the score snapshots of ``churn.predictions`` (a file or the topic) also
ranking quality and money; with the resolved examples of ``churn.training`` (a file or
the topic) also the offline yardstick; with the simulator's truth also the ceiling of
what its positives allow. Always the operating point (precision by zone, the alerted
share of the base by month); with ``--decision-date`` the per-customer ranking at each
date, and with ``--events`` the batch reference beside it. ``report`` writes the same as
a Markdown page with plots.

Wiring only: ``evaluation.loading`` reads the inputs, ``evaluation.measures`` computes,
``evaluation.rendering`` lays out tables, Markdown and plots.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from evaluation.errors import EvaluationInputError
from evaluation.loading.events import read_reference_inputs
from evaluation.loading.records import (
    PredictionRead,
    RunInputs,
    TrainingRead,
    read_alerts_file,
    read_alerts_topic,
    read_predictions_file,
    read_predictions_topic,
    read_training_file,
    read_training_topic,
)
from evaluation.loading.truth import read_truth
from evaluation.measures.decision import decision_dates
from evaluation.measures.operating_point import OperatingPoint
from evaluation.measures.profit import ProfitConfig
from evaluation.measures.run_measures import (
    DecisionResults,
    decision_results,
    offline_comparison,
    run_operating_point,
    score_quality,
)
from evaluation.measures.warnings import EvaluationConfig, warning_lead_days
from evaluation.measures.warnings import evaluate as evaluate_warnings
from evaluation.measures.yardstick import MISSING_SCIKIT_LEARN, yardstick_available
from evaluation.rendering.markdown import ReportInputs, write_report
from evaluation.rendering.plots import plotting_available
from evaluation.rendering.tables import (
    render,
    render_decision,
    render_events_read,
    render_invalid,
    render_offline_comparison,
    render_omissions,
    render_operating_point,
    render_score_quality,
)
from sim.cli import DEFAULT_START

_PIPED_WIDTH = 140
_Read = TypeVar("_Read")


# options evaluate and report share
PredictionsFileOption = Annotated[
    Path | None,
    typer.Option(exists=True, dir_okay=False, help="Score snapshots as JSON Lines, one Prediction per line."),
]
DecisionDateOption = Annotated[
    list[str] | None,
    typer.Option(
        "--decision-date",
        help="Rank each customer by their last snapshot at or before this date (RFC 3339; a bare date "
        "is its start, UTC); repeat for more dates.",
    ),
]
HorizonDaysOption = Annotated[
    float,
    typer.Option(min=0.001, help="At a decision date, a customer is positive if churn follows within this."),
]
EventsOption = Annotated[
    Path | None,
    typer.Option(
        exists=True,
        help="The simulator's event files (a directory of JSON Lines, or one file): fit the batch "
        "reference on the customer table at each decision date.",
    ),
]
TrainingFileOption = Annotated[
    Path | None,
    typer.Option(
        exists=True,
        dir_okay=False,
        help="Resolved training examples as JSON Lines (as on churn.training), for the yardstick.",
    ),
]


def evaluate(
    truth: Annotated[
        Path,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="The simulator's truth.csv, or a churn list (CSV or .parquet: customer_id, churn_time; "
            "customers absent from it stayed).",
        ),
    ],
    alerts_file: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Alerts as JSON Lines, one per line.")
    ] = None,
    bootstrap: Annotated[
        str | None, typer.Option(help="Read the alerts topic from this broker instead of a file.")
    ] = None,
    topic: Annotated[str, typer.Option(help="Alerts topic.")] = "retention.alerts",
    predictions_file: PredictionsFileOption = None,
    predictions_topic: Annotated[
        str, typer.Option(help="Snapshots topic, read with --bootstrap when no --predictions-file.")
    ] = "churn.predictions",
    training_file: TrainingFileOption = None,
    training_topic: Annotated[
        str, typer.Option(help="Training topic, read with --bootstrap when no --training-file.")
    ] = "churn.training",
    label_horizon_days: Annotated[
        float, typer.Option(min=0.001, help="A snapshot is positive if churn follows within this many days.")
    ] = 30.0,
    offer_cost: Annotated[float, typer.Option(min=0.0, help="Retention offer cost d.")] = 10.0,
    contact_cost: Annotated[float, typer.Option(min=0.0, help="Contact cost f.")] = 1.0,
    default_value: Annotated[
        float, typer.Option(min=0.0, help="Customer value of a snapshot without revenue_90d.")
    ] = 200.0,
    acceptance_alpha: Annotated[
        float, typer.Option(min=0.001, help="Acceptance rate ~ Beta(alpha, beta).")
    ] = 6.0,
    acceptance_beta: Annotated[
        float, typer.Option(min=0.001, help="Acceptance rate ~ Beta(alpha, beta).")
    ] = 14.0,
    start: Annotated[str, typer.Option(help="First moment of the simulated history.")] = DEFAULT_START,
    days: Annotated[int, typer.Option(min=1, help="Days of simulated history (as given to simulate).")] = 120,
    recall_horizon_days: Annotated[
        float, typer.Option(min=0.001, help="A warning counts if at most this many days before churn.")
    ] = 60.0,
    timeout_s: Annotated[float, typer.Option(min=0.1, help="Give up reading the topic after this.")] = 120.0,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the report as JSON.")] = None,
    decision_date: DecisionDateOption = None,
    horizon_days: HorizonDaysOption = 30.0,
    events: EventsOption = None,
) -> None:
    """Measure whether alerts warned real churners ahead of time, against ground truth."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=_PIPED_WIDTH)
    run = _load_run(
        truth,
        alerts_file,
        bootstrap,
        topic,
        predictions_file,
        predictions_topic,
        training_file,
        training_topic,
        start,
        days,
        timeout_s,
        console,
    )
    read, known, history_end, predictions = run.alerts, run.truth, run.history_end, run.predictions
    if events is not None and not decision_date:
        raise typer.BadParameter("--events needs at least one --decision-date")
    try:
        given = decision_date or []
        dates = decision_dates(given, run.history_start, history_end, horizon_days, default=False)
    except EvaluationInputError as error:
        console.print(f"[red]cannot evaluate:[/red] {error}")
        raise typer.Exit(1) from error
    config = EvaluationConfig(recall_horizon_days=recall_horizon_days)
    report = evaluate_warnings(
        known.rows, read.items, history_end=history_end, config=config, absent_stayed=known.absent_stayed
    )
    render(report, console)
    payload = report.model_dump(mode="json")
    point = _operating_point(run, config)
    render_operating_point(point, console)
    payload["operating_point"] = point.model_dump(mode="json")
    quality = None
    if predictions is not None:
        profit_config = ProfitConfig(
            offer_cost=offer_cost,
            contact_cost=contact_cost,
            default_value=default_value,
            acceptance_alpha=acceptance_alpha,
            acceptance_beta=acceptance_beta,
        )
        quality = score_quality(
            predictions.items, read.items, known, history_end, label_horizon_days, profit_config
        )
        render_score_quality(quality, console)
        payload["ranking"] = quality.ranking.model_dump(mode="json")
        payload["profit"] = quality.profit.model_dump(mode="json")
    comparison = offline_comparison(None if run.training is None else run.training.items, known, quality)
    render_offline_comparison(comparison, console)
    payload.update(comparison.payload())
    decisions = _decision_results(run, dates, horizon_days, truth, events, console)
    for result in decisions.results:
        render_decision(result, console)
    if decisions.results:
        payload["decision_dates"] = decisions.payload()
    if json_path is not None:
        json_path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        console.print(f"report written to {json_path}")


def _load_run(
    truth: Path,
    alerts_file: Path | None,
    bootstrap: str | None,
    topic: str,
    predictions_file: Path | None,
    predictions_topic: str,
    training_file: Path | None,
    training_topic: str,
    start: str,
    days: int,
    timeout_s: float,
    console: Console,
) -> RunInputs:
    """Read every input, naming skipped records; exit 1 with the reason if one cannot be read."""
    if (alerts_file is None) == (bootstrap is None):
        raise typer.BadParameter("give exactly one of --alerts-file and --bootstrap")
    if training_file is not None and not yardstick_available():
        console.print(f"[red]cannot fit the yardstick:[/red] {escape(MISSING_SCIKIT_LEARN)}")
        raise typer.Exit(1)
    try:
        history_start = datetime.fromisoformat(start)
        if history_start.tzinfo is None:
            raise EvaluationInputError("start", start, "needs a UTC offset")
        known = read_truth(truth)
        read = (
            read_alerts_file(alerts_file)
            if alerts_file is not None
            else asyncio.run(read_alerts_topic(str(bootstrap), topic, timeout_s))
        )
        predictions = _read_predictions(predictions_file, bootstrap, predictions_topic, timeout_s, console)
        training = _read_training(training_file, bootstrap, training_topic, timeout_s, console)
    except (EvaluationInputError, ValueError) as error:
        console.print(f"[red]cannot evaluate:[/red] {error}")
        raise typer.Exit(1) from error
    render_invalid("alert", read.invalid, console)
    if predictions is not None:
        render_invalid("prediction", predictions.invalid, console)
    if training is not None:
        render_invalid("training", training.invalid, console)
    history_end = history_start + timedelta(days=days)
    return RunInputs(history_start, history_end, known, read, predictions, training)


def _file_or_topic(
    path: Path | None,
    read_file: Callable[[Path], _Read],
    read_topic: Callable[[], Coroutine[Any, Any, _Read]] | None,
    missing: str,
    console: Console,
) -> _Read | None:
    """The records from the file, else from the topic (``read_topic``: None without a broker);
    None, said on the console after ``missing``, when the topic cannot be read, so the other
    tables still print."""
    if path is not None:
        return read_file(path)
    if read_topic is None:
        return None
    try:
        return asyncio.run(read_topic())
    except EvaluationInputError as error:
        console.print(f"[yellow]{missing}:[/yellow] {error}")
        return None


def _read_predictions(
    path: Path | None, bootstrap: str | None, topic: str, timeout_s: float, console: Console
) -> PredictionRead | None:
    """The snapshots, for the score ranking."""
    read_topic = None if bootstrap is None else lambda: read_predictions_topic(bootstrap, topic, timeout_s)
    return _file_or_topic(path, read_predictions_file, read_topic, "no score ranking", console)


def _read_training(
    path: Path | None, bootstrap: str | None, topic: str, timeout_s: float, console: Console
) -> TrainingRead | None:
    """The training records, for the yardstick; from the topic only with scikit-learn there."""
    if path is None and bootstrap is not None and not yardstick_available():
        console.print(f"[yellow]no yardstick:[/yellow] {escape(MISSING_SCIKIT_LEARN)}")
        return None
    read_topic = None if bootstrap is None else lambda: read_training_topic(bootstrap, topic, timeout_s)
    return _file_or_topic(path, read_training_file, read_topic, "no yardstick", console)


def _operating_point(run: RunInputs, config: EvaluationConfig) -> OperatingPoint:
    scored = None if run.predictions is None else run.predictions.items
    return run_operating_point(
        run.truth, run.alerts.items, scored, run.history_start, run.history_end, config
    )


def _decision_results(
    run: RunInputs,
    dates: Sequence[datetime],
    horizon_days: float,
    truth_path: Path,
    events: Path | None,
    console: Console,
) -> DecisionResults:
    """Rank the customers at each date; with ``events`` (and scikit-learn), read the customer
    table and the events once and fit the batch reference beside it. Says on the console
    what cannot be shown."""
    reference = None
    if dates and run.predictions is not None and events is not None:
        if yardstick_available():
            reference = read_reference_inputs(truth_path, events, dates)
            render_events_read(reference, console)
        else:
            console.print(f"[yellow]no batch reference:[/yellow] {escape(MISSING_SCIKIT_LEARN)}")
    predictions = None if run.predictions is None else run.predictions.items
    training = None if run.training is None else run.training.items
    decisions = decision_results(
        predictions, training, run.truth, run.history_start, dates, horizon_days, reference
    )
    render_omissions(decisions.omissions, console)
    return decisions


def report(
    truth: Annotated[
        Path,
        typer.Option(
            exists=True, dir_okay=False, help="The simulator's truth.csv, or a churn list (see evaluate)."
        ),
    ],
    out: Annotated[Path, typer.Option(file_okay=False, help="Directory for report.md and its PNG plots.")],
    alerts_file: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Alerts as JSON Lines, one per line.")
    ] = None,
    predictions_file: PredictionsFileOption = None,
    bootstrap: Annotated[
        str | None, typer.Option(help="Read the alerts (and snapshots, without a file) from this broker.")
    ] = None,
    topic: Annotated[str, typer.Option(help="Alerts topic.")] = "retention.alerts",
    predictions_topic: Annotated[str, typer.Option(help="Snapshots topic.")] = "churn.predictions",
    training_file: TrainingFileOption = None,
    training_topic: Annotated[str, typer.Option(help="Training topic.")] = "churn.training",
    start: Annotated[str, typer.Option(help="First moment of the simulated history.")] = DEFAULT_START,
    days: Annotated[int, typer.Option(min=1, help="Days of simulated history (as given to simulate).")] = 120,
    recall_horizon_days: Annotated[
        float, typer.Option(min=0.001, help="A warning counts if at most this many days before churn.")
    ] = 60.0,
    label_horizon_days: Annotated[
        float, typer.Option(min=0.001, help="A snapshot is positive if churn follows within this many days.")
    ] = 30.0,
    timeout_s: Annotated[float, typer.Option(min=0.1, help="Give up reading a topic after this.")] = 120.0,
    decision_date: DecisionDateOption = None,
    horizon_days: HorizonDaysOption = 30.0,
    events: EventsOption = None,
) -> None:
    """Write the evaluation as Markdown with plots (ROC, lift and profit, calibration, lead time, weeks)."""
    console = Console()
    if not plotting_available():
        console.print(
            "[red]cannot draw plots:[/red] matplotlib is missing; pip install 'churnwatch\\[report]'"
        )
        raise typer.Exit(1)
    run = _load_run(
        truth,
        alerts_file,
        bootstrap,
        topic,
        predictions_file,
        predictions_topic,
        training_file,
        training_topic,
        start,
        days,
        timeout_s,
        console,
    )
    try:
        dates = decision_dates(
            decision_date or [],
            run.history_start,
            run.history_end,
            horizon_days,
            default=run.predictions is not None,
        )
    except EvaluationInputError as error:
        console.print(f"[red]cannot report:[/red] {error}")
        raise typer.Exit(1) from error
    config = EvaluationConfig(recall_horizon_days=recall_horizon_days)
    warnings = evaluate_warnings(
        run.truth.rows, run.alerts.items, run.history_end, config, absent_stayed=run.truth.absent_stayed
    )
    quality = (
        None
        if run.predictions is None
        else score_quality(
            run.predictions.items,
            run.alerts.items,
            run.truth,
            run.history_end,
            label_horizon_days,
            ProfitConfig(),
        )
    )
    training = None if run.training is None else run.training.items
    comparison = offline_comparison(training, run.truth, quality)
    render_omissions(comparison.omissions, console)
    inputs = ReportInputs(
        history_start=run.history_start,
        history_end=run.history_end,
        warnings=warnings,
        lead_days=warning_lead_days(run.truth.rows, run.alerts.items, recall_horizon_days),
        alerts=run.alerts.items,
        ranking=None if quality is None else quality.ranking,
        profit=None if quality is None else quality.profit,
        judged=[] if quality is None else quality.judged,
        yardstick=None if comparison.yardstick is None else comparison.yardstick.report,
        yardstick_later={} if comparison.yardstick is None else comparison.yardstick.later,
        ceilings=comparison.ceilings,
        operating_point=_operating_point(run, config),
        decisions=_decision_results(run, dates, horizon_days, truth, events, console).results,
    )
    for path in write_report(inputs, out):
        console.print(f"wrote {path}")
