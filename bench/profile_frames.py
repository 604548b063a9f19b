"""Where a profiled worker's time went, from py-spy's collapsed stacks, in microseconds per event.

py-spy ``--format raw`` writes one line per distinct stack: frames from the outermost to
the innermost, separated by ``;``, then a space and the number of samples. Idle samples
are left out by py-spy, so the totals are CPU time of the worker's threads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

Stack = tuple[tuple[str, ...], int]


@dataclass(frozen=True)
class FunctionCost:
    """One function's share of a profile; ``self`` excludes its callees, ``inclusive`` includes them."""

    function: str
    self_us_per_event: float
    inclusive_us_per_event: float
    self_share: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_collapsed(text: str) -> list[Stack]:
    """Stacks and their sample counts; the leading thread name frame is kept as the root.

    >>> parse_collapsed("main (m.py:1);loads (j.py:9) 3\\nmain (m.py:1) 1\\n")
    [(('main (m.py:1)', 'loads (j.py:9)'), 3), (('main (m.py:1)',), 1)]
    """
    stacks: list[Stack] = []
    for line in text.splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks.append((tuple(frames.split(";")), int(count)))
    return stacks


def function_costs(stacks: list[Stack], events: int, rate_hz: float) -> list[FunctionCost]:
    """Every function's self and inclusive time per event, by self time (recursion counted once).

    >>> stacks = [(("main", "loads"), 2), (("main",), 1), (("main", "apply", "main"), 1)]
    >>> [(c.function, c.self_us_per_event, c.inclusive_us_per_event)
    ...  for c in function_costs(stacks, events=1_000_000, rate_hz=1.0)]
    [('main', 2.0, 4.0), ('loads', 2.0, 2.0), ('apply', 0.0, 1.0)]
    """
    per_sample_us = 1e6 / rate_hz / events if events else 0.0
    total = sum(count for _, count in stacks) or 1
    self_samples: dict[str, int] = {}
    inclusive_samples: dict[str, int] = {}
    for frames, count in stacks:
        self_samples[frames[-1]] = self_samples.get(frames[-1], 0) + count
        for function in set(frames):
            inclusive_samples[function] = inclusive_samples.get(function, 0) + count
    ranked = sorted(inclusive_samples, key=lambda f: (-self_samples.get(f, 0), -inclusive_samples[f]))
    return [
        FunctionCost(
            function=function,
            self_us_per_event=self_samples.get(function, 0) * per_sample_us,
            inclusive_us_per_event=inclusive_samples[function] * per_sample_us,
            self_share=self_samples.get(function, 0) / total,
        )
        for function in ranked
    ]


def render_report(costs: list[FunctionCost], events: int, cpu_s: float, limit: int = 40) -> str:
    """A plain-text summary: the top functions by self time and by inclusive time.

    >>> print(render_report([FunctionCost("loads (j.py:9)", 2.0, 2.0, 1.0)], 10, 0.5).splitlines()[0])
    10 events, 0.50 s CPU sampled = 50000.0 µs per event
    """
    per_event_us = cpu_s * 1e6 / events if events else 0.0
    lines = [
        f"{events} events, {cpu_s:.2f} s CPU sampled = {per_event_us:.1f} µs per event",
        "",
        "By self time (µs/event, share of CPU samples):",
    ]
    lines += [f"{c.self_us_per_event:9.2f}  {c.self_share:6.1%}  {c.function}" for c in costs[:limit]]
    lines += ["", "By inclusive time (µs/event):"]
    by_inclusive = sorted(costs, key=lambda c: c.inclusive_us_per_event, reverse=True)[:limit]
    lines += [f"{c.inclusive_us_per_event:9.2f}  {c.function}" for c in by_inclusive]
    return "\n".join(lines) + "\n"


LEARNING_CONCERNS: dict[str, tuple[str, ...]] = {
    "sweep": ("_sweep_day (", "_start_group ("),  # snapshots, pending labels, label resolution
    "learner": ("pipeline/learning.py", "streams/training_reader.py", "models/learner.py"),
    "versions": ("pipeline/model_versions.py",),  # loading the checkpoint a day scores with
}
"""Frames that mark the learning path's work in a pipeline worker's profile."""


def concern_shares(stacks: list[Stack], concerns: dict[str, tuple[str, ...]]) -> dict[str, float]:
    """Each concern's share of all samples: a stack counts for the first concern any of its frames
    names (a frame containing one of its markers).

    >>> stacks = [(("main", "_sweep_day (c.py:1)"), 1), (("main", "x (pipeline/learning.py:3)"), 1),
    ...           (("main", "apply"), 2)]
    >>> concern_shares(stacks, LEARNING_CONCERNS)
    {'sweep': 0.25, 'learner': 0.25, 'versions': 0.0}
    """
    total = sum(count for _, count in stacks)
    counts = dict.fromkeys(concerns, 0)
    for frames, count in stacks:
        for name, markers in concerns.items():
            if any(marker in frame for frame in frames for marker in markers):
                counts[name] += count
                break
    return {name: (count / total if total else 0.0) for name, count in counts.items()}
