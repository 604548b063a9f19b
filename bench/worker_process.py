"""Runs ``bench.worker_run`` as a child process and collects its ``RunOutcome``."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.errors import BenchError
from bench.spec import RunOutcome, RunSpec

_POLL_S = 0.05
_SHUTDOWN_GRACE_S = 20.0
# the child gives up first (and logs how far it got); this covers start-up and shutdown
_PARENT_MARGIN_S = 30.0
_LOG_TAIL_CHARS = 3000


async def run_worker_process(
    spec: RunSpec, run_dir: Path, while_running: Callable[[], Awaitable[object]] | None = None
) -> RunOutcome:
    """Start the worker, run ``while_running`` once it is ready (the live producer), await its outcome.

    Raises ``BenchError`` with the tail of the worker's log if it dies or stalls.
    """
    spec_path, log_path = _prepare(spec, run_dir)
    with log_path.open("wb") as log:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.worker_run", str(spec_path), stdout=log, stderr=log
        )
        try:
            if while_running is not None:
                await _wait_for(lambda: spec.ready_path.exists(), child, spec.timeout_s, log_path)
                await while_running()
            await _wait_for(lambda: spec.result_path.exists(), child, spec.timeout_s, log_path)
            outcome = RunOutcome.model_validate_json(spec.result_path.read_bytes())
        finally:
            await _stop(child)
    return outcome


def _prepare(spec: RunSpec, run_dir: Path) -> tuple[Path, Path]:
    """Write the spec where the child finds it; the profile folder too. Returns spec and log paths."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if spec.profile_path is not None:
        spec.profile_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path = run_dir / "spec.json"
    spec_path.write_text(spec.model_dump_json())
    return spec_path, run_dir / "worker.log"


async def _wait_for(
    condition: Callable[[], bool], child: asyncio.subprocess.Process, timeout_s: float, log_path: Path
) -> None:
    deadline_s = time.monotonic() + timeout_s
    while not condition():
        if child.returncode is not None:
            raise BenchError(f"worker exited with {child.returncode}:\n{_tail(log_path)}")
        if time.monotonic() > deadline_s + _PARENT_MARGIN_S:
            raise BenchError(f"worker did not finish within {timeout_s} s:\n{_tail(log_path)}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(child.wait(), _POLL_S)


async def _stop(child: asyncio.subprocess.Process) -> None:
    """The worker stops itself after its result; make sure, then kill it if shutdown hangs."""
    if child.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            child.terminate()
        try:
            await asyncio.wait_for(child.wait(), _SHUTDOWN_GRACE_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()


def _tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-_LOG_TAIL_CHARS:]
