"""CPU per published output record, Faust's per-record send against the direct producer path:
``python -m bench.publish_cost``.

Starts an embedded broker (or uses ``--bootstrap``), then publishes the same daily
snapshots and training examples in batches through (a) ``topic.send`` once per record
with ``model_dump_json`` (the publisher as it was) and (b) ``OutputPublisher.publish``,
alternating rounds so both see the same broker state, and reports ``time.process_time``
per record (the producer's sender task included: it runs in this process) and wall time.
It also times building a snapshot record, with the f-string rounding it had and with
``pipeline.processor.prediction``. Not part of ``make bench``: it measures one stage.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from features.vector import FeatureVector
from models.labels import snapshot_id
from models.scorer import Score
from pipeline.processor import FEATURE_DIGITS, prediction
from schemas.event_days import day_end
from schemas.outputs import Prediction, ResolvedDay, ScoreSource, TrainingExample
from stack.tansu import start_tansu
from stack.topics import ensure_topics
from streams.app import create_app
from streams.metrics import PipelineMetrics
from streams.publisher import OutputPublisher
from streams.settings import Settings, TopicSettings
from streams.topics import ChurnTopics, declare_topics

DAY = 20454
Publish = Callable[[Sequence[Prediction], Sequence[TrainingExample | ResolvedDay]], Awaitable[None]]


def synthetic_vectors(count: int, seed: int) -> list[FeatureVector]:
    """Vectors with a snapshot's mix: a quarter of the features zero, a quarter whole counts,
    the rest decayed sums with full float precision."""
    rng = random.Random(seed)
    empty = FeatureVector.empty("c", day_end(DAY))
    numeric = [f.name for f in dataclasses.fields(FeatureVector) if f.type in ("float", "float | None")]
    vectors = []
    for index in range(count):
        values: dict[str, Any] = {}  # replace() takes each field by its own type
        for name in numeric:
            draw = rng.random()
            values[name] = (
                0.0 if draw < 0.25 else float(rng.randint(1, 40)) if draw < 0.5 else rng.expovariate(0.05)
            )
        vectors.append(dataclasses.replace(empty, customer_id=f"C{index:07d}", **values))
    return vectors


def fstring_prediction(vector: FeatureVector, score: Score, day: int, silent_days: int) -> Prediction:
    """``prediction`` as it was: each feature formatted with a spec built per value."""
    return Prediction(
        snapshot_id=snapshot_id(vector.customer_id, day),
        customer_id=vector.customer_id,
        event_time=vector.as_of,
        features={
            name: float(f"{value:.{FEATURE_DIGITS}g}") for name, value in vector.numeric().items() if value
        },
        score=score.value,
        model_version=score.model_version,
        score_source=score.source,
        silent_days=silent_days,
    )


def build_cost_us(
    vectors: Sequence[FeatureVector], build: Callable[..., Prediction], rounds: int = 5
) -> float:
    """Least CPU microseconds per record over ``rounds`` passes."""
    score = Score(0.123456789, (), ScoreSource.COLD_START_RULES, "rules-1")
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for vector in vectors:
            build(vector, score, DAY, 0)
        best = min(best, time.process_time() - started)
    return best / len(vectors) * 1e6


def training_examples(predictions: Sequence[Prediction], count: int) -> list[TrainingExample]:
    resolved_on = date(2026, 1, 1) + timedelta(days=30)
    return [
        TrainingExample(
            example_id=p.snapshot_id,
            customer_id=p.customer_id,
            partition=0,
            snapshot_time=p.event_time,
            resolved_on=resolved_on,
            churned=index % 30 == 0,
            churn_time=None,
            features=p.features,
            score=p.score,
            score_source=p.score_source,
            model_version=p.model_version,
            model_score=p.score,
            rules_score=p.score,
        )
        for index, p in enumerate(predictions[:count])
    ]


def faust_send_publisher(topics: ChurnTopics) -> Publish:
    """The publisher's send path as it was: ``topic.send`` per record, then one gather."""

    async def publish(
        predictions: Sequence[Prediction], training: Sequence[TrainingExample | ResolvedDay]
    ) -> None:
        outputs = [
            (topics.predictions, p.customer_id.encode(), p.model_dump_json().encode()) for p in predictions
        ]
        outputs.extend(
            (topics.training, r.example_id.encode(), r.model_dump_json().encode())
            for r in training
            if isinstance(r, TrainingExample)
        )
        deliveries = [await topic.send(key=key, value=value) for topic, key, value in outputs]
        await asyncio.gather(*deliveries)

    return publish


