"""``churnwatch demo``: embedded stack, one worker, live simulated traffic and a live alert view.

The run is bounded by ``--seconds``. The feed first publishes ``--warmup-days`` of history
fast (customers need 30 days of history before they leave the white zone), then one
simulated day every ``--seconds-per-day`` seconds, with a few deliberately bad records
so the dead-letter queue shows. Every child process (broker, Redis, worker) is stopped on
every way out: the end of the run, an error, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import orjson
import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console
from rich.live import Live

from cli.demo_view import (
    DemoProgress,
    DemoSummary,
    OutputTally,
    RateMeter,
    WorkerMetrics,
    plain_alert,
    plain_status,
    render_live,
    render_summary,
)
from sim.config import POPULATIONS, population_config
from sim.kafka_producer import open_producer
from sim.pacing import EventTimeSpeedup
from sim.population import SECONDS_PER_DAY
from sim.publish import bad_records as make_bad_records
from sim.publish import publish_simulation
from sim.simulate import Simulation
from sim.sink import EventSink, EventTopics, ProducerSink
from stack.embedded import running_stack
from stack.process import free_port
from stack.topics import ensure_topics
from streams.settings import Settings

DEMO_START = datetime(2025, 9, 1, tzinfo=UTC)
WORKER_STOP_GRACE_S = 10.0
METRICS_POLL_S = 0.25
LIVE_REFRESH_S = 0.25
PLAIN_STATUS_EVERY_S = 5.0
PLAIN_ALERTS_PER_STATUS = 3
DEMO_LEARNING_SETTINGS = {
    # A demo compresses months into a minute on one worker: a few hundred customers give
    # labels of both classes within weeks, not months. Scores, labels and the hand-over
    # rule are the product's own; only these pacing settings differ.
    "CHURNWATCH_SCORING__LEARNING__HANDOVER_DAYS": "3",
    "CHURNWATCH_SCORING__LEARNING__HANDOVER_WINDOW_EXAMPLES": "4000",
    "CHURNWATCH_SCORING__ONLINE__MIN_LABELS_PER_CLASS": "50",
    # The default operating point (the EMPC share, docs/alert-policy.md) alerts about 0.2% of
    # the base a month: a few alerts for a few hundred customers. The demo's team contacts 5%.
    "CHURNWATCH_POLICY__CAPACITY__BASE_SHARE_30D": "0.05",
}
"""Worker settings that let the model take over within a minute's demo (docs/learning.md) and
give its retention queue a few alerts a simulated day."""


class DemoPacer:
    """Warm-up history at full speed, then one simulated day per ``1 / live_speedup`` of event time.

    Both phases hold back while ``backlog()`` (records published but not yet read by the
    worker) exceeds ``max_backlog``, re-checking whenever ``scraped`` is set (the worker's
    metrics were read again): on a slow machine simulated time runs slower instead of
    alerts arriving long after their events, and the end-of-run drain stays short.

    >>> pacer = DemoPacer(100.0, 10.0, backlog=lambda: 0, max_backlog=10, scraped=asyncio.Event())
    >>> asyncio.run(pacer.wait(50.0)); pacer.phase
    'warm-up'
    >>> asyncio.run(pacer.wait(150.0)); pacer.phase, pacer.event_time_s
    ('live', 150.0)
    """

    def __init__(
        self,
        live_from_s: float,
        live_speedup: float,
        backlog: Callable[[], float],
        max_backlog: float,
        scraped: asyncio.Event,
        yield_every: int = 500,
    ) -> None:
        self._live_from_s = live_from_s
        self._live = EventTimeSpeedup(live_speedup)
        self._backlog = backlog
        self._max_backlog = max_backlog
        self._scraped = scraped
        self._yield_every = yield_every
        self._count = 0
        self.event_time_s: float | None = None
        self.live = False

    @property
    def phase(self) -> str:
        return "live" if self.live else "warm-up"

    @property
    def live_from(self) -> datetime:
        return datetime.fromtimestamp(self._live_from_s, UTC)

    async def wait(self, event_time_s: float) -> None:
        self._count += 1
        if self._count % self._yield_every == 0:
            # the warm-up never sleeps otherwise: let the view and the consumers run
            await asyncio.sleep(0)
        while self._backlog() > self._max_backlog:
            self._scraped.clear()
            await self._scraped.wait()
        if not self.live and event_time_s >= self._live_from_s:
            self.live = True
        if self.live:
            await self._live.wait(event_time_s)
        if self.event_time_s is None or event_time_s > self.event_time_s:
            self.event_time_s = event_time_s


class CountingSink:
    """An ``EventSink`` that counts what it sends, for the live view."""

    def __init__(self, inner: EventSink) -> None:
        self._inner = inner
        self.sent = 0

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        await self._inner.send(topic, key, value)
        self.sent += 1

    async def flush(self) -> None:
        await self._inner.flush()


@dataclass(frozen=True, slots=True)
class DemoPlan:
    """The run's parameters, fixed before anything starts."""

    seconds: int
    customers: int
    seed: int
    population: str
    warmup_days: int
    seconds_per_day: float
    max_backlog: int
    bad_records: int
    drain_s: float

    @property
    def simulated_days(self) -> int:
        """Warm-up plus as many live days as fit in the run (the feed is cut at the deadline).

        >>> DemoPlan(60, 10, 1, "default", 35, 0.5, 1000, 4, 8.0).simulated_days
        156
        """
        return self.warmup_days + math.ceil(self.seconds / self.seconds_per_day) + 1


