"""``churnwatch demo`` end to end: its own stack, a worker, live traffic, a summary, nothing left running."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

# 300 customers of seed 7 over about 60 simulated days: about 55k events plus a sweep per
# simulated day, which a worker gets through within the run on two cores (the pacer slows
# simulated time to the worker's speed). With the default policy this small population raises
# a single alert, on a score of 0.42, so whether it shows depends on how ticks fall; a yellow
# bar of 0.3 gives the demo several alerts to show. By share of the base the groups of 300
# customers would send one alert every few days, so the operating point is off.
DEMO_POLICY = {
    "CHURNWATCH_POLICY__YELLOW_MIN_SCORE": "0.3",
    "CHURNWATCH_POLICY__CAPACITY__BASE_SHARE_30D": "off",
}
DEMO_ARGS = [
    "--seconds", "30",
    "--customers", "300",
    "--seed", "7",
    "--seconds-per-day", "0.1",
    "--drain-seconds", "10",
]  # fmt: skip


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``, from /proc parent links."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent and child not in found]
        found.update(children)
        frontier.extend(children)
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_demo_shows_alerts_and_dead_letters_and_leaves_nothing_running(tmp_path: Path) -> None:
    """A short demo exits 0, prints alerts with reasons and every bad-record kind, and stops its children."""
    demo = subprocess.Popen(
        [sys.executable, "-c", "import typer; from cli.demo import demo; typer.run(demo)", *DEMO_ARGS,
         "--work-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, **DEMO_POLICY},
    )  # fmt: skip
    children: set[int] = set()
    try:
        while True:
            children |= descendants(demo.pid)
            try:
                output, _ = demo.communicate(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                continue
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    text = output.decode()

    assert demo.returncode == 0, text[-3000:]
    assert len(children) >= 3, f"expected broker, Redis and worker below the demo, saw {children}"
    assert [pid for pid in children if alive(pid)] == []
    alert_lines = [line for line in text.splitlines() if line.startswith("ALERT ")]
    assert alert_lines, text[-3000:]
    assert all('reason="' in line and "action=[" in line for line in alert_lines)
    assert "example alert" in text
    for reason in ("not_json", "invalid_schema", "unknown_type"):
        assert reason in text.split("Churnwatch demo summary")[1], reason
    assert (tmp_path / "worker.log").exists()
