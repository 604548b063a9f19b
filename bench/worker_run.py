"""One benchmark worker process: ``python -m bench.worker_run SPEC.json``.

Runs a no-op or the full pipeline worker until it has handled ``expected_events``
records, writes a ``RunOutcome`` JSON and stops itself with SIGTERM (Faust's clean
shutdown). Throughput is timed from the first batch handed to an agent to the last
record handled; the pipeline counts a record as handled when its tick is applied,
scored, its alerts delivered and the record acknowledged (or when it is dead-lettered).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faust
import uvloop

from agents.worker import Worker, build_worker
from bench.errors import BenchError
from bench.floors import floor_work
from bench.noop import NoopCounter, build_noop_app
from bench.profile_frames import function_costs, parse_collapsed, render_report
from bench.spec import GroupProgress, RunOutcome, RunSpec
from streams.input_reader import InputReader
from streams.training_reader import TrainingReader

_FIRST_POLL_S = 0.002
_DONE_POLL_S = 0.01
_GROUP_WRITE_S = 0.05  # a group member's progress file: at most this often
PROFILE_RATE_HZ = 250
_PROFILER_ATTACH_S = 0.3
_PROFILE_TOP = 40


class PipelineProgress:
    """Handled-record counts of a pipeline worker, read from its own Prometheus metrics."""

    def __init__(self, worker: Worker, record_processed_times: bool) -> None:
        self._metrics = worker.metrics
        self.first_s: float | None = None
        self.first_wall_s: float | None = None
        self.first_cpu_s: float | None = None  # this process's CPU time at the first record
        self.processed_times: list[tuple[str, int, int, float]] = []
        if record_processed_times:
            self._record_processed_times()

    def _record_processed_times(self) -> None:
        """Note when each record is acknowledged (the pipeline has no per-record latency metric)."""
        original = self._metrics.processed
        times = self.processed_times

        def processed(topic: str, partition: int, offset: int) -> None:
            times.append((topic, partition, offset, time.time()))
            original(topic, partition, offset)

        self._metrics.processed = processed  # type: ignore[method-assign]

    def poll_first(self) -> None:
        if self.first_s is None and self._metrics.total(self._metrics.events_in) > 0:
            self.first_s = time.perf_counter()
            self.first_wall_s = time.time()
            self.first_cpu_s = time.process_time()

    def cpu_s(self) -> float:
        """CPU seconds this process used since its first record (all its threads)."""
        return 0.0 if self.first_cpu_s is None else time.process_time() - self.first_cpu_s

    @property
    def handled(self) -> int:
        metrics = self._metrics
        return int(
            metrics.total(metrics.events_applied)
            + metrics.total(metrics.dead_letters)
            + metrics.total(metrics.events_replayed)
        )

    @property
    def alerts(self) -> int:
        return int(self._metrics.total(self._metrics.alerts))

    @property
    def dead_letters(self) -> int:
        return int(self._metrics.total(self._metrics.dead_letters))

    @property
    def applied(self) -> int:
        return int(self._metrics.total(self._metrics.events_applied))

    @property
    def replayed(self) -> int:
        return int(self._metrics.total(self._metrics.events_replayed))

    def next_offsets(self) -> list[tuple[str, int, int]]:
        offsets = self._metrics.next_offsets
        return sorted((topic, partition, offset) for (topic, partition), offset in offsets.items())


class GroupMemberWatch:
    """One worker of a consumer group: notes when its count grows and its rebalances, as wall times.

    Polled every ``_DONE_POLL_S``, so its times are that precise.
    """

    def __init__(self, progress: PipelineProgress, reader: InputReader) -> None:
        self._progress = progress
        self._reader = reader
        self._handled = 0
        self._last_handled_wall_s: float | None = None
        self._cpu_s = 0.0  # up to the last time ``handled`` grew
        self._first_assigned_wall_s: float | None = None
        self._assignments = 0
        self._assigned_wall_s: float | None = None
        self._assignment: list[tuple[str, int]] = []
        self._pause_began_wall_s: float | None = None
        self._rebalance_pause_s = 0.0

    def poll(self) -> GroupProgress:
        now_wall_s = time.time()
        progress = self._progress
        progress.poll_first()
        handled = progress.handled
        if handled > self._handled:
            self._handled, self._last_handled_wall_s = handled, now_wall_s
            self._cpu_s = progress.cpu_s()
        rebalancing = self._reader.rebalancing
        assignment = [] if rebalancing else self._reader.assignment()
        if rebalancing and self._assigned_wall_s is not None and self._pause_began_wall_s is None:
            self._pause_began_wall_s = now_wall_s
        if not rebalancing and self._pause_began_wall_s is not None:
            self._rebalance_pause_s += now_wall_s - self._pause_began_wall_s
            self._pause_began_wall_s = None
        if not rebalancing and assignment != self._assignment:
            self._assignment, self._assigned_wall_s = assignment, now_wall_s
            if assignment:
                self._assignments += 1
                if self._first_assigned_wall_s is None:
                    self._first_assigned_wall_s = now_wall_s
        return GroupProgress(
            handled=handled,
            applied=progress.applied,
            dead_letters=progress.dead_letters,
            replayed=progress.replayed,
            alerts=progress.alerts,
            next_offsets=progress.next_offsets(),
            assignment=assignment,
            rebalancing=rebalancing,
            first_wall_s=progress.first_wall_s,
            last_handled_wall_s=self._last_handled_wall_s,
            cpu_s=self._cpu_s,
            first_assigned_wall_s=self._first_assigned_wall_s,
            assignments=self._assignments,
            assigned_wall_s=self._assigned_wall_s,
            rebalance_pause_s=self._rebalance_pause_s,
        )


def main(spec_path: Path) -> None:
    spec = RunSpec.model_validate_json(spec_path.read_bytes())
    settings = spec.worker_settings()
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    loop = asyncio.new_event_loop()
    if spec.mode == "noop":
        app, counter = build_noop_app(settings, spec.bootstrap)
        watch = _watch_noop(app, spec, counter)
    elif spec.mode in ("validate", "features"):
        work = floor_work(spec.mode, settings, spec.redis_url)
        app, counter = build_noop_app(settings, spec.bootstrap, work)
        watch = _watch_noop(app, spec, counter)
    else:
        worker = build_worker(settings, spec.bootstrap, spec.redis_url)
        app = worker.app
        reader = worker.input_reader
        progress = PipelineProgress(worker, spec.record_processed_times)
        if spec.group_stop_path is not None:
            watch = _watch_group_member(spec, GroupMemberWatch(progress, reader))
        else:
            watch = _watch_pipeline(
                spec,
                progress,
                lambda: bool(reader.assignment()) and not reader.rebalancing,
                worker.training_reader if spec.wait_for_learner else None,
            )
    app.task(watch)
    faust.Worker(app, loglevel=settings.worker.log_level, quiet=True, loop=loop).execute_from_commandline()


def _faust_assigned(app: faust.App) -> Callable[[], bool]:
    return lambda: bool(app.consumer.assignment()) and not app.rebalancing


def _watch_noop(app: faust.App, spec: RunSpec, counter: NoopCounter) -> Callable[[], Any]:
    async def watch() -> None:
        await _wait_first(spec, lambda: counter.first_s is not None, _faust_assigned(app))
        profiler = _start_profiler(spec)
        await _wait_until(
            lambda: counter.events >= spec.expected_events, spec.timeout_s, lambda: counter.events
        )
        last_s, last_wall_s = time.perf_counter(), time.time()
        outcome = RunOutcome(
            mode=spec.mode,
            events=counter.events,
            elapsed_s=last_s - (counter.first_s or last_s),
            first_wall_s=counter.first_wall_s or last_wall_s,
            last_wall_s=last_wall_s,
            profile_top=_stop_profiler(profiler, spec, counter.events),
        )
        _finish(spec, outcome)

    return watch


def _watch_pipeline(
    spec: RunSpec,
    progress: PipelineProgress,
    assigned: Callable[[], bool],
    learner: TrainingReader | None = None,
) -> Callable[[], Any]:
    async def watch() -> None:
        def started() -> bool:
            progress.poll_first()
            return progress.first_s is not None

        await _wait_first(spec, started, assigned)
        profiler = _start_profiler(spec)
        await _wait_until(
            lambda: progress.handled >= spec.expected_events, spec.timeout_s, lambda: progress.handled
        )
        if learner is not None:
            await _wait_for_learner(learner, spec.timeout_s)
        last_s, last_wall_s = time.perf_counter(), time.time()
        handled, cpu_s = progress.handled, progress.cpu_s()
        outcome = RunOutcome(
            mode="pipeline",
            events=handled,
            elapsed_s=last_s - (progress.first_s or last_s),
            first_wall_s=progress.first_wall_s or last_wall_s,
            last_wall_s=last_wall_s,
            alerts=progress.alerts,
            dead_letters=progress.dead_letters,
            applied=progress.applied,
            replayed=progress.replayed,
            cpu_s=cpu_s,
            processed_times=progress.processed_times,
            profile_top=_stop_profiler(profiler, spec, handled),
        )
        _finish(spec, outcome)

    return watch


def _watch_group_member(spec: RunSpec, member: GroupMemberWatch) -> Callable[[], Any]:
    """Report progress until the bench, which sees the whole group, says stop.

    A member may handle nothing at all (the other one took every partition before it joined),
    so unlike ``_watch_pipeline`` it waits for no first record.
    """
    progress_path, stop_path = spec.group_progress_path, spec.group_stop_path
    if progress_path is None or stop_path is None:
        raise BenchError("a group member needs group_progress_path and group_stop_path")

    async def watch() -> None:
        deadline_s = time.monotonic() + spec.timeout_s
        written: GroupProgress | None = None
        written_s = 0.0
        while True:
            current = member.poll()
            if current != written and time.monotonic() - written_s >= _GROUP_WRITE_S:
                _write_atomically(progress_path, current.model_dump_json())
                written, written_s = current, time.monotonic()
            if stop_path.exists():
                break
            if time.monotonic() > deadline_s:
                raise TimeoutError(f"group member: not told to stop within {spec.timeout_s} s")
            await asyncio.sleep(_DONE_POLL_S)
        first = current.first_wall_s or time.time()
        last = current.last_handled_wall_s or first
        outcome = RunOutcome(
            mode="pipeline",
            events=current.handled,
            elapsed_s=last - first,
            first_wall_s=first,
            last_wall_s=last,
            alerts=current.alerts,
            dead_letters=current.dead_letters,
            applied=current.applied,
            replayed=current.replayed,
            cpu_s=current.cpu_s,
            group=current,
        )
        _finish(spec, outcome)

    return watch


async def _wait_first(spec: RunSpec, started: Callable[[], bool], assigned: Callable[[], bool]) -> None:
    """Wait for the first record; say "ready" once partitions are assigned (live producers wait for it)."""
    deadline_s = time.monotonic() + spec.timeout_s
    ready = False
    while not started():
        if not ready and assigned():
            spec.ready_path.write_text("ready")
            ready = True
        if time.monotonic() > deadline_s:
            raise TimeoutError(f"{spec.mode} worker: no record within {spec.timeout_s} s")
        await asyncio.sleep(_FIRST_POLL_S)
    if not ready:
        spec.ready_path.write_text("ready")


async def _wait_for_learner(learner: TrainingReader, timeout_s: float) -> None:
    """Every input record is handled, so every sweep that will run has run: wait until the
    learner has handled the training topic up to its end offsets as the broker gives them now
    (not the high-water mark of the learner's last fetch, which can be older)."""
    deadline_s = time.monotonic() + timeout_s
    ends = await learner.end_offsets()
    while ends is None:
        if time.monotonic() > deadline_s:
            raise TimeoutError(f"the learner was assigned no training partition within {timeout_s} s")
        await asyncio.sleep(_DONE_POLL_S)
        ends = await learner.end_offsets()
    while not learner.handled_through(ends):
        if time.monotonic() > deadline_s:
            raise TimeoutError(f"the learner had not read the training topic up to {ends} in {timeout_s} s")
        await asyncio.sleep(_DONE_POLL_S)


async def _wait_until(done: Callable[[], bool], timeout_s: float, handled: Callable[[], int]) -> None:
    deadline_s = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline_s:
            raise TimeoutError(f"only {handled()} records handled within {timeout_s} s")
        await asyncio.sleep(_DONE_POLL_S)


def _start_profiler(spec: RunSpec) -> subprocess.Popen[bytes] | None:
    """Attach py-spy to this process (sampling from outside: the worker runs at full speed)."""
    if spec.profile_path is None:
        return None
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if py_spy is None:
        raise BenchError("--profile needs py-spy (pip install py-spy)")
    raw_path = spec.profile_path.with_suffix(".collapsed")
    argv = [
        py_spy,
        "record",
        "--pid",
        str(os.getpid()),
        "--rate",
        str(PROFILE_RATE_HZ),
        "--format",
        "raw",
        "--nonblocking",
        "--output",
        str(raw_path),
    ]
    profiler = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(_PROFILER_ATTACH_S)
    return profiler


def _stop_profiler(
    profiler: subprocess.Popen[bytes] | None, spec: RunSpec, events: int
) -> list[dict[str, Any]]:
    """Stop py-spy (it writes on SIGINT), write the text report, return the top functions."""
    if profiler is None or spec.profile_path is None:
        return []
    profiler.send_signal(signal.SIGINT)
    _, stderr = profiler.communicate(timeout=60)
    raw_path = spec.profile_path.with_suffix(".collapsed")
    if not raw_path.exists():
        raise BenchError(f"py-spy wrote no profile: {stderr.decode(errors='replace')[-500:]}")
    stacks = parse_collapsed(raw_path.read_text())
    costs = function_costs(stacks, events, PROFILE_RATE_HZ)
    cpu_s = sum(count for _, count in stacks) / PROFILE_RATE_HZ
    spec.profile_path.write_text(render_report(costs, events, cpu_s))
    return [cost.as_dict() for cost in costs[:_PROFILE_TOP]]


def _write_atomically(path: Path, text: str) -> None:
    """Readers polling ``path`` see the old text or the new one, never half of it."""
    staging = path.with_suffix(".tmp")
    staging.write_text(text)
    staging.replace(path)


def _finish(spec: RunSpec, outcome: RunOutcome) -> None:
    _write_atomically(spec.result_path, outcome.model_dump_json())
    os.kill(os.getpid(), signal.SIGTERM)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