@dataclass(slots=True)
class DemoRun:
    """Mutable state of a run, kept outside the event loop so an interrupted run can still report."""

    plan: DemoPlan
    worker_log: Path
    tally: OutputTally = field(default_factory=OutputTally)
    worker_metrics: WorkerMetrics = field(default_factory=WorkerMetrics)
    worker_meter: RateMeter = field(default_factory=RateMeter)
    publish_meter: RateMeter = field(default_factory=RateMeter)
    published: int = 0
    worker_rate: float = 0.0
    publish_rate: float = 0.0
    started_s: float = field(default_factory=time.monotonic)
    ended_s: float | None = None
    phase: str = "starting"
    event_time_s: float | None = None
    first_alert_s: float | None = None
    interrupted: bool = False

    def elapsed_s(self) -> float:
        return (self.ended_s or time.monotonic()) - self.started_s

    def progress(self) -> DemoProgress:
        event_time = datetime.fromtimestamp(self.event_time_s, UTC) if self.event_time_s is not None else None
        return DemoProgress(
            elapsed_s=self.elapsed_s(),
            total_s=float(self.plan.seconds),
            phase=self.phase,
            published=self.published,
            publish_rate=self.publish_rate,
            event_time=event_time,
            worker=self.worker_metrics,
            worker_rate=self.worker_rate,
        )

    def summary(self) -> DemoSummary:
        seconds = self.elapsed_s()
        return DemoSummary(
            seconds_run=seconds,
            customers=self.plan.customers,
            simulated_days=(
                (self.event_time_s - DEMO_START.timestamp()) / SECONDS_PER_DAY
                if self.event_time_s is not None
                else 0.0
            ),
            published=self.published,
            bad_records=self.plan.bad_records,
            worker=self.worker_metrics,
            events_per_s=self.worker_metrics.events_in / seconds if seconds > 0 else 0.0,
            peak_events_per_s=self.worker_meter.peak,
            worker_log=str(self.worker_log),
            first_alert_s=self.first_alert_s,
            interrupted=self.interrupted,
        )


