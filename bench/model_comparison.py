"""Model choice by measurement: candidate models replayed prequentially on simulated histories.

Offline, without Kafka or Redis. Per seed, a simulated population is fed day by day in
event-time order (``bench.event_time_days``) through the in-memory reference feature
store. At the end of each day (its last microsecond ``t``) every customer who has not
churned is snapshotted, silent ones included (``features.aging`` decays their
features to ``t``), and every candidate scores the snapshot. ``bench.delayed_labels``
resolves it later: positive at the churn time if the customer ports out or deactivates in
``(t, t + H]``, negative at ``t + H`` otherwise.

Delayed learning as in production: at the start of day ``d``, before anything of day
``d`` is applied or scored, examples resolved before ``d`` began are consumed. Each
updates every candidate's metrics with the score it was given at snapshot time, then the
learning candidates learn it. ``learn_when`` chooses which resolved examples a day
consumes: ``"resolved"``, all of them, in resolution order (positives at the churn,
negatives ``H`` later); ``"horizon_end"``, only those whose horizon has ended, in snapshot
order, so both classes of one snapshot day are learned together (a positive waits up to
``H``). Every consumed example is logged with its resolution and consumption times, and
the run refuses (``BenchError``) to consume one that is not resolved yet.

At the ~4% positive rate, negatives are learned with probability ``negative_learn_share``
(``models.learner.learns_negative`` on the snapshot's id, ``models.labels.snapshot_id``: the
examples the production learner learns, the same for every candidate); positives always.
``weighted`` (the default, as the production learner does): a learned negative carries
weight ``1 / negative_learn_share``, and the production models (which take weights) score at
the population's odds; River's own ensembles ignore weights, so their scores, like every
learner's without ``weighted``, are mapped back to the population odds
(``p q / (p q + 1 - p)``, monotone, so ranking metrics are untouched) before log loss and
calibration are computed.

The batch yardsticks (``batch_logreg``: scikit-learn's standardised ``LogisticRegression``;
``batch_gbm``: ``HistGradientBoostingClassifier``) are fitted once on every example whose
snapshot lies in the earlier half of the snapshot days, on the same inputs
(``model_inputs``), and judged on the later half, where every candidate also has a
``later`` metric over the same examples (its prequential scores there).

Metrics are kept over three example sets: all, *warm* (snapshots scored once the learners
had learned ``min_labels_per_class`` labels of each class, the cold-start hand-over
condition; the rules are measured on the same examples) and the last ``window_examples``.
Snapshots are taken from day ``warmup_days`` (the simulated history starts empty, so the
90-day windows and trends need time to fill) to the last day whose horizon ends inside
the history, so every snapshot resolves and counts; learning stops after that day.
``snapshot_every_days = k > 1`` keeps one day in k per customer, staggered by customer as
the worker's daily sweep staggers them (``models.labels.kept_day``), to fit slow
candidates in the time budget. CPU is ``time.process_time`` summed over each
candidate's calls.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from rich.table import Table

from bench.batch_models import fit_and_judge
from bench.candidates import ALL_MODELS, BATCH_MODELS, Candidate, candidate_factory, check_model_spec
from bench.delayed_labels import DelayedLabels, ResolvedExample
from bench.errors import BenchError
from bench.event_time_days import FeedCounts, event_time_days
from features.aging import aged
from features.reference_store import InMemoryFeatureStore
from features.vector import FeatureVector
from models.config import ScoringConfig
from models.labels import kept_day, snapshot_id
from models.learner import learns_negative
from models.metrics_snapshot import MetricsSnapshot
from models.online import model_inputs
from models.prequential import PrequentialMetrics
from schemas.event_days import day_number
from schemas.events import CHURN_KINDS, LifecycleEvent
from sim.config import population_config
from sim.simulate import Simulation

_ONE_US = timedelta(microseconds=1)

Progress = Callable[[str], None]


class ComparisonConfig(BaseModel):
    """Sizes and settings of one comparison run (defaults: the documented run)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seeds: tuple[int, ...] = (1, 2, 3)
    customers: Annotated[int, Field(ge=1)] = 3_000
    days: Annotated[int, Field(ge=2)] = 150
    population: str = "default"  # sim.config.POPULATIONS: fit on one, judge on another
    start: AwareDatetime = datetime(2025, 11, 3, tzinfo=UTC)
    horizon_days: Annotated[int, Field(ge=1)] = 30
    warmup_days: Annotated[int, Field(ge=0)] = 30
    snapshot_every_days: Annotated[int, Field(ge=1)] = 1
    negative_learn_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    weighted: bool = True  # learned negatives weigh 1 / negative_learn_share, as in production
    window_examples: Annotated[int, Field(ge=1)] = 20_000
    lateness_days: Annotated[float, Field(ge=0.0)] = 3.0
    models: tuple[str, ...] = ALL_MODELS
    ensemble_size: Annotated[int, Field(ge=1)] = 5
    learn_when: Literal["resolved", "horizon_end"] = "horizon_end"

    @model_validator(mode="after")
    def _fits(self) -> ComparisonConfig:
        if not self.seeds:
            raise ValueError("seeds: need at least one")
        try:
            population_config(self.population)
        except KeyError as error:
            raise ValueError(str(error.args[0])) from None
        if self.last_snapshot_day < self.warmup_days:
            raise ValueError(
                f"days={self.days}: need more than warmup_days + horizon_days "
                f"({self.warmup_days} + {self.horizon_days}) for any snapshot to resolve"
            )
        if not self.models:
            raise ValueError(f"models: choose at least one of {list(ALL_MODELS)}")
        for spec in self.models:
            check_model_spec(spec, ScoringConfig())
        if len(set(self.models)) < len(self.models):
            raise ValueError(f"models={list(self.models)}: each at most once")
        return self

    @property
    def split_day(self) -> int:
        """The first day of the later half of the snapshot days (batch models: judged from it)."""
        return (self.warmup_days + self.last_snapshot_day + 1) // 2

    @property
    def last_snapshot_day(self) -> int:
        """The last day whose snapshots' horizon ends inside the simulated history."""
        return self.days - 1 - self.horizon_days


