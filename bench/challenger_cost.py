"""CPU per learned example, with and without the challenger: ``python -m bench.challenger_cost``.

Feeds the same synthetic examples (every stored input set, 3% positive) through
``DailyLearner.finalize`` a day at a time and reports ``time.process_time`` per example,
the checkpoint included, as the learner pays it. Not part of ``make bench``: it measures
one function, not the pipeline.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from datetime import UTC, date, datetime, timedelta

from models.config import ChallengerConfig, ScoringConfig
from models.labels import INPUT_NAMES
from models.learner import DailyLearner
from schemas.event_days import day_number
from schemas.outputs import ResolvedDay, ScoreSource, TrainingExample

DAY0 = date(2026, 3, 1)


def synthetic_days(examples: int, per_day: int, seed: int) -> list[list[TrainingExample]]:
    """Examples with every stored input set, a weak signal in the first, 3% churned."""
    rng = random.Random(seed)
    days: list[list[TrainingExample]] = []
    for index in range(examples):
        if index % per_day == 0:
            days.append([])
        day = DAY0 + timedelta(days=len(days) - 1)
        churned = rng.random() < 0.03
        features = {name: abs(rng.gauss(10.0, 5.0)) for name in INPUT_NAMES}
        features[INPUT_NAMES[0]] += 8.0 if churned else 0.0
        score = 1 / (1 + math.exp(-rng.gauss(-3.0, 1.0)))
        days[-1].append(
            TrainingExample(
                example_id=f"{day.isoformat()}-{index:06d}",
                customer_id=f"c{index}",
                partition=0,
                snapshot_time=datetime(2026, 1, 1, tzinfo=UTC),
                resolved_on=day,
                churned=churned,
                churn_time=None,
                features=features,
                score=score,
                score_source=ScoreSource.COLD_START_RULES,
                model_version="rules-1",
                model_score=score,
                rules_score=score,
            )
        )
    return days


def seconds_per_example(config: ScoringConfig, days: list[list[TrainingExample]]) -> float:
    learner = DailyLearner(config)
    learner.mark(ResolvedDay(partition=0, resolved_on=DAY0 - timedelta(days=1), examples=0))
    learner.finalize_ready()
    spent = 0.0
    for batch in days:
        for example in batch:
            learner.offer(example)
        started = time.process_time()
        learner.finalize(day_number(batch[0].resolved_on))
        spent += time.process_time() - started
    return spent / sum(len(batch) for batch in days)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20_000)
    parser.add_argument("--per-day", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each; the best counts")
    args = parser.parse_args()
    days = synthetic_days(args.examples, args.per_day, seed=1)
    without = ScoringConfig(challenger=ChallengerConfig(enabled=False))
    with_challenger = ScoringConfig()
    best = {"without": math.inf, "with": math.inf}
    for _ in range(args.rounds):
        best["without"] = min(best["without"], seconds_per_example(without, days))
        best["with"] = min(best["with"], seconds_per_example(with_challenger, days))
    added = best["with"] - best["without"]
    print(
        f"{args.examples} examples, {args.per_day} a day: without the challenger "
        f"{best['without'] * 1e6:.1f} µs, with it {best['with'] * 1e6:.1f} µs per example "
        f"(+{added * 1e6:.1f} µs, +{added / best['without']:.0%})"
    )


if __name__ == "__main__":
    main()
