"""One ``churnwatch bench`` run: produce, measure three consumers and a pair of workers, latency,
Redis bytes, profiles."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.alerts_reader import read_alerts
from bench.config import BenchConfig
from bench.dataset import EVENTS_PER_CUSTOMER_DAY, ProducedSet, produce_dataset
from bench.errors import BenchError
from bench.live import (
    LiveSends,
    alert_latencies_by_trigger,
    customers_by_partition,
    live_templates,
    longest_silences_s,
    processed_latencies_by_type,
    produce_live,
)
from bench.live_plan import CALL, SPARSE_TYPES, LiveMix, live_plan
from bench.profile_frames import LEARNING_CONCERNS, concern_shares, parse_collapsed
from bench.raw_consumer import measure_raw
from bench.redis_memory import bytes_per_customer
from bench.result import BenchResult, Latency, LivePhase, LiveTopic, Throughput, TwoWorkers
from bench.spec import RunOutcome, RunSpec, WorkerMode, settings_document
from bench.stats import events_per_s
from bench.two_workers import differing_features, stop_when_done, summarise
from bench.worker_process import run_worker_process
from features.config import FeatureConfig
from policy.capacity_budget import CapacityConfig
from sim.config import SimConfig
from sim.kafka_producer import open_producer
from sim.replay import replay
from sim.simulate import EVENTS_FILE, Simulation
from sim.sink import EventTopics, ProducerSink
from stack.process import free_port
from stack.topics import ensure_topics
from streams.settings import Settings, TopicSettings, WorkerSettings

Progress = Callable[[str], None]
_TEMPLATES_PER_TYPE = 200  # payloads of each type the live events are made from


def topics_of(topics: TopicSettings) -> list[str]:
    """The input and output topics a pipeline worker of this set uses (training has one partition)."""
    return [
        topics.calls,
        topics.topups,
        topics.complaints,
        topics.lifecycle,
        topics.alerts,
        topics.dead_letters,
        topics.predictions,
    ]


def event_topics(topics: TopicSettings) -> EventTopics:
    """The set's input topics, as the simulator's replay names them."""
    return EventTopics(
        calls=topics.calls, topups=topics.topups, complaints=topics.complaints, lifecycle=topics.lifecycle
    )


def topic_set(run_id: str, name: str, partitions: int) -> TopicSettings:
    """Fresh topic names for one data set of one run.

    >>> topic_set("ab12", "tp", 4).calls
    'bench-ab12-tp.calls'
    """
    base = f"bench-{run_id}-{name}"
    return TopicSettings(
        calls=f"{base}.calls",
        topups=f"{base}.topups",
        complaints=f"{base}.complaints",
        lifecycle=f"{base}.lifecycle",
        alerts=f"{base}.alerts",
        predictions=f"{base}.predictions",
        training=f"{base}.training",
        dead_letters=f"{base}.dlq",
        partitions=partitions,
    )


class BenchRun:
    """Holds what the phases share: settings, addresses, run id and work directory."""

    def __init__(
        self, config: BenchConfig, settings: Settings, bootstrap: str, redis_url: str, progress: Progress
    ) -> None:
        self.config = config
        self.settings = settings
        self.bootstrap = bootstrap
        self.redis_url = redis_url
        self.progress = progress
        self.run_id = uuid.uuid4().hex[:8]
        self.run_dir = config.work_dir.resolve() / self.run_id
        self.profile_dir = (config.profile_dir or self.run_dir / "profiles").resolve()

    async def execute(self) -> BenchResult:
        config = self.config
        topics = topic_set(self.run_id, "tp", config.partitions)
        self.progress(f"producing {config.events:,} events over {config.customers:,} customers")
        produced = await produce_dataset(
            self.bootstrap, topics, config.events, config.customers, config.seed, config.sim_start
        )
        await ensure_topics(
            self.bootstrap, [topics.alerts, topics.dead_letters, topics.predictions], topics.partitions
        )
        self.progress(f"produced {produced.events:,} in {produced.elapsed_s:.1f} s {dict(produced.per_type)}")

        raw = await measure_raw(
            self.bootstrap, produced.end_offsets, self.settings.kafka, config.worker_timeout_s
        )
        passes = raw.events // produced.events if produced.events else 0
        self.progress(
            f"raw aiokafka: {raw.events_per_s:,.0f} events/s ({passes} passes in {raw.elapsed_s:.1f} s)"
        )
        noop = _throughput(await self._worker("noop", "noop", topics, produced.events))
        self.progress(f"faust no-op: {noop.events_per_s:,.0f} events/s")
        prefix = f"bench{self.run_id}p"
        pipeline_outcome = await self._worker("pipeline", "pipeline", topics, produced.events, prefix=prefix)
        pipeline = _throughput(pipeline_outcome)
        self.progress(
            f"pipeline: {pipeline.events_per_s:,.0f} events/s "
            f"({pipeline_outcome.alerts} alerts, {pipeline_outcome.dead_letters} dead letters)"
        )
        floors: dict[str, Throughput] = {}
        if config.floors:
            for mode in ("validate", "features"):
                floor_prefix = f"bench{self.run_id}{mode[0]}"
                floors[mode] = _throughput(
                    await self._worker(mode, mode, topics, produced.events, prefix=floor_prefix)
                )
                self.progress(f"floor {mode}: {floors[mode].events_per_s:,.0f} events/s")
        redis_bytes, sampled = await bytes_per_customer(
            self.redis_url, prefix, produced.customer_ids, config.redis_sample_customers
        )
        self.progress(f"redis: {redis_bytes:,.0f} bytes per customer ({sampled} sampled)")
        two_workers = await self._two_workers(pipeline_outcome, prefix) if config.two_workers else None

        latency = await self._latency(pipeline.events_per_s * config.load_fraction)
        extra: dict[str, Any] = {
            "produce_eps": events_per_s(produced.events, produced.elapsed_s),
            "per_type": dict(produced.per_type),
            "pipeline_dead_letters": pipeline_outcome.dead_letters,
            "latency_policy": {
                "min_history_days": config.latency_min_history_days,
                "green_min_score": config.latency_green_min_score,
                "yellow_min_score": config.latency_yellow_min_score,
            },
            "run_id": self.run_id,
        }
        if config.profile_dir is not None:
            extra["profiles"] = await self._profiles(topics, produced, self.profile_dir)
        if config.learning_customers > 0:
            extra["learning"] = await self._learning_share()
        if config.replay_customers > 0:
            extra["history_replay"] = await self._history_replay()
        return BenchResult(
            events=produced.events,
            customers=len(produced.customer_ids),
            partitions=config.partitions,
            raw=raw,
            faust_noop=noop,
            pipeline=pipeline,
            event_to_alert=latency["event_to_alert"],
            event_to_processed=latency["event_to_processed"],
            offered_load_eps=latency["offered_eps"],
            achieved_load_eps=latency["achieved_eps"],
            redis_bytes_per_customer=redis_bytes,
            redis_customers_sampled=sampled,
            pipeline_alerts=pipeline_outcome.alerts,
            floors=floors,
            two_workers=two_workers,
            live=latency["live"],
            extra={**extra, "live_alerts": latency["alerts"]},
        )

    async def _two_workers(self, single: RunOutcome, single_prefix: str) -> TwoWorkers:
        """Two pipeline workers in one consumer group on a fresh copy of the throughput data set.

        Both start together; whichever joins second makes the group rebalance, and that pause is
        inside the measured window (first record either took in to the last either handled).
        """
        config = self.config
        topics = topic_set(self.run_id, "pair", config.partitions)
        produced = await produce_dataset(
            self.bootstrap, topics, config.events, config.customers, config.seed, config.sim_start
        )
        await ensure_topics(
            self.bootstrap, [topics.alerts, topics.dead_letters, topics.predictions], topics.partitions
        )
        self.progress(f"two workers: {produced.events:,} events produced again; starting both")
        prefix = f"bench{self.run_id}2"
        stop_path = self.run_dir / "pair" / "stop"
        members = [
            self._spec(
                "pipeline",
                f"pair/worker-{number}",
                topics,
                produced.events,
                prefix=prefix,
                app_id=f"bench-{self.run_id}-pair",
                group_progress_path=self.run_dir / "pair" / f"worker-{number}" / "progress.json",
                group_stop_path=stop_path,
            )
            for number in (1, 2)
        ]
        progress_paths = [spec.group_progress_path for spec, _ in members if spec.group_progress_path]
        async with asyncio.TaskGroup() as group:
            runs = [group.create_task(run_worker_process(spec, run_dir)) for spec, run_dir in members]
            group.create_task(
                stop_when_done(
                    progress_paths, stop_path, produced.end_offsets, produced.events, config.worker_timeout_s
                )
            )
        features = await differing_features(
            self.redis_url, prefix, single_prefix, produced.customer_ids, config.redis_sample_customers
        )
        pair = summarise([run.result() for run in runs], produced.events, single, features)
        split = " / ".join(f"{member.handled:,} on partitions {member.partitions}" for member in pair.members)
        self.progress(
            f"two workers: {pair.events_per_s:,.0f} events/s ({pair.over_single:.2f} x one worker); "
            f"{split}; settled after {pair.settled_after_s:.2f} s; "
            f"exactly once: {'yes' if pair.exactly_once else 'NO'}"
        )
        return pair

    async def _latency(self, rate_eps: float) -> dict[str, Any]:
        """A fresh worker on fresh topics; a planned mix sent live at ``rate_eps`` overall while it runs."""
        config = self.config
        if not rate_eps > 0:
            raise BenchError(f"rate_eps={rate_eps}: the pipeline run measured no throughput")
        topics = topic_set(self.run_id, "live", config.partitions)
        await ensure_topics(self.bootstrap, topics_of(topics), topics.partitions)
        templates = live_templates(_TEMPLATES_PER_TYPE, config.customers, config.seed + 1, config.sim_start)
        plan = live_plan(
            rate_eps,
            config.live_seconds,
            customers_by_partition(templates.customer_ids, topics.partitions),
            LiveMix(),
            config.seed,
        )
        planned = Counter(event.event_type for event in plan)
        self.progress(
            f"latency: {len(plan):,} live events over {config.live_seconds:,.0f} s "
            f"at {rate_eps:,.0f} events/s {dict(planned)}"
        )
        sent: dict[str, LiveSends] = {}

        async def send() -> None:
            sent["sends"] = await produce_live(self.bootstrap, topics, plan, templates.by_type)

        policy = self.settings.policy.model_copy(
            update={
                "min_history_days": config.latency_min_history_days,
                "green_min_score": config.latency_green_min_score,
                "yellow_min_score": config.latency_yellow_min_score,
                # how soon alerts leave, not how many: the default operating point would hold
                # back all but a handful (and every alert of a group's first day)
                "capacity": CapacityConfig(base_share_30d=None),
            }
        )
        outcome = await self._worker(
            "pipeline",
            "live",
            topics,
            len(plan),
            prefix=f"bench{self.run_id}l",
            record_processed_times=True,
            while_running=send,
            policy=policy,
            # the worker may hold the whole phase back (a quiet partition) and handle it after
            timeout_s=config.worker_timeout_s + 2.0 * config.live_seconds,
        )
        sends = sent["sends"]
        processed = processed_latencies_by_type(sends, outcome.processed_times)
        alert_records = await read_alerts(self.bootstrap, topics.alerts, outcome.alerts, timeout_s=30.0)
        alerts = alert_latencies_by_trigger(alert_records, sends)
        silences = longest_silences_s(sends, topics.partitions)
        sending = {(topic, partition) for topic, partition, _ in sends.send_times}
        window_s = sends.ended_s - sends.began_s
        live = LivePhase(
            seconds=config.live_seconds,
            partitions=topics.partitions,
            topics={
                event_type: LiveTopic(
                    events=sends.sent_per_type[event_type],
                    offered_eps=planned[event_type] / config.live_seconds,
                    achieved_eps=events_per_s(sends.sent_per_type[event_type], window_s),
                    partitions_sending=sum(
                        1 for topic, _ in sending if sends.topic_types[topic] == event_type
                    ),
                    longest_silence_s=silences.get(event_type, window_s),
                    event_to_processed=Latency.of(processed.get(event_type, [])),
                    event_to_alert=Latency.of(alerts.get(event_type, [])),
                )
                for event_type in (CALL, *SPARSE_TYPES)
            },
            alerts_unmatched=len(alerts.get("unmatched", [])),
            partition_mismatches=sends.partition_mismatches,
        )
        every_alert = [latency for latencies in alerts.values() for latency in latencies]
        every_processed = [latency for latencies in processed.values() for latency in latencies]
        self.progress(
            f"latency: {len(every_alert)} alerts, {len(every_processed)} records timed; longest partition "
            "silence " + ", ".join(f"{name} {seconds:,.0f} s" for name, seconds in silences.items())
        )
        return {
            "event_to_alert": Latency.of(every_alert),
            "event_to_processed": Latency.of(every_processed),
            "offered_eps": len(plan) / config.live_seconds,
            "achieved_eps": events_per_s(len(plan), window_s),
            "alerts": outcome.alerts,
            "live": live,
        }

    async def _learning_share(self) -> dict[str, Any]:
        """What snapshots, label resolution and learning cost per event: a history long enough for
        examples to resolve (30 days of history plus 33 of label delay), the pipeline worker
        profiled with py-spy, and the share of its samples in each of the learning path's parts.

        A share ``s`` of the worker's CPU costs ``s / (1 - s)`` more per event than the same
        pipeline without it. The learner trails the input, so the profile runs on until it has
        handled every training record written by the time the last input was handled.
        """
        config = self.config
        topics = topic_set(self.run_id, "ln", config.partitions)
        events = round(EVENTS_PER_CUSTOMER_DAY * config.learning_customers * config.learning_days)
        self.progress(
            f"learning phase: {config.learning_customers:,} customers x ~{config.learning_days} days"
        )
        produced = await produce_dataset(
            self.bootstrap, topics, events, config.learning_customers, config.seed, config.sim_start
        )
        await ensure_topics(
            self.bootstrap, [topics.alerts, topics.dead_letters, topics.predictions], topics.partitions
        )
        path = self.profile_dir / "learning.txt"
        outcome = await self._worker(
            "pipeline",
            "learning",
            topics,
            produced.events,
            prefix=f"bench{self.run_id}l",
            profile_path=path,
            wait_for_learner=True,
        )
        stacks = parse_collapsed(path.with_suffix(".collapsed").read_text())
        shares = concern_shares(stacks, LEARNING_CONCERNS)
        share = sum(shares.values())
        overhead = share / (1.0 - share) if share < 1.0 else float("inf")
        self.progress(
            "learning path: "
            + ", ".join(f"{name} {value:.1%}" for name, value in shares.items())
            + f" of the worker's CPU: +{overhead:.1%} per event"
        )
        return {
            "events": produced.events,
            "customers": config.learning_customers,
            "events_per_s_profiled": events_per_s(outcome.events, outcome.elapsed_s),
            "shares": shares,
            "overhead_per_event": overhead,
            "profile": str(path),
        }

    async def _history_replay(self) -> dict[str, Any]:
        """End to end as an operator backfills: a simulated history written to files, replayed at
        full speed (as ``churnwatch replay --max`` does) while one pipeline worker with the default
        settings (snapshots and learning on) reads, timed from its first handled record until it
        has handled every record (applied or dead-lettered)."""
        config = self.config
        topics = topic_set(self.run_id, "hr", config.partitions)
        history = self.run_dir / "history"
        self.progress(
            f"history replay: simulating {config.replay_customers:,} customers x {config.replay_days} days"
        )
        simulation = Simulation(
            config.replay_customers, config.replay_days, config.seed, config.sim_start, SimConfig()
        )
        written = await asyncio.to_thread(simulation.write, history)
        await ensure_topics(self.bootstrap, topics_of(topics), topics.partitions)
        replayed: dict[str, float] = {}

        async def send() -> None:
            began = time.perf_counter()
            async with open_producer(self.bootstrap) as producer:
                summary = await replay([history / EVENTS_FILE], ProducerSink(producer), event_topics(topics))
            replayed["events"] = summary.published
            replayed["seconds"] = time.perf_counter() - began

        outcome = await self._worker(
            "pipeline",
            "history",
            topics,
            written.events,
            prefix=f"bench{self.run_id}h",
            while_running=send,
            timeout_s=config.replay_timeout_s,
        )
        self.progress(
            f"history replay: {outcome.events:,} records handled in {outcome.elapsed_s:,.0f} s "
            f"({events_per_s(outcome.events, outcome.elapsed_s):,.0f} events/s; the replay itself "
            f"took {replayed.get('seconds', 0.0):,.0f} s)"
        )
        return {
            "customers": config.replay_customers,
            "days": config.replay_days,
            "events": written.events,
            "handled_s": outcome.elapsed_s,
            "events_per_s": events_per_s(outcome.events, outcome.elapsed_s),
            "replay_s": replayed.get("seconds"),
            "alerts": outcome.alerts,
            "dead_letters": outcome.dead_letters,
        }

    async def _profiles(self, topics: TopicSettings, produced: ProducedSet, out_dir: Path) -> dict[str, Any]:
        """Re-run the no-op and the pipeline under py-spy (separate runs keep the measured ones untouched)."""
        profiles: dict[str, Any] = {}
        for mode in ("noop", "pipeline"):
            path = out_dir / f"{mode}.txt"
            self.progress(f"profiling {mode} into {path}")
            outcome = await self._worker(
                mode,
                f"profile-{mode}",
                topics,
                produced.events,
                prefix=f"bench{self.run_id}{mode[0]}x",
                profile_path=path,
            )
            profiles[mode] = {
                "path": str(path),
                "events_per_s_profiled": events_per_s(outcome.events, outcome.elapsed_s),
                "top_self": outcome.profile_top,
            }
        return profiles

    async def _worker(
        self,
        mode: WorkerMode,
        name: str,
        topics: TopicSettings,
        expected: int,
        *,
        prefix: str | None = None,
        profile_path: Path | None = None,
        record_processed_times: bool = False,
        wait_for_learner: bool = False,
        while_running: Callable[[], Any] | None = None,
        policy: Any = None,
        timeout_s: float | None = None,
    ) -> RunOutcome:
        spec, run_dir = self._spec(
            mode,
            name,
            topics,
            expected,
            prefix=prefix,
            profile_path=profile_path,
            record_processed_times=record_processed_times,
            wait_for_learner=wait_for_learner,
            policy=policy,
            timeout_s=timeout_s,
        )
        return await run_worker_process(spec, run_dir, while_running)

    def _spec(
        self,
        mode: WorkerMode,
        name: str,
        topics: TopicSettings,
        expected: int,
        *,
        prefix: str | None = None,
        app_id: str | None = None,
        profile_path: Path | None = None,
        record_processed_times: bool = False,
        wait_for_learner: bool = False,
        policy: Any = None,
        timeout_s: float | None = None,
        group_progress_path: Path | None = None,
        group_stop_path: Path | None = None,
    ) -> tuple[RunSpec, Path]:
        """One worker's spec and folder; its own data folder and web port, so several can run at once."""
        run_dir = self.run_dir / name
        update: dict[str, Any] = {
            "topics": topics,
            "worker": WorkerSettings(
                app_id=app_id or f"bench-{self.run_id}-{name}",
                web_port=free_port("127.0.0.1"),
                data_dir=run_dir / "data",
                log_level=self.settings.worker.log_level,
            ),
            "features": FeatureConfig(
                key_prefix=prefix or f"bench{self.run_id}n",
                duplicate_ring_size=self.settings.features.duplicate_ring_size,
            ),
            "kafka_bootstrap": self.bootstrap,
            "redis_url": self.redis_url,
        }
        if policy is not None:
            update["policy"] = policy
        settings = self.settings.model_copy(update=update)
        spec = RunSpec(
            mode=mode,
            settings=settings_document(settings),
            bootstrap=self.bootstrap,
            redis_url=self.redis_url,
            expected_events=expected,
            result_path=run_dir / "result.json",
            ready_path=run_dir / "ready",
            profile_path=profile_path,
            record_processed_times=record_processed_times,
            wait_for_learner=wait_for_learner,
            timeout_s=timeout_s or self.config.worker_timeout_s,
            group_progress_path=group_progress_path,
            group_stop_path=group_stop_path,
        )
        return spec, run_dir


def _throughput(outcome: RunOutcome) -> Throughput:
    return Throughput(outcome.events, outcome.elapsed_s, events_per_s(outcome.events, outcome.elapsed_s))


async def run_bench(
    config: BenchConfig, settings: Settings, bootstrap: str, redis_url: str, progress: Progress
) -> BenchResult:
    """Every phase, in order, against the given broker and Redis (fresh topics and key prefixes)."""
    return await BenchRun(config, settings, bootstrap, redis_url, progress).execute()
