"""``churnwatch simulate`` and ``churnwatch replay``: typer-annotated functions the app registers.

Console output (progress bars, summaries) lives here; the work is in ``sim.simulate``,
``sim.publish`` and ``sim.replay``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from sim.config import POPULATIONS, population_config
from sim.errors import ReplayError
from sim.kafka_producer import open_producer
from sim.pacing import EventTimeSpeedup, FixedRate, FullSpeed, Pacer
from sim.publish import PublishSummary, publish_simulation
from sim.replay import Rejection, ReplayProgress, ReplaySummary, replay
from sim.simulate import Simulation, SimulationSummary
from sim.sink import EventTopics, ProducerSink
from stack.state import NO_BROKER_FIX, broker_answers, resolve
from stack.topics import ensure_topics

DEFAULT_START = "2025-11-03T00:00:00+00:00"
_SHOWN_REJECTIONS = 20

# The same environment variables as the worker's settings, so `eval "$(churnwatch stack up)"`
# points every command at the same broker and topics.
Bootstrap = Annotated[
    str | None,
    typer.Option(
        envvar="CHURNWATCH_KAFKA_BOOTSTRAP",
        help="Kafka bootstrap servers, host:port[,host:port] "
        "(default: the stack `churnwatch stack up` recorded).",
    ),
]
CallsTopic = Annotated[str, typer.Option(envvar="CHURNWATCH_TOPICS__CALLS", help="Topic for call events.")]
TopupsTopic = Annotated[
    str, typer.Option(envvar="CHURNWATCH_TOPICS__TOPUPS", help="Topic for top-up events.")
]
ComplaintsTopic = Annotated[
    str, typer.Option(envvar="CHURNWATCH_TOPICS__COMPLAINTS", help="Topic for complaint events.")
]
LifecycleTopic = Annotated[
    str, typer.Option(envvar="CHURNWATCH_TOPICS__LIFECYCLE", help="Topic for lifecycle events.")
]
Partitions = Annotated[
    int,
    typer.Option(
        envvar="CHURNWATCH_TOPICS__PARTITIONS",
        min=1,
        help="Partitions of input topics created here (existing topics are left as they are).",
    ),
]


def reachable_broker(bootstrap: str | None, console: Console) -> str:
    """The broker to publish to (the option, else the recorded stack), said in one line; a
    missing or silent broker ends the command with one line naming the fix."""
    addresses = resolve(bootstrap, None)
    if addresses.kafka_bootstrap is None:
        console.print(f"[red]no broker configured:[/red] {NO_BROKER_FIX}")
        raise typer.Exit(code=2)
    if not broker_answers(addresses.kafka_bootstrap):
        console.print(f"[red]cannot reach the broker at {addresses.kafka_bootstrap}:[/red] {NO_BROKER_FIX}")
        raise typer.Exit(code=2)
    console.print(f"using kafka {addresses.kafka_bootstrap} ({addresses.source})")
    return addresses.kafka_bootstrap


def simulate_command(
    customers: Annotated[int, typer.Option(min=1, help="Population size.")] = 20_000,
    days: Annotated[int, typer.Option(min=1, help="Days of event time to simulate.")] = 120,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same events.")] = 7,
    population: Annotated[
        str,
        typer.Option(help=f"Which population to draw: {', '.join(POPULATIONS)} (see sim/config.py)."),
    ] = "default",
    start: Annotated[str, typer.Option(help="First day of history, RFC 3339 with offset.")] = DEFAULT_START,
    out: Annotated[
        Path | None, typer.Option(help="Write events.jsonl and truth.csv into this directory.")
    ] = None,
    publish: Annotated[bool, typer.Option(help="Publish to the input topics instead.")] = False,
    rate: Annotated[
        float | None, typer.Option(min=0.001, help="Publish at this many events/s (default: max).")
    ] = None,
    bootstrap: Bootstrap = None,
    calls_topic: CallsTopic = "telco.calls",
    topups_topic: TopupsTopic = "telco.topups",
    complaints_topic: ComplaintsTopic = "telco.complaints",
    lifecycle_topic: LifecycleTopic = "telco.lifecycle",
    partitions: Partitions = 4,
) -> None:
    """Simulate a telecom population: write JSON Lines + truth.csv, or publish to Kafka."""
    console = Console(stderr=True)
    if (out is None) == (not publish):
        raise typer.BadParameter("give exactly one of --out DIR or --publish")
    if population not in POPULATIONS:
        raise typer.BadParameter(f"population={population!r}: choose one of {', '.join(POPULATIONS)}")
    broker = reachable_broker(bootstrap, console) if publish else ""
    simulation = Simulation(customers, days, seed, _aware(start), population_config(population))
    with _day_progress(console, days) as (progress, task):

        def on_day(days_done: int, events: int) -> None:
            progress.update(task, completed=days_done, events=events)

        if out is not None:
            written = simulation.write(out, on_day=on_day)
            _print_simulation(console, written, out)
            return
        topics = EventTopics(
            calls=calls_topic, topups=topups_topic, complaints=complaints_topic, lifecycle=lifecycle_topic
        )
        pacer: Pacer = FixedRate(rate) if rate else FullSpeed()
        published = asyncio.run(_publish(simulation, broker, topics, partitions, pacer, on_day))
    _print_published(console, published)


def replay_command(
    paths: Annotated[list[Path], typer.Argument(help="JSON Lines / CSV files or directories.")],
    rate: Annotated[float | None, typer.Option(min=0.001, help="Publish at this many events/s.")] = None,
    max_speed: Annotated[bool, typer.Option("--max", help="Publish as fast as possible (default).")] = False,
    speedup: Annotated[
        float | None, typer.Option(min=0.001, help="Event time runs X times faster than real time.")
    ] = None,
    bootstrap: Bootstrap = None,
    calls_topic: CallsTopic = "telco.calls",
    topups_topic: TopupsTopic = "telco.topups",
    complaints_topic: ComplaintsTopic = "telco.complaints",
    lifecycle_topic: LifecycleTopic = "telco.lifecycle",
    partitions: Partitions = 4,
) -> None:
    """Replay event files in event-time order to the input topics (key = customer_id)."""
    console = Console(stderr=True)
    broker = reachable_broker(bootstrap, console)
    chosen = sum((rate is not None, max_speed, speedup is not None))
    if chosen > 1:
        raise typer.BadParameter("choose one of --rate, --max and --speedup")
    pacer: Pacer = FullSpeed()
    if rate is not None:
        pacer = FixedRate(rate)
    elif speedup is not None:
        pacer = EventTimeSpeedup(speedup)
    topics = EventTopics(
        calls=calls_topic, topups=topups_topic, complaints=complaints_topic, lifecycle=lifecycle_topic
    )
    try:
        summary = asyncio.run(_replay(paths, broker, topics, partitions, pacer, console))
    except ReplayError as error:
        console.print(f"[red]replay failed:[/red] {error}")
        raise typer.Exit(code=2) from error
    _print_replay(console, summary)


async def _create_topics(bootstrap: str, topics: EventTopics, partitions: int) -> None:
    """Create missing input topics up front: co-partitioning breaks if a broker auto-creates them."""
    names = [topics.calls, topics.topups, topics.complaints, topics.lifecycle]
    await ensure_topics(bootstrap, names, partitions)


async def _publish(
    simulation: Simulation,
    bootstrap: str,
    topics: EventTopics,
    partitions: int,
    pacer: Pacer,
    on_day: Callable[[int, int], None],
) -> PublishSummary:
    await _create_topics(bootstrap, topics, partitions)
    async with open_producer(bootstrap) as producer:
        return await publish_simulation(
            simulation, ProducerSink(producer), topics, pacer=pacer, on_day=on_day
        )


async def _replay(
    paths: list[Path], bootstrap: str, topics: EventTopics, partitions: int, pacer: Pacer, console: Console
) -> ReplaySummary:
    await _create_topics(bootstrap, topics, partitions)
    progress = Progress(
        BarColumn(bar_width=24),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]:>8,.0f} ev/s {task.fields[published]:>10,} sent"),
        TextColumn("{task.fields[rejected]:,} rejected  @ {task.fields[position]}"),
        TimeElapsedColumn(),
        console=console,
    )
    shown = 0

    def on_reject(rejection: Rejection) -> None:
        nonlocal shown
        shown += 1
        if shown <= _SHOWN_REJECTIONS:
            progress.console.print(f"[yellow]rejected[/yellow] {rejection}")

    with progress:
        task = progress.add_task("replay", total=None, rate=0.0, published=0, rejected=0, position="-")

        def on_progress(state: ReplayProgress) -> None:
            progress.update(
                task,
                total=state.bytes_total,
                completed=state.bytes_read,
                rate=state.events_per_s,
                published=state.published,
                rejected=state.rejected,
                position=_iso(state.event_time_s),
            )

        async with open_producer(bootstrap) as producer:
            return await replay(
                paths,
                ProducerSink(producer),
                topics,
                pacer=pacer,
                on_progress=on_progress,
                on_reject=on_reject,
            )


@contextmanager
def _day_progress(console: Console, days: int) -> Iterator[tuple[Progress, TaskID]]:
    """A progress bar over simulated days with an event counter."""
    progress = Progress(
        TextColumn("[bold]simulate"),
        BarColumn(),
        TextColumn("day {task.completed:.0f}/{task.total:.0f}"),
        TextColumn("{task.fields[events]:>12,} events"),
        TimeElapsedColumn(),
        console=console,
    )
    with progress:
        yield progress, progress.add_task("simulate", total=days, events=0)


def _aware(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(f"start={text!r}: not an RFC 3339 timestamp") from error
    if moment.tzinfo is None:
        raise typer.BadParameter(f"start={text!r}: needs a UTC offset, e.g. +00:00")
    return moment


def _iso(epoch_s: float | None) -> str:
    """Compact UTC rendering of an event time for the progress line.

    >>> _iso(0.0), _iso(None)
    ('1970-01-01 00:00', '-')
    """
    if epoch_s is None:
        return "-"
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%d %H:%M")


def _print_simulation(console: Console, summary: SimulationSummary, out: Path) -> None:
    table = Table(title=f"simulated {summary.customers:,} customers x {summary.days} days -> {out}")
    table.add_column("type")
    table.add_column("events", justify="right")
    for name, count in sorted(summary.per_type.items()):
        table.add_row(name, f"{count:,}")
    table.add_row("[bold]total", f"[bold]{summary.events:,}")
    console.print(table)
    console.print(
        f"{summary.events_per_s:,.0f} events/s written, "
        f"{summary.events_per_customer_day:.2f} events per customer per day"
    )


def _print_published(console: Console, summary: PublishSummary) -> None:
    table = Table(title="published")
    table.add_column("topic")
    table.add_column("messages", justify="right")
    for topic, count in sorted(summary.per_topic.items()):
        table.add_row(topic, f"{count:,}")
    console.print(table)
    console.print(
        f"{summary.published:,} messages in {summary.elapsed_s:.1f} s ({summary.events_per_s:,.0f}/s)"
    )


def _print_replay(console: Console, summary: ReplaySummary) -> None:
    table = Table(title=f"replayed {len(summary.files)} file(s)")
    table.add_column("topic")
    table.add_column("messages", justify="right")
    for topic, count in sorted(summary.per_topic.items()):
        table.add_row(topic, f"{count:,}")
    table.add_row("[bold]rejected lines", f"[bold]{summary.rejected:,}")
    console.print(table)
    console.print(
        f"{summary.published:,} events in {summary.elapsed_s:.1f} s ({summary.events_per_s:,.0f}/s), "
        f"event time {_iso(summary.first_event_time_s)} .. {_iso(summary.last_event_time_s)}"
    )
    if summary.rejected > _SHOWN_REJECTIONS:
        console.print(f"({summary.rejected - _SHOWN_REJECTIONS:,} more rejected lines not shown)")