def demo(
    seconds: Annotated[
        int, typer.Option(min=5, help="how long to publish traffic (wall-clock seconds)")
    ] = 60,
    customers: Annotated[int, typer.Option(min=10, help="simulated customers")] = 400,
    seed: Annotated[int, typer.Option(help="simulator seed")] = 7,
    population: Annotated[
        str, typer.Option(help=f"simulated population: {', '.join(POPULATIONS)} (sim/config.py)")
    ] = "default",
    warmup_days: Annotated[
        int, typer.Option(min=0, help="days of history published fast before live traffic")
    ] = 31,
    seconds_per_day: Annotated[
        float, typer.Option(min=0.05, help="wall-clock seconds per simulated day once live")
    ] = 0.3,
    max_backlog: Annotated[
        int, typer.Option(min=100, help="records the worker may fall behind before publishing waits")
    ] = 6000,
    bad_records: Annotated[int, typer.Option(min=0, help="deliberately invalid records")] = 12,
    drain_seconds: Annotated[
        float, typer.Option(min=0.0, help="at most this long for the worker to catch up at the end")
    ] = 10.0,
    work_dir: Annotated[Path | None, typer.Option(help="logs and data (default: a fresh directory)")] = None,
) -> None:
    """Run the embedded stack, a worker and live simulated traffic; show alerts as they arrive."""
    if population not in POPULATIONS:
        raise typer.BadParameter(f"population={population!r}: choose one of {', '.join(POPULATIONS)}")
    settings = Settings()
    plan = DemoPlan(
        seconds=seconds,
        customers=customers,
        seed=seed,
        population=population,
        warmup_days=warmup_days,
        seconds_per_day=seconds_per_day,
        max_backlog=max_backlog,
        bad_records=bad_records,
        drain_s=drain_seconds,
    )
    run_id = f"demo-{uuid.uuid4().hex[:8]}"
    root = (work_dir or Path(settings.worker.data_dir) / run_id).resolve()
    root.mkdir(parents=True, exist_ok=True)
    console = Console()
    run = DemoRun(plan=plan, worker_log=root / "worker.log")
    exit_code = 0
    console.print(
        f"[bold]Churnwatch demo[/bold] {run_id}: {customers:,} customers, {seconds}s; files in {root}"
    )
    try:
        with running_stack(root / "stack", settings.bootstrap, settings.redis_url) as stack:
            console.print(f"stack: kafka {stack.kafka_bootstrap}, redis {stack.redis_url}")
            topic_names = [
                settings.topics.calls,
                settings.topics.topups,
                settings.topics.complaints,
                settings.topics.lifecycle,
                settings.topics.alerts,
                settings.topics.dead_letters,
                settings.topics.predictions,
            ]
            asyncio.run(
                ensure_topics(
                    stack.kafka_bootstrap, topic_names, settings.topics.partitions, settings.topics.replicas
                )
            )
            web_port = free_port()
            worker = _start_worker(
                run.worker_log,
                {
                    "CHURNWATCH_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
                    "CHURNWATCH_REDIS_URL": stack.redis_url,
                    "CHURNWATCH_WORKER__WEB_PORT": str(web_port),
                    "CHURNWATCH_WORKER__DATA_DIR": str(root / "worker-data"),
                    "CHURNWATCH_WORKER__APP_ID": f"churnwatch-{run_id}",
                    "CHURNWATCH_FEATURES__KEY_PREFIX": run_id,
                    # the user's own CHURNWATCH_* settings win over the demo's pacing
                    **{
                        name: value
                        for name, value in DEMO_LEARNING_SETTINGS.items()
                        if name not in os.environ
                    },
                },
            )
            try:
                exit_code = asyncio.run(
                    _run(
                        run,
                        settings,
                        stack.kafka_bootstrap,
                        f"http://127.0.0.1:{web_port}/metrics",
                        worker,
                        console,
                    )
                )
            finally:
                _stop_worker(worker)
    except KeyboardInterrupt:
        run.interrupted = True
        exit_code = 130
    except SystemExit as stop:  # SIGTERM, turned into SystemExit by the stack
        run.interrupted = True
        exit_code = stop.code if isinstance(stop.code, int) else 1
    run.ended_s = run.ended_s or time.monotonic()
    console.print(render_summary(run.summary(), run.tally))
    if exit_code:
        raise typer.Exit(exit_code)


