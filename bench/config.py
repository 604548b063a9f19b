"""What one benchmark run does: data set size, live load and the alert-heavy latency policy."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class BenchConfig(BaseModel):
    """Benchmark parameters; the defaults meet the issue's floor (200k events, 50k customers).

    The latency phase runs a *separate* worker on fresh topics whose customers have no
    history, so it uses an alert-heavy policy (no minimum history, low zone thresholds):
    with the production policy nobody could alert before 30 days of event time, and the
    percentiles need many alerts. Throughput runs keep the production policy.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    events: Annotated[int, Field(ge=1)] = 200_000
    customers: Annotated[int, Field(ge=1)] = 50_000
    partitions: Annotated[int, Field(ge=1)] = 4
    seed: int = 7
    sim_start: datetime = datetime(2026, 1, 5, tzinfo=UTC)
    # the live phase offers this fraction of the measured pipeline rate
    load_fraction: Annotated[float, Field(gt=0, le=1)] = 0.5
    # wall-clock length of the live phase: long enough for sparse topics' partitions to be
    # idle for minutes (bench.live_plan), as in production
    live_seconds: Annotated[float, Field(gt=0)] = 240.0
    latency_min_history_days: Annotated[float, Field(ge=0)] = 0.0
    latency_green_min_score: Annotated[float, Field(ge=0, le=1)] = 0.01
    latency_yellow_min_score: Annotated[float, Field(ge=0, le=1)] = 0.05
    redis_sample_customers: Annotated[int, Field(ge=1)] = 2_000
    worker_timeout_s: Annotated[float, Field(gt=0)] = 120.0
    floors: bool = True  # also run the no-op plus validation, and plus Redis features
    # two pipeline workers in one consumer group on a copy of the throughput data set
    two_workers: bool = True
    # learning phase (0 customers: skipped): a history long enough for labels to resolve, the
    # pipeline worker profiled, and the share of its CPU in the sweep, the learner and versions
    learning_customers: Annotated[int, Field(ge=0)] = 0
    learning_days: Annotated[int, Field(ge=65)] = 160
    # end-to-end replay (0 customers: skipped): a simulated history written to files, replayed
    # at full speed while one pipeline worker (learning on) reads, until it handled every record
    replay_customers: Annotated[int, Field(ge=0)] = 0
    replay_days: Annotated[int, Field(ge=1)] = 120
    replay_timeout_s: Annotated[float, Field(gt=0)] = 7_200.0
    profile_dir: Path | None = None  # set: profile the Faust runs with pyinstrument into this folder
    work_dir: Path = Path("churnwatch-data/bench")