@dataclass(frozen=True, slots=True)
class ConsumedExample:
    """When a resolved example was used: metrics always, learning when ``learned``."""

    snapshot_id: str
    customer_id: str
    snapshot_at: datetime
    churned: bool
    resolved_at: datetime
    consumed_at: datetime
    learned: bool


@dataclass(frozen=True, slots=True)
class ModelResult:
    """One candidate on one seed: metrics over all examples, the warm ones, and the last window."""

    model: str
    seed: int
    cumulative: MetricsSnapshot
    warm: MetricsSnapshot
    window: MetricsSnapshot
    later: MetricsSnapshot  # snapshots of the later half (where the batch models are judged)
    scores: int
    score_cpu_s: float
    learns: int
    learn_cpu_s: float
    checkpoint_bytes: int
    memory_bytes: int | None

    @property
    def us_per_score(self) -> float:
        return 1e6 * self.score_cpu_s / self.scores if self.scores else math.nan

    @property
    def us_per_learn(self) -> float | None:
        return 1e6 * self.learn_cpu_s / self.learns if self.learns else None

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "seed": self.seed,
            "cumulative": self.cumulative.to_dict(),
            "warm": self.warm.to_dict(),
            "window": self.window.to_dict(),
            "later": self.later.to_dict(),
            "scores": self.scores,
            "us_per_score": self.us_per_score,
            "learns": self.learns,
            "us_per_learn": self.us_per_learn,
            "checkpoint_bytes": self.checkpoint_bytes,
            "memory_bytes": self.memory_bytes,
        }