def _start_worker(log_path: Path, overrides: dict[str, str]) -> subprocess.Popen[bytes]:
    """``churnwatch worker`` in its own session (Ctrl-C reaches only the demo, which stops it)."""
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            [sys.executable, "-c", "from cli.main import main; main()", "worker"],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **overrides},
        )


def _stop_worker(worker: subprocess.Popen[bytes]) -> None:
    """SIGTERM (Faust shuts down cleanly), SIGKILL to the whole group after the grace period."""
    if worker.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(timeout=WORKER_STOP_GRACE_S)
    # anything left in the worker's process group goes too
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


async def _run(
    run: DemoRun,
    settings: Settings,
    bootstrap: str,
    metrics_url: str,
    worker: subprocess.Popen[bytes],
    console: Console,
) -> int:
    """Publish, watch and drain; returns the exit code."""
    plan = run.plan
    start_ms = int(time.time() * 1000)
    run.started_s = time.monotonic()
    deadline_s = run.started_s + plan.seconds
    topics = EventTopics(
        calls=settings.topics.calls,
        topups=settings.topics.topups,
        complaints=settings.topics.complaints,
        lifecycle=settings.topics.lifecycle,
    )
    simulation = Simulation(
        plan.customers, plan.simulated_days, plan.seed, DEMO_START, population_config(plan.population)
    )
    outputs = asyncio.create_task(
        _consume_outputs(run, bootstrap, [settings.topics.alerts, settings.topics.dead_letters], start_ms)
    )
    scraped = asyncio.Event()
    watcher = asyncio.create_task(_poll_metrics(run, metrics_url, scraped))
    async with open_producer(bootstrap) as producer:
        sink = CountingSink(ProducerSink(producer))
        pacer = DemoPacer(
            live_from_s=DEMO_START.timestamp() + plan.warmup_days * SECONDS_PER_DAY,
            live_speedup=SECONDS_PER_DAY / plan.seconds_per_day,
            backlog=lambda: sink.sent - run.worker_metrics.events_in,
            max_backlog=plan.max_backlog,
            scraped=scraped,
        )
        feed = asyncio.create_task(publish_simulation(simulation, sink, topics, pacer=pacer))
        rejects = asyncio.create_task(
            _publish_bad_records(sink, topics, plan, run.started_s, pacer.live_from)
        )
        view = _View(run, console)
        exit_code = 0
        try:
            with view:
                while time.monotonic() < deadline_s and not feed.done():
                    if worker.poll() is not None:
                        console.print(
                            f"[red]worker exited with code {worker.returncode}; see {run.worker_log}"
                        )
                        exit_code = 1
                        break
                    run.published = sink.sent
                    run.event_time_s = pacer.event_time_s
                    run.phase = pacer.phase
                    now = time.monotonic()
                    run.publish_rate = run.publish_meter.observe(now, sink.sent)
                    view.refresh()
                    await asyncio.sleep(LIVE_REFRESH_S)
                for task in (feed, rejects):
                    if task.done():
                        await task  # re-raises a publishing error
                    else:
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await task
                await sink.flush()
                run.published = sink.sent
                if exit_code == 0:
                    run.phase = "draining"
                    await _drain(run, worker, view)
                run.ended_s = time.monotonic()
                view.refresh()
        finally:
            for task in (feed, rejects, outputs, watcher):
                task.cancel()
            for task in (outputs, watcher):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    return exit_code


async def _publish_bad_records(
    sink: CountingSink, topics: EventTopics, plan: DemoPlan, started_s: float, at: datetime
) -> None:
    """Send the deliberately invalid records at evenly spaced moments of the first 3/4 of the run.

    Sent apart from the simulated feed, which may not reach its last days when the worker
    sets a slower pace, so every run shows each kind in the dead-letter queue.
    """
    records = make_bad_records(plan.bad_records, at)
    for index, (event_type, key, value) in enumerate(records):
        due_s = started_s + 0.75 * plan.seconds * (index + 1) / (len(records) + 1)
        await asyncio.sleep(max(0.0, due_s - time.monotonic()))
        await sink.send(topics.for_type(event_type.value) or topics.calls, key, value)


