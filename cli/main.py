"""The ``churnwatch`` command: one CLI, one subcommand per job."""

from __future__ import annotations

import typer

from cli import (
    alerts_cli,
    bench_cli,
    demo,
    rebuild_cli,
    schemas_cli,
    scores_cli,
    stack_cli,
    status_cli,
    suppress_cli,
    worker_cli,
)
from evaluation.cli import evaluate, report
from sim.cli import replay_command, simulate_command

app = typer.Typer(
    name="churnwatch",
    help="Churn early-warning stream processor for telecom retention teams.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(stack_cli.app, name="stack")
app.add_typer(schemas_cli.app, name="schemas")
app.command("worker")(worker_cli.worker)
app.command("demo")(demo.demo)
app.add_typer(bench_cli.app, name="bench")
app.command("simulate")(simulate_command)
app.command("replay")(replay_command)
app.command("evaluate")(evaluate)
app.command("report")(report)
app.command("rebuild")(rebuild_cli.rebuild)
app.command("status")(status_cli.status)
app.add_typer(suppress_cli.app, name="suppress")
app.add_typer(alerts_cli.app, name="alerts")
app.add_typer(scores_cli.app, name="scores")


def main() -> None:
    """Console-script entry point."""
    app()