def direct_publisher(topics: ChurnTopics) -> Publish:
    publisher = OutputPublisher(topics, PipelineMetrics())

    async def publish(
        predictions: Sequence[Prediction], training: Sequence[TrainingExample | ResolvedDay]
    ) -> None:
        await publisher.publish((), (), predictions, training)

    return publish


async def publish_cost(
    bootstrap: str, predictions: list[Prediction], training: list[TrainingExample], batch: int, rounds: int
) -> dict[str, tuple[float, float]]:
    """Least (CPU us, wall us) per record of each path over ``rounds`` alternating rounds."""
    suffix = uuid.uuid4().hex[:8]
    names = TopicSettings(predictions=f"bench.predictions.{suffix}", training=f"bench.training.{suffix}")
    await ensure_topics(bootstrap, [names.predictions], names.partitions)
    await ensure_topics(bootstrap, [names.training], 1)
    app = create_app(Settings(topics=names), bootstrap)
    topics = declare_topics(app, names)
    await app.maybe_start_producer()
    paths = {"faust topic.send": faust_send_publisher(topics), "direct producer": direct_publisher(topics)}
    per_batch_training = max(1, len(training) * batch // max(1, len(predictions)))
    best: dict[str, tuple[float, float]] = {}
    try:
        for publish in paths.values():  # warm-up: metadata, connections
            await publish(predictions[:batch], training[:per_batch_training])
        for _ in range(rounds):
            for name, publish in paths.items():
                cpu, wall = time.process_time(), time.perf_counter()
                for start in range(0, len(predictions), batch):
                    chunk = start // batch * per_batch_training
                    await publish(
                        predictions[start : start + batch], training[chunk : chunk + per_batch_training]
                    )
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                records = len(predictions) + len(training)
                previous = best.get(name, (float("inf"), float("inf")))
                best[name] = (min(previous[0], cpu / records * 1e6), min(previous[1], wall / records * 1e6))
    finally:
        await app.producer.stop()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", help="an existing broker (default: start an embedded one)")
    parser.add_argument("--predictions", type=int, default=20_000)
    parser.add_argument("--training", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    vectors = synthetic_vectors(args.predictions, seed=7)
    print(f"build a snapshot record, CPU us/record ({len(vectors)} records, least of 5):")
    print(f"  f-string rounding (as it was)  {build_cost_us(vectors, fstring_prediction):7.2f}")
    print(f"  pipeline.processor.prediction   {build_cost_us(vectors, prediction):7.2f}")
    score = Score(0.123456789, (), ScoreSource.COLD_START_RULES, "rules-1")
    predictions = [prediction(vector, score, DAY, 0) for vector in vectors]
    training = training_examples(predictions, args.training)
    server = None
    bootstrap = args.bootstrap
    if bootstrap is None:
        server = start_tansu(Path(tempfile.mkdtemp(prefix="publish-cost-")))
        bootstrap = f"{server.host}:{server.port}"
    try:
        best = asyncio.run(publish_cost(bootstrap, predictions, training, args.batch, args.rounds))
    finally:
        if server is not None:
            server.stop()
    print(
        f"publish {len(predictions)} snapshots + {len(training)} training examples in batches of "
        f"{args.batch}, per output record (least of {args.rounds} rounds, {datetime.now(UTC):%Y-%m-%d}):"
    )
    for name, (cpu_us, wall_us) in best.items():
        print(f"  {name:18s} CPU {cpu_us:6.2f} us  wall {wall_us:6.2f} us")


if __name__ == "__main__":
    main()