@dataclass(frozen=True, slots=True)
class SeedRun:
    """One seed: what was fed, snapshotted and learned, and every candidate's result."""

    seed: int
    feed: FeedCounts
    snapshots: int
    positives: int
    learned: int
    elapsed_s: float
    models: tuple[ModelResult, ...]
    consumed: tuple[ConsumedExample, ...] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "events": self.feed.events,
            "too_late": self.feed.too_late,
            "rejected": self.feed.rejected,
            "snapshots": self.snapshots,
            "positives": self.positives,
            "learned": self.learned,
            "elapsed_s": self.elapsed_s,
            "models": [model.to_json() for model in self.models],
        }


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """A candidate's mean over seeds (``None`` where a seed had no value)."""

    model: str
    warm_roc_auc: float | None
    warm_pr_auc: float | None
    warm_lift_top_decile: float | None
    warm_log_loss: float | None
    roc_auc: float | None
    window_roc_auc: float | None
    later_roc_auc: float | None
    later_lift_top_decile: float | None
    us_per_score: float
    us_per_learn: float | None
    checkpoint_bytes: float
    memory_bytes: float | None


@dataclass(frozen=True, slots=True)
class ComparisonResult:
    """Every seed's run and the per-model means."""

    config: ComparisonConfig
    scoring: ScoringConfig
    runs: tuple[SeedRun, ...]

    def summaries(self) -> list[ModelSummary]:
        return [self._summary(name) for name in self.config.models]

    def _summary(self, name: str) -> ModelSummary:
        results = [model for run in self.runs for model in run.models if model.model == name]
        return ModelSummary(
            model=name,
            warm_roc_auc=_mean(r.warm.roc_auc for r in results),
            warm_pr_auc=_mean(r.warm.pr_auc for r in results),
            warm_lift_top_decile=_mean(r.warm.lift_top_decile for r in results),
            warm_log_loss=_mean(r.warm.log_loss for r in results),
            roc_auc=_mean(r.cumulative.roc_auc for r in results),
            window_roc_auc=_mean(r.window.roc_auc for r in results),
            later_roc_auc=_mean(r.later.roc_auc for r in results),
            later_lift_top_decile=_mean(r.later.lift_top_decile for r in results),
            us_per_score=statistics.fmean(r.us_per_score for r in results),
            us_per_learn=_mean(r.us_per_learn for r in results),
            checkpoint_bytes=statistics.fmean(r.checkpoint_bytes for r in results),
            memory_bytes=_mean(r.memory_bytes for r in results),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "config": self.config.model_dump(mode="json"),
            "scoring": self.scoring.model_dump(mode="json"),
            "runs": [run.to_json() for run in self.runs],
            "mean": [
                {name: getattr(summary, name) for name in ModelSummary.__dataclass_fields__}
                for summary in self.summaries()
            ],
        }

    def table(self) -> Table:
        """Per seed, then the means: warm-period quality first, then all examples and the last window."""
        table = Table(title="Prequential comparison: warm examples (see docs/learning.md); means last")
        for heading in (
            "model",
            "seed",
            "ROC AUC",
            "PR AUC",
            "lift@10%",
            "log loss",
            "AUC all",
            "AUC last N",
            "AUC later half",
            "lift later half",
            "µs/score",
            "µs/learn",
            "checkpoint KiB",
            "memory KiB",
        ):
            table.add_column(heading, justify="left" if heading == "model" else "right")
        for run in self.runs:
            for r in run.models:
                table.add_row(
                    r.model,
                    str(run.seed),
                    _fmt(r.warm.roc_auc, 3),
                    _fmt(r.warm.pr_auc, 3),
                    _fmt(r.warm.lift_top_decile, 2),
                    _fmt(r.warm.log_loss, 3),
                    _fmt(r.cumulative.roc_auc, 3),
                    _fmt(r.window.roc_auc, 3),
                    _fmt(r.later.roc_auc, 3),
                    _fmt(r.later.lift_top_decile, 2),
                    _fmt(r.us_per_score, 0),
                    _fmt(r.us_per_learn, 0),
                    _fmt(r.checkpoint_bytes / 1024, 0),
                    _fmt(None if r.memory_bytes is None else r.memory_bytes / 1024, 0),
                )
        for m in self.summaries():
            table.add_row(
                f"[bold]{m.model}[/bold]",
                "mean",
                _fmt(m.warm_roc_auc, 3),
                _fmt(m.warm_pr_auc, 3),
                _fmt(m.warm_lift_top_decile, 2),
                _fmt(m.warm_log_loss, 3),
                _fmt(m.roc_auc, 3),
                _fmt(m.window_roc_auc, 3),
                _fmt(m.later_roc_auc, 3),
                _fmt(m.later_lift_top_decile, 2),
                _fmt(m.us_per_score, 0),
                _fmt(m.us_per_learn, 0),
                _fmt(m.checkpoint_bytes / 1024, 0),
                _fmt(None if m.memory_bytes is None else m.memory_bytes / 1024, 0),
            )
        return table


