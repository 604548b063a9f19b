"""What the learner's day costs in prequential metrics: ``python -m bench.metrics_cost``.

Builds a ``DailyLearner`` whose seven metrics (cumulative and windows, 1e-4) have counted
``--examples`` synthetic scored labels, then times (a) ``pickle.dumps`` of the learner,
the checkpoint's cost, (b) the seven ``snapshot()`` calls of a day and (c) ``update`` per
call, once with ``models.prequential.PrequentialMetrics`` and once with the earlier sorted-dict
implementation kept as the reference in ``tests/unit/test_models_prequential.py``, in the
same process. Best of ``--rounds``. Not part of ``make bench``: it measures one class.
"""

from __future__ import annotations

import argparse
import importlib
import math
import pickle
import random
import time
from collections.abc import Callable
from typing import Any

from models.config import ScoringConfig
from models.learner import DailyLearner
from models.prequential import PrequentialMetrics

LabelledScores = list[tuple[float, float, bool]]  # model score, rules score, churned
MetricsFactory = Callable[[int | None, float], Any]  # (window, resolution) -> metrics


def scored_labels(examples: int, seed: int) -> LabelledScores:
    """3% positives; a model score of some signal and a rules score on a coarser scale."""
    rng = random.Random(seed)
    rows: LabelledScores = []
    for _ in range(examples):
        churned = rng.random() < 0.03
        model = 1 / (1 + math.exp(-rng.gauss(-3.5 + (1.2 if churned else 0.0), 1.0)))
        rules = round(min(1.0, max(0.0, rng.gauss(0.35 + (0.1 if churned else 0.0), 0.15))), 3)
        rows.append((model, rules, churned))
    return rows


def filled_learner(factory: MetricsFactory, rows: LabelledScores) -> DailyLearner:
    """A learner whose metrics (made by ``factory``) have counted every row."""
    config = ScoringConfig()
    learner = DailyLearner(config)
    window, resolution = config.learning.handover_window_examples, config.learning.metrics_resolution
    learner.metrics = {
        "model": factory(None, resolution),
        "rules": factory(None, resolution),
        "used": factory(None, resolution),
        "model_recent": factory(window, resolution),
        "rules_recent": factory(window, resolution),
    }
    challenger = learner.challenger
    assert challenger is not None, "the default configuration has a challenger"
    challenger.window = factory(window, resolution)
    challenger.champion_window = factory(window, resolution)
    scorer_of = {
        "model": 0,
        "rules": 1,
        "used": 1,
        "model_recent": 0,
        "rules_recent": 1,
    }
    for name, metrics in learner.metrics.items():
        scorer = scorer_of[name]
        for row in rows:
            metrics.update(row[scorer], row[2])
    for row in rows:
        challenger.window.update(row[0] * 0.9, row[2])
        challenger.champion_window.update(row[0], row[2])
    return learner


def all_metrics(learner: DailyLearner) -> list[Any]:
    challenger = learner.challenger
    assert challenger is not None
    return [*learner.metrics.values(), challenger.window, challenger.champion_window]


def seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def update_seconds(factory: MetricsFactory, rows: LabelledScores, window: int | None) -> float:
    metrics = factory(window, 1e-4)
    started = time.perf_counter()
    for model, _, churned in rows:
        metrics.update(model, churned)
    return (time.perf_counter() - started) / len(rows)


def measure(implementations: dict[str, MetricsFactory], rows: LabelledScores, rounds: int) -> None:
    """Each measure of each implementation in turn, ``rounds`` times: the best of each counts
    (the machine is shared, so alternating keeps a busy spell from favouring one)."""
    learners = {name: filled_learner(factory, rows) for name, factory in implementations.items()}
    best: dict[tuple[str, str], float] = {}

    def keep(name: str, measure: str, value: float) -> None:
        best[name, measure] = min(best.get((name, measure), math.inf), value)

    for _ in range(rounds):
        for name, factory in implementations.items():
            learner = learners[name]
            metrics = all_metrics(learner)
            keep(name, "pickle", seconds(lambda: pickle.dumps(learner)))  # noqa: B023
            keep(name, "snapshots", seconds(lambda: [m.snapshot() for m in metrics]))  # noqa: B023
            keep(name, "cumulative", update_seconds(factory, rows[:50_000], None))
            keep(name, "windowed", update_seconds(factory, rows[:50_000], 10_000))
    for name, learner in learners.items():
        size = len(pickle.dumps(learner)) / 1e6
        bins = sum(m.distinct_scores for m in all_metrics(learner))
        ms = {measure: best[name, measure] * 1e3 for measure in ("pickle", "snapshots")}
        us = {measure: best[name, measure] * 1e6 for measure in ("cumulative", "windowed")}
        print(
            f"{name:>9}: pickle.dumps(learner) {ms['pickle']:6.2f} ms ({size:.2f} MB), "
            f"7 snapshots {ms['snapshots']:5.2f} ms ({bins} bins), "
            f"update {us['cumulative']:.2f} µs cumulative, {us['windowed']:.2f} µs windowed"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rows = scored_labels(args.examples, seed=1)
    implementations: dict[str, MetricsFactory] = {"current": PrequentialMetrics}
    try:  # the earlier implementation lives with the tests: a checkout has it, an install not
        tests = importlib.import_module("tests.unit.test_models_prequential")
        implementations = {"reference": tests.ReferencePrequentialMetrics, **implementations}
    except ImportError:
        print("the reference implementation is not importable here: measuring the current one only")
    print(f"{args.examples} examples a metric, windows of 10,000, resolution 1e-4, best of {args.rounds}")
    measure(implementations, rows, args.rounds)


if __name__ == "__main__":
    main()
