"""``churnwatch bench``: throughput, latency and Redis memory of the pipeline vs its baselines.

``churnwatch bench models`` compares candidate churn models offline (``bench.model_comparison``).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated

import typer
import uvloop
from pydantic import ValidationError
from rich.console import Console

from bench.candidates import ALL_MODELS
from bench.config import BenchConfig
from bench.model_comparison import ComparisonConfig, run_comparison
from bench.run import run_bench
from schemas.parsing import describe_validation_error
from stack.embedded import running_stack
from streams.settings import Settings

app = typer.Typer(help="Benchmarks: the pipeline (no sub-command) and the candidate models.")


@app.callback(invoke_without_command=True)
def bench(
    ctx: typer.Context,
    events: Annotated[
        int, typer.Option(help="Events to pre-produce (call, top-up, complaint, lifecycle).")
    ] = 200_000,
    customers: Annotated[int, typer.Option(help="Simulated customers the events are about.")] = 50_000,
    partitions: Annotated[int, typer.Option(help="Partitions of each input topic.")] = 4,
    load_fraction: Annotated[
        float, typer.Option(help="Latency phase: offered load as a fraction of the measured pipeline rate.")
    ] = 0.5,
    live_seconds: Annotated[
        float,
        typer.Option(help="Latency phase: seconds of live traffic (sparse topics idle for minutes)."),
    ] = 240.0,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the numbers to this JSON file.")
    ] = None,
    floors: Annotated[
        bool,
        typer.Option(help="Also run the no-op plus validation, and plus the Redis feature update."),
    ] = True,
    two_workers: Annotated[
        bool,
        typer.Option(help="Also run two pipeline workers in one consumer group on a copy of the data set."),
    ] = True,
    profile: Annotated[
        bool, typer.Option(help="Also profile the no-op and the pipeline worker with py-spy.")
    ] = False,
    work_dir: Annotated[Path, typer.Option(help="Logs, worker data and profiles go here.")] = Path(
        "churnwatch-data/bench"
    ),
    learning_customers: Annotated[
        int,
        typer.Option(help="Learning phase: customers of a history long enough to learn from (0: skip)."),
    ] = 600,
    learning_days: Annotated[int, typer.Option(min=65, help="Learning phase: days of that history.")] = 160,
    replay_customers: Annotated[
        int,
        typer.Option(
            help="End-to-end replay: customers of a simulated history replayed through a worker (0: skip)."
        ),
    ] = 20_000,
    replay_days: Annotated[int, typer.Option(min=1, help="End-to-end replay: days of that history.")] = 120,
) -> None:
    """Measure raw aiokafka, a Faust no-op and the full pipeline (one worker, then two) on one data
    set, plus latency and memory."""
    if ctx.invoked_subcommand is not None:
        return
    console = Console()
    settings = Settings()
    config = BenchConfig(
        events=events,
        customers=customers,
        partitions=partitions,
        load_fraction=load_fraction,
        live_seconds=live_seconds,
        floors=floors,
        two_workers=two_workers,
        learning_customers=learning_customers,
        learning_days=learning_days,
        replay_customers=replay_customers,
        replay_days=replay_days,
        profile_dir=work_dir / "profiles" if profile else None,
        work_dir=work_dir,
    )
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    with running_stack(work_dir / "stack", settings.bootstrap, settings.redis_url) as stack:
        if stack.children:
            console.print(f"embedded stack: kafka {stack.kafka_bootstrap}, redis {stack.redis_url}")
        console.print(f"{os.cpu_count()} CPUs; every phase uses fresh topics and key prefixes")
        result = asyncio.run(
            run_bench(
                config,
                settings,
                stack.kafka_bootstrap,
                stack.redis_url,
                lambda line: console.print(f"[dim]{line}[/dim]"),
            )
        )
    console.print(result.table())
    if config.profile_dir is not None:
        console.print(f"profiles: {config.profile_dir}/noop.txt, {config.profile_dir}/pipeline.txt")
    if json_path is not None:
        json_path.write_text(json.dumps(result.to_json(), indent=2) + "\n")
        console.print(f"wrote {json_path}")


@app.command("models")
def models(
    seed: Annotated[list[int], typer.Option(help="Simulation seed; repeat for several.")] = [1, 2, 3],  # noqa: B006
    customers: Annotated[int, typer.Option(help="Simulated customers per seed.")] = 3_000,
    days: Annotated[int, typer.Option(help="Simulated days per seed.")] = 150,
    population: Annotated[
        str, typer.Option(help="Simulated population: default, contract_heavy (sim/config.py).")
    ] = "default",
    snapshot_every_days: Annotated[
        int, typer.Option(help="Snapshot each customer one day in this many (staggered by customer).")
    ] = 1,
    negative_learn_share: Annotated[float, typer.Option(help="Share of negative examples learned.")] = 0.5,
    weighted: Annotated[
        bool, typer.Option(help="Learned negatives weigh 1 / share, as in the worker (else weight 1).")
    ] = True,
    ensemble_size: Annotated[int, typer.Option(help="Members of each tree ensemble.")] = 5,
    model: Annotated[
        list[str],
        typer.Option(
            help=f"Candidate to run; repeat. Default: all of {', '.join(ALL_MODELS)}. "
            "logreg and forest take settings: 'forest:kind=amf,n_models=5', 'logreg:optimizer=adam'."
        ),
    ] = list(ALL_MODELS),  # noqa: B006
    learn_when: Annotated[
        str,
        typer.Option(
            help="horizon_end (learn a snapshot once its horizon ended) or resolved (at resolution)."
        ),
    ] = "horizon_end",
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write every number to this JSON file.")
    ] = None,
) -> None:
    """Replay simulated populations offline and compare candidate models prequentially (docs/learning.md).

    Rule weights and the logistic regression's settings come from the worker's settings
    (``CHURNWATCH_SCORING__…``), so a candidate setting is measured before it is deployed.
    """
    console = Console()
    try:
        config = ComparisonConfig.model_validate(
            {
                "seeds": seed,
                "customers": customers,
                "days": days,
                "population": population,
                "snapshot_every_days": snapshot_every_days,
                "negative_learn_share": negative_learn_share,
                "weighted": weighted,
                "ensemble_size": ensemble_size,
                "models": model,
                "learn_when": learn_when,
            }
        )
    except ValidationError as error:
        console.print(f"[red]{describe_validation_error(error)}[/red]")
        raise typer.Exit(2) from error
    result = run_comparison(
        config, Settings().scoring, progress=lambda line: console.print(f"[dim]{line}[/dim]")
    )
    console.print(result.table())
    if json_path is not None:
        json_path.write_text(json.dumps(result.to_json(), indent=2) + "\n")
        console.print(f"wrote {json_path}")