def _mean(values: Iterable[float | int | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return statistics.fmean(present) if present else None


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def population_odds(score: float, negative_share: float) -> float:
    """A score learned on negatives kept with probability ``negative_share``, at population odds.

    >>> population_odds(0.5, 0.1), population_odds(0.3, 1.0)
    (0.09090909090909091, 0.3)
    """
    if negative_share == 1.0:
        return score
    kept = score * negative_share
    return kept / (kept + 1.0 - score)


class _ExampleTable:
    """Resolved examples as rows of float32 inputs (columns by first appearance), for batch fits."""

    def __init__(self) -> None:
        self.columns: dict[str, int] = {}
        self.rows: list[array[float]] = []
        self.labels: list[bool] = []
        self.later: list[bool] = []

    def add(self, inputs: dict[str, float], churned: bool, later: bool) -> None:
        columns = self.columns
        for name in inputs:
            columns.setdefault(name, len(columns))
        row = [0.0] * len(columns)
        for name, value in inputs.items():
            row[columns[name]] = value
        self.rows.append(array("f", row))
        self.labels.append(churned)
        self.later.append(later)

    def earlier_count(self) -> int:
        return len(self.later) - sum(self.later)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    features: FeatureVector
    scores: tuple[float, ...]
    warm: bool  # scored once the learners had learned enough labels of each class


@dataclass(slots=True)
class _Tally:
    name: str
    candidate: Candidate
    cumulative: PrequentialMetrics
    warm: PrequentialMetrics
    window: PrequentialMetrics
    later: PrequentialMetrics
    scores: int = 0
    score_cpu_s: float = 0.0
    learns: int = 0
    learn_cpu_s: float = 0.0


class _SeedReplay:
    """The state of one seed's replay; ``run`` drives it day by day."""

    def __init__(self, config: ComparisonConfig, seed: int, scoring: ScoringConfig) -> None:
        self.config = config
        self.seed = seed
        self.batch_models = [name for name in config.models if name in BATCH_MODELS]
        self.tallies = [
            _Tally(
                name,
                candidate_factory(name, scoring, config.ensemble_size)(seed),
                PrequentialMetrics(),
                PrequentialMetrics(),
                PrequentialMetrics(window=config.window_examples),
                PrequentialMetrics(),
            )
            for name in config.models
            if name not in BATCH_MODELS
        ]
        # every example's inputs, label and half, for the batch models (only when they run)
        self.examples = _ExampleTable()
        self.labels = DelayedLabels[_Snapshot](timedelta(days=config.horizon_days))
        self.store = InMemoryFeatureStore()
        self.latest: dict[str, FeatureVector] = {}
        self.consumed: list[ConsumedExample] = []
        self.snapshots = 0
        self.min_labels_per_class = scoring.online.min_labels_per_class
        self.learned_per_class = {False: 0, True: 0}
        self.held: list[ResolvedExample[_Snapshot]] = []

    async def run(self, progress: Progress) -> SeedRun:
        config = self.config
        began = time.perf_counter()
        simulation = Simulation(
            config.customers, config.days, self.seed, config.start, population_config(config.population)
        )
        feed = FeedCounts()
        history_end = simulation.start + timedelta(days=config.days)
        for day in event_time_days(simulation, timedelta(days=config.lateness_days), feed):
            self._consume(self._ready(day.start), day.start, learn=day.day <= config.last_snapshot_day)
            result = await self.store.apply(day.events)
            self.latest.update(result.vectors)
            for positioned in day.events:
                event = positioned.event
                if isinstance(event, LifecycleEvent) and event.kind in CHURN_KINDS:
                    self.labels.churn(event.customer_id, event.event_time)
            self.labels.advance(day.end)
            if config.warmup_days <= day.day <= config.last_snapshot_day:
                self._snapshot(day.end - _ONE_US)
            if (day.day + 1) % 30 == 0:
                progress(
                    f"seed {self.seed}: day {day.day + 1}/{config.days}, {feed.events:,} events, "
                    f"{self.snapshots:,} snapshots, {time.perf_counter() - began:.0f} s"
                )
        self._consume(self._ready(history_end, flush=True), history_end, learn=False)
        if self.labels.pending:
            raise BenchError(f"seed {self.seed}: {self.labels.pending} snapshots never resolved")
        results = {tally.name: self._result(tally) for tally in self.tallies}
        for name in self.batch_models:
            progress(f"seed {self.seed}: fitting {name} on {self.examples.earlier_count():,} examples")
            results[name] = self._batch_result(name)
        return SeedRun(
            seed=self.seed,
            feed=feed,
            snapshots=self.snapshots,
            positives=sum(example.churned for example in self.consumed),
            learned=sum(example.learned for example in self.consumed),
            elapsed_s=time.perf_counter() - began,
            models=tuple(results[name] for name in config.models),
            consumed=tuple(self.consumed),
        )

    def _ready(self, at: datetime, flush: bool = False) -> list[ResolvedExample[_Snapshot]]:
        """Examples to consume at ``at``: as resolved, or held until their horizon has ended."""
        resolved = self.labels.resolved()
        if self.config.learn_when == "resolved" or flush:
            ready, self.held = self.held + resolved, []
            return ready
        horizon = timedelta(days=self.config.horizon_days)
        pool = self.held + resolved
        ready = [example for example in pool if example.snapshot_at + horizon < at]
        self.held = [example for example in pool if not example.snapshot_at + horizon < at]
        ready.sort(key=lambda example: (example.snapshot_at, example.snapshot_id))
        return ready

    def _snapshot(self, at: datetime) -> None:
        """Score every customer who has not churned, as of ``at``; keep the snapshots for their labels."""
        every = self.config.snapshot_every_days
        epoch_day = day_number(at.date())
        batch = [
            (snapshot_id(customer_id, epoch_day), aged(vector, at))
            for customer_id, vector in self.latest.items()
            if not vector.churned and kept_day(customer_id, epoch_day, 0, every)
        ]
        columns = []
        for tally in self.tallies:
            score = tally.candidate.score
            began = time.process_time()
            columns.append([score(features) for _, features in batch])
            tally.score_cpu_s += time.process_time() - began
            tally.scores += len(batch)
        warm = min(self.learned_per_class.values()) >= self.min_labels_per_class
        for index, (kept_id, features) in enumerate(batch):
            scores = tuple(column[index] for column in columns)
            self.labels.keep(kept_id, features.customer_id, at, _Snapshot(features, scores, warm))
        self.snapshots += len(batch)

    def _consume(self, examples: list[ResolvedExample[_Snapshot]], at: datetime, learn: bool) -> None:
        """Metrics first (snapshot-time scores), then learning; only examples resolved before ``at``."""
        share = self.config.negative_learn_share
        negative_weight = 1.0 / share if self.config.weighted else 1.0
        start = self.config.start
        to_learn = []
        for example in examples:
            if not example.resolved_at < at:
                raise BenchError(
                    f"snapshot {example.snapshot_id}: label resolved at {example.resolved_at.isoformat()} "
                    f"taken at {at.isoformat()}"
                )
            learned = learn and (example.churned or learns_negative(example.snapshot_id, share))
            later = (example.snapshot_at - start).days >= self.config.split_day
            for tally, score in zip(self.tallies, example.payload.scores, strict=True):
                candidate = tally.candidate
                at_population_odds = not candidate.learns or (self.config.weighted and candidate.weighs)
                reported = score if at_population_odds else population_odds(score, share)
                tally.cumulative.update(reported, example.churned)
                tally.window.update(reported, example.churned)
                if example.payload.warm:
                    tally.warm.update(reported, example.churned)
                if later:
                    tally.later.update(reported, example.churned)
            if self.batch_models:
                self.examples.add(model_inputs(example.payload.features), example.churned, later)
            self.consumed.append(
                ConsumedExample(
                    example.snapshot_id,
                    example.customer_id,
                    example.snapshot_at,
                    example.churned,
                    example.resolved_at,
                    at,
                    learned,
                )
            )
            if learned:
                weight = 1.0 if example.churned else negative_weight
                to_learn.append((example.payload.features, example.churned, weight))
                self.learned_per_class[example.churned] += 1
        for tally in self.tallies:
            if not (tally.candidate.learns and to_learn):
                continue
            learn_one = tally.candidate.learn
            weighs = self.config.weighted and tally.candidate.weighs
            began = time.process_time()
            for features, churned, weight in to_learn:
                learn_one(features, churned, weight if weighs else 1.0)
            tally.learn_cpu_s += time.process_time() - began
            tally.learns += len(to_learn)

    def _result(self, tally: _Tally) -> ModelResult:
        return ModelResult(
            model=tally.name,
            seed=self.seed,
            cumulative=tally.cumulative.snapshot(),
            warm=tally.warm.snapshot(),
            window=tally.window.snapshot(),
            later=tally.later.snapshot(),
            scores=tally.scores,
            score_cpu_s=tally.score_cpu_s,
            learns=tally.learns,
            learn_cpu_s=tally.learn_cpu_s,
            checkpoint_bytes=len(tally.candidate.checkpoint()),
            memory_bytes=tally.candidate.memory_bytes(),
        )

    def _batch_result(self, name: str) -> ModelResult:
        """A batch model fitted on the earlier half's examples and judged on the later half's."""
        judged = fit_and_judge(name, self.examples, self.seed)
        empty = PrequentialMetrics().snapshot()
        return ModelResult(
            model=name,
            seed=self.seed,
            cumulative=empty,
            warm=empty,
            window=empty,
            later=judged.later,
            scores=judged.scores,
            score_cpu_s=judged.score_cpu_s,
            learns=judged.fitted,
            learn_cpu_s=judged.fit_cpu_s,
            checkpoint_bytes=judged.checkpoint_bytes,
            memory_bytes=None,
        )


def run_seed(
    config: ComparisonConfig,
    seed: int,
    scoring: ScoringConfig | None = None,
    progress: Progress | None = None,
) -> SeedRun:
    """Replay one seed's population and compare the candidates on it."""
    replay = _SeedReplay(config, seed, scoring or ScoringConfig())
    return asyncio.run(replay.run(progress or (lambda line: None)))


def run_comparison(
    config: ComparisonConfig, scoring: ScoringConfig | None = None, progress: Progress | None = None
) -> ComparisonResult:
    """Every seed in turn (one process: CPU times are not disturbed by a sibling)."""
    say = progress or (lambda line: None)
    scoring = scoring or ScoringConfig()
    runs = []
    for seed in config.seeds:
        run = run_seed(config, seed, scoring, say)
        say(f"seed {seed}: {run.elapsed_s:.0f} s, {run.snapshots:,} snapshots, {run.positives:,} churned")
        runs.append(run)
    return ComparisonResult(config, scoring, tuple(runs))