async def _drain(run: DemoRun, worker: subprocess.Popen[bytes], view: _View) -> None:
    """Wait, to a deadline, until the worker has read everything and its outputs are read back."""
    deadline_s = time.monotonic() + run.plan.drain_s
    previous: WorkerMetrics | None = None
    while time.monotonic() < deadline_s and worker.poll() is None:
        metrics = run.worker_metrics
        settled = (
            metrics.events_in >= run.published
            and metrics == previous
            and len(run.tally.alerts) >= metrics.alerts
            and run.tally.dead_letters >= metrics.dead_letters
        )
        if settled:
            return
        previous = metrics
        view.refresh()
        await asyncio.sleep(METRICS_POLL_S)


async def _poll_metrics(run: DemoRun, url: str, scraped: asyncio.Event) -> None:
    """Scrape the worker's ``/metrics`` page, setting ``scraped`` after every attempt.

    Connection errors mean the worker is still starting (or gone, which the main loop sees).
    """
    timeout = aiohttp.ClientTimeout(total=2.0)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with session.get(url) as response:
                    if response.status == 200:
                        run.worker_metrics = WorkerMetrics.parse(await response.text())
                        run.worker_rate = run.worker_meter.observe(
                            time.monotonic(), run.worker_metrics.events_in
                        )
            scraped.set()
            await asyncio.sleep(METRICS_POLL_S)


async def _consume_outputs(run: DemoRun, bootstrap: str, names: list[str], start_ms: int) -> None:
    """Read alerts and dead letters from the beginning, skipping records older than this run.

    Never ``auto_offset_reset='latest'``: the embedded broker reports end offsets wrongly.
    """
    alerts_topic, dead_letter_topic = names
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [
            TopicPartition(name, partition)
            for name in names
            for partition in sorted(consumer.partitions_for_topic(name) or ())
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            for tp, records in batches.items():
                for record in records:
                    if record.timestamp < start_ms or record.value is None:
                        continue
                    payload: dict[str, Any] = orjson.loads(record.value)
                    if tp.topic == alerts_topic:
                        run.tally.add_alert(payload)
                        if run.first_alert_s is None:
                            run.first_alert_s = run.elapsed_s()
                    elif tp.topic == dead_letter_topic:
                        run.tally.add_dead_letter(payload)
    finally:
        await consumer.stop()


class _View:
    """A rich Live view on a terminal; periodic plain lines otherwise (CI, logs, tests)."""

    def __init__(self, run: DemoRun, console: Console) -> None:
        self._run = run
        self._console = console
        self._live: Live | None = (
            Live(console=console, auto_refresh=False, transient=False) if console.is_terminal else None
        )
        self._last_plain_s = 0.0
        self._last_status = ""
        self._alerts_printed = 0

    def __enter__(self) -> _View:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
        else:
            self._print_plain()

    def refresh(self) -> None:
        if self._live is not None:
            self._live.update(render_live(self._run.progress(), self._run.tally), refresh=True)
        elif time.monotonic() - self._last_plain_s >= PLAIN_STATUS_EVERY_S:
            self._print_plain()

    def _print_plain(self) -> None:
        """A status line, plus the highest-priority alerts that arrived since the last line."""
        self._last_plain_s = time.monotonic()
        fresh = self._run.tally.alerts[self._alerts_printed :]
        self._alerts_printed += len(fresh)
        for row in sorted(fresh, key=lambda row: row.priority, reverse=True)[:PLAIN_ALERTS_PER_STATUS]:
            print(plain_alert(row), flush=True)
        status = plain_status(self._run.progress(), self._run.tally)
        if status != self._last_status:
            print(status, flush=True)
        self._last_status = status
