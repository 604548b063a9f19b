"""The numbers of one benchmark run: the JSON document of ``--json`` and the printed table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.table import Table

from bench.stats import percentile, ratio

TARGETS = {
    "pipeline_over_faust": 1.0,  # the whole pipeline, one-minute ticks, against the stock Faust no-op
    "pipeline_over_raw": 0.1,  # the goal beyond it: against the raw consumer
}
LATENCY_P99_TARGET_MS = 60_000.0  # event to alert, at wall-clock pace and half the pipeline's rate
HISTORY_REPLAY_TARGET_S = 480.0  # 20,000 customers x 120 days replayed and handled end to end
HISTORY_REPLAY_SIZE = (20_000, 120)
LEARNING_BUDGET = 0.25  # snapshots, label resolution and learning: at most this much more per event
REDIS_BUDGET_BYTES = 1024
FLOOR_LABELS = {
    "validate": "no-op + validation",
    "features": "no-op + validation + Redis features",
}


@dataclass(frozen=True)
class Throughput:
    """One consumer's pass over the pre-produced topics, timed from its first record to its last."""

    events: int
    elapsed_s: float
    events_per_s: float


@dataclass(frozen=True)
class Latency:
    """Percentiles (milliseconds) of one latency measure over ``count`` samples."""

    count: int
    p50_ms: float
    p99_ms: float
    p95_ms: float = math.nan
    max_ms: float = math.nan

    @classmethod
    def of(cls, samples_ms: Sequence[float]) -> Latency:
        """The percentiles of ``samples_ms``; NaN when there are none.

        >>> Latency.of([10.0, 20.0, 30.0, 40.0, 50.0])
        Latency(count=5, p50_ms=30.0, p99_ms=49.6, p95_ms=48.0, max_ms=50.0)
        >>> Latency.of([]).count
        0
        """
        if not samples_ms:
            return cls(0, math.nan, math.nan)
        return cls(
            len(samples_ms),
            percentile(samples_ms, 0.5),
            percentile(samples_ms, 0.99),
            percentile(samples_ms, 0.95),
            max(samples_ms),
        )


@dataclass(frozen=True)
class LiveTopic:
    """One input topic in the live phase: its load, its quietest partition, its latencies.

    ``event_to_alert`` covers the alerts this topic's events triggered (the alert's customer
    and event time name the event).
    """

    events: int
    offered_eps: float
    achieved_eps: float
    partitions_sending: int  # of the topic's partitions, those that received any live event
    longest_silence_s: float  # the longest stretch any of its partitions received nothing
    event_to_processed: Latency
    event_to_alert: Latency


@dataclass(frozen=True)
class LivePhase:
    """The live phase at wall-clock pace: per topic, plus alerts whose trigger was not found."""

    seconds: float
    partitions: int
    topics: dict[str, LiveTopic]
    alerts_unmatched: int
    partition_mismatches: int  # records the broker put elsewhere than the plan computed


@dataclass(frozen=True)
class GroupMember:
    """One worker of the pair: what it handled and which input partitions it ended up with."""

    handled: int
    applied: int
    dead_letters: int
    replayed: int
    alerts: int
    partitions: list[int]  # partition numbers it held (the input topics are co-partitioned)
    topic_partitions: int
    rebalance_pause_s: float  # without partitions between two assignments (not the first join)
    assignments: int  # distinct non-empty assignments it held (1: a rebalance never moved its partitions)
    cpu_s: float  # its CPU seconds from its first record to its last handled one


@dataclass(frozen=True)
class TwoWorkers:
    """The pair's run: combined throughput from the first record either took in to the last
    either handled, and the checks that each record was handled exactly once between them."""

    events: int
    elapsed_s: float
    events_per_s: float
    over_single: float  # combined events/s over the single pipeline worker's of the same run
    members: list[GroupMember]
    # from the first member holding partitions until both held their final ones (0: no rebalance)
    group_formed_s: float
    # from the first record either took in until both held their final partitions (negative:
    # the group had settled before any record was read, so no rebalance is inside the window)
    settled_after_s: float
    single_cpu_s: float  # the single worker's CPU seconds over its own window, for comparison
    handled_once: bool  # handled counts sum to the produced count, nothing skipped as replayed
    applied_as_single: bool  # applied and dead-lettered as often as by the single worker
    features_sampled: int
    features_differing: int  # sampled customers whose feature vector differs from the single run's

    @property
    def exactly_once(self) -> bool:
        return self.handled_once and self.applied_as_single and self.features_differing == 0

    def cpu_cores(self) -> float:
        """CPU the pair's workers used together, in cores (CPU seconds per second of the window)."""
        return ratio(sum(member.cpu_s for member in self.members), self.elapsed_s)


@dataclass(frozen=True)
class BenchResult:
    """Everything one ``churnwatch bench`` run measured."""

    events: int
    customers: int
    partitions: int
    raw: Throughput
    faust_noop: Throughput
    pipeline: Throughput
    event_to_alert: Latency
    event_to_processed: Latency
    offered_load_eps: float
    achieved_load_eps: float
    redis_bytes_per_customer: float
    redis_customers_sampled: int
    pipeline_alerts: int
    # no-op plus part of the work ("validate", "features"; see bench.floors), when measured
    floors: dict[str, Throughput] = field(default_factory=dict)
    two_workers: TwoWorkers | None = None  # when measured
    live: LivePhase | None = None  # the latency phase per topic, when measured
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pipeline_over_faust(self) -> float:
        return ratio(self.pipeline.events_per_s, self.faust_noop.events_per_s)

    @property
    def pipeline_over_raw(self) -> float:
        return ratio(self.pipeline.events_per_s, self.raw.events_per_s)

    @property
    def faust_over_raw(self) -> float:
        return ratio(self.faust_noop.events_per_s, self.raw.events_per_s)

    def floor_over_faust(self, mode: str) -> float:
        """A floor's throughput over the no-op's (NaN when not measured)."""
        floor = self.floors.get(mode)
        return math.nan if floor is None else ratio(floor.events_per_s, self.faust_noop.events_per_s)

    @property
    def headline_latency(self) -> tuple[str, Latency]:
        """Event-to-alert when alerts were measured, otherwise event-to-processed (named as such)."""
        if self.event_to_alert.count > 0:
            return "event_to_alert", self.event_to_alert
        return "event_to_processed", self.event_to_processed

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document: the issue's keys first, then details under other names.

        NaN (nothing measured) becomes ``null``.

        >>> t = Throughput(100, 1.0, 100.0)
        >>> r = BenchResult(100, 10, 4, Throughput(100, 0.1, 1000.0), t, Throughput(100, 2.0, 50.0),
        ...                 Latency(0, math.nan, math.nan), Latency(9, 4.0, 9.0), 25.0, 24.9, 300.0, 10, 0)
        >>> doc = r.to_json()
        >>> doc["pipeline_over_faust"], doc["pipeline_over_raw"], doc["latency_p99_ms"], doc["latency_kind"]
        (0.5, 0.05, 9.0, 'event_to_processed')
        """
        kind, headline = self.headline_latency
        document: dict[str, Any] = {
            "raw_aiokafka_eps": self.raw.events_per_s,
            "faust_noop_eps": self.faust_noop.events_per_s,
            "pipeline_eps": self.pipeline.events_per_s,
            "pipeline_over_faust": self.pipeline_over_faust,
            "pipeline_over_raw": self.pipeline_over_raw,
            "faust_over_raw": self.faust_over_raw,
            "latency_p50_ms": headline.p50_ms,
            "latency_p99_ms": headline.p99_ms,
            "redis_bytes_per_customer": self.redis_bytes_per_customer,
            "latency_kind": kind,
            "event_to_alert": asdict(self.event_to_alert),
            "event_to_processed": asdict(self.event_to_processed),
            "offered_load_eps": self.offered_load_eps,
            "achieved_load_eps": self.achieved_load_eps,
            "events": self.events,
            "customers": self.customers,
            "partitions": self.partitions,
            "runs": {
                "raw_aiokafka": asdict(self.raw),
                "faust_noop": asdict(self.faust_noop),
                "pipeline": asdict(self.pipeline),
            },
            "floors": {
                mode: {**asdict(run), "over_faust": self.floor_over_faust(mode)}
                for mode, run in self.floors.items()
            },
            "pipeline_alerts": self.pipeline_alerts,
            "redis_customers_sampled": self.redis_customers_sampled,
            "two_workers": None
            if self.two_workers is None
            else {
                **asdict(self.two_workers),
                "exactly_once": self.two_workers.exactly_once,
                "cpu_cores": self.two_workers.cpu_cores(),
            },
            "live": None if self.live is None else asdict(self.live),
            **self.extra,
        }
        cleaned: dict[str, Any] = _nan_to_none(document)
        return cleaned

    def table(self) -> Table:
        """A rich table of the throughputs, ratios (with the issue's targets), latency and memory."""
        table = Table(title=f"churnwatch bench: {self.events:,} events, {self.customers:,} customers, "
                      f"{self.partitions} partitions")
        table.add_column("measure")
        table.add_column("value", justify="right")
        table.add_column("target", justify="right")
        for name, run in (("raw aiokafka + orjson", self.raw), ("Faust no-op agents", self.faust_noop),
                          ("pipeline", self.pipeline)):
            table.add_row(f"{name} (events/s)", f"{run.events_per_s:,.0f}",
                          f"{run.events:,} in {run.elapsed_s:.2f} s")
        table.add_row("pipeline / faust", _fmt(self.pipeline_over_faust),
                      _target(self.pipeline_over_faust, TARGETS["pipeline_over_faust"]))
        table.add_row("pipeline / raw", _fmt(self.pipeline_over_raw),
                      _target(self.pipeline_over_raw, TARGETS["pipeline_over_raw"]))
        table.add_row("faust / raw", _fmt(self.faust_over_raw), "")
        for mode, label in FLOOR_LABELS.items():
            if mode in self.floors:
                run = self.floors[mode]
                table.add_row(f"floor: {label} (events/s)", f"{run.events_per_s:,.0f}",
                              f"{_fmt(self.floor_over_faust(mode))} of faust")
        pair = self.two_workers
        if pair is not None:  # both workers share the machine's cores: see docs/benchmark.md
            table.add_row("two workers, one group (events/s)", f"{pair.events_per_s:,.0f}",
                          f"{pair.events:,} in {pair.elapsed_s:.2f} s, both on the same 2 cores")
            split = " / ".join(f"{member.handled:,} on p{','.join(map(str, member.partitions))}"
                               for member in pair.members)
            table.add_row("two workers / one worker", _fmt(pair.over_single), split)
            settled = (f"settled {_fmt(pair.settled_after_s, 2)} s after the first record"
                       if pair.settled_after_s > 0 else "settled before the first record")
            table.add_row("two workers: group formed in (s)", _fmt(pair.group_formed_s, 2), settled)
            single_cores = ratio(pair.single_cpu_s, self.pipeline.elapsed_s)
            table.add_row("worker CPU, one / two workers (cores)",
                          f"{_fmt(single_cores, 2)} / {_fmt(pair.cpu_cores(), 2)}",
                          "of 2, shared with broker and Redis")
            checks = (f"{pair.features_sampled - pair.features_differing:,} of {pair.features_sampled:,} "
                      "sampled feature vectors equal one worker's")
            table.add_row("two workers: each record once", "yes" if pair.exactly_once else "NO", checks)
        load = f"at {self.achieved_load_eps:,.0f} events/s offered"
        alerted = self.event_to_alert
        met = "ok" if alerted.p99_ms <= LATENCY_P99_TARGET_MS else "MISSED"
        table.add_row("event-to-alert p50 / p99 (ms)",
                      f"{_fmt(alerted.p50_ms, 1)} / {_fmt(alerted.p99_ms, 1)}",
                      f"{alerted.count:,} samples {load}; p99 ≤ {LATENCY_P99_TARGET_MS:,.0f} {met}")
        processed = self.event_to_processed
        table.add_row("event-to-processed p50 / p99 (ms)",
                      f"{_fmt(processed.p50_ms, 1)} / {_fmt(processed.p99_ms, 1)}",
                      f"{processed.count:,} samples {load}")
        table.add_row("event-to-alert p95 / max (ms)",
                      f"{_fmt(alerted.p95_ms, 1)} / {_fmt(alerted.max_ms, 1)}", "")
        if self.live is not None:
            self._live_rows(table, self.live)
        budget_ok = self.redis_bytes_per_customer <= REDIS_BUDGET_BYTES
        table.add_row("Redis bytes per customer", f"{self.redis_bytes_per_customer:,.0f}",
                      f"≤ {REDIS_BUDGET_BYTES} {'ok' if budget_ok else 'MISSED'}")
        learning = self.extra.get("learning")
        if learning:
            overhead = float(learning["overhead_per_event"])
            parts = ", ".join(f"{name} {share:.1%}" for name, share in learning["shares"].items())
            table.add_row("learning path, CPU per event", f"+{overhead:.1%}",
                          f"≤ +25% {'ok' if overhead <= LEARNING_BUDGET else 'MISSED'} ({parts})")
        history = self.extra.get("history_replay")
        if history:
            size = (int(history["customers"]), int(history["days"]))
            handled_s = float(history["handled_s"])
            target = ""
            if size == HISTORY_REPLAY_SIZE:
                met = "ok" if handled_s <= HISTORY_REPLAY_TARGET_S else "MISSED"
                target = f"≤ {HISTORY_REPLAY_TARGET_S / 60:.0f} min {met}"
            table.add_row(f"history replay {size[0]:,} x {size[1]} days, handled in",
                          f"{handled_s / 60:.1f} min", f"{target} ({int(history['events']):,} events)")
        return table


    @staticmethod
    def _live_rows(table: Table, live: LivePhase) -> None:
        """Per topic of the live phase: rate, quietest partition, and both latencies."""
        for event_type, topic in live.topics.items():
            table.add_row(
                f"live {event_type}: offered / achieved (events/s)",
                f"{topic.offered_eps:,.1f} / {topic.achieved_eps:,.1f}",
                f"{topic.events:,} on {topic.partitions_sending} of {live.partitions} partitions; "
                f"longest partition silence {topic.longest_silence_s:,.0f} s of {live.seconds:,.0f}",
            )
            processed, alerted = topic.event_to_processed, topic.event_to_alert
            table.add_row(
                f"live {event_type}: to processed p50 / p99 (s)",
                f"{_fmt(processed.p50_ms / 1000, 1)} / {_fmt(processed.p99_ms / 1000, 1)}",
                f"to alert p50 / p95 / p99 / max {_seconds(alerted)} s ({alerted.count:,} alerts)",
            )
        if live.alerts_unmatched:
            table.add_row("live alerts with no known trigger", f"{live.alerts_unmatched:,}", "")


def _seconds(latency: Latency) -> str:
    return " / ".join(
        _fmt(ms / 1000, 1) for ms in (latency.p50_ms, latency.p95_ms, latency.p99_ms, latency.max_ms)
    )


def _fmt(value: float, digits: int = 3) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def _target(value: float, goal: float) -> str:
    if math.isnan(value):
        return f"≥ {goal}"
    return f"≥ {goal} {'ok' if value >= goal else 'MISSED'}"


def _nan_to_none(value: Any) -> Any:
    """JSON has no NaN: replace it by null, recursively.

    >>> _nan_to_none({"a": [1.0, math.nan]})
    {'a': [1.0, None]}
    """
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _nan_to_none(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(item) for item in value]
    return value
