"""Assembles a worker: app, topics, Redis adapters, scorer, policy, coordinator, agents, web pages
(operations, and the retention queue of ``agents.queue_page``)."""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import faust
import redis.asyncio as aioredis
from faust.web import Request, Response, View

from agents.ingest import reader_hooks, register_ingest
from agents.inputs import pipeline_intake, register_input_agents
from agents.learner import register_learner
from agents.queue_page import register_queue_page
from models.labels import resolution_delay_days
from pipeline.alignment import EventTimeAligner
from pipeline.assembly import build_coordinator
from pipeline.coordinator import IngestCoordinator
from pipeline.intake import Accepted
from pipeline.learning import LearnerLoop
from pipeline.model_versions import ModelVersions
from pipeline.processor import TickProcessor
from pipeline.storage_health import StorageHealth
from pipeline.throttle import IntakeThrottle
from policy.playbook import load_playbook
from store.activity import ActivityIndex
from store.alert_states import AlertStateStore
from store.capacity import CapacityStore
from store.checkpoints import CheckpointStore
from store.client import RedisClient, connect_redis
from store.commit import CommitStore
from store.features import RedisFeatureStore
from store.labels import LabelStore
from store.progress import ProgressStore
from store.suppressions import SuppressionStore
from streams.app import create_app
from streams.end_probe import FetchEndProbe
from streams.group_offsets import committed_offsets
from streams.input_batches import BatchChannels
from streams.input_reader import InputReader, InputToken
from streams.metrics import PipelineMetrics
from streams.publisher import OutputPublisher
from streams.records import TopicPartition
from streams.settings import Settings
from streams.topics import ChurnTopics, declare_topics
from streams.training_reader import TrainingReader, learner_group
from streams.validation import RecordValidator
from web.access import QueueAccess

log = logging.getLogger(__name__)


@dataclass
class Worker:
    app: faust.App
    topics: ChurnTopics
    metrics: PipelineMetrics
    coordinator: IngestCoordinator[InputToken]
    redis: RedisClient
    input_reader: InputReader
    training_reader: TrainingReader


def utc_now() -> datetime:
    """Wall-clock time, used only for ``created_at`` / ``rejected_at`` / outcome stamps, never for
    decisions."""
    return datetime.now(UTC)


def build_worker(settings: Settings, bootstrap: str, redis_url: str) -> Worker:
    """A ready-to-start worker; ``faust.Worker(worker.app).execute_from_commandline()`` runs it."""
    metrics = PipelineMetrics()
    app = create_app(settings, bootstrap)
    topics = declare_topics(app, settings.topics)
    redis = connect_redis(redis_url, settings.redis_cluster, settings.redis.timeout_s)
    prefix = settings.features.key_prefix
    learning = settings.scoring.learning
    delay_days = resolution_delay_days(learning.horizon_days, settings.allowed_lateness_days)
    checkpoints = CheckpointStore(redis, prefix, settings.worker.app_id, learning.checkpoints_kept)
    versions = ModelVersions(checkpoints, settings.scoring, metrics, settings.model_version_wait_s)
    aligner: EventTimeAligner[Accepted] = EventTimeAligner(
        tick=timedelta(minutes=settings.scoring_tick_minutes),
        allowed_lateness=settings.allowed_lateness,
        out_of_orderness=settings.out_of_orderness(),
        max_ahead=settings.event_time.max_ahead,
    )
    health = StorageHealth(metrics, settings.redis.max_outage_s)
    activity = ActivityIndex(redis, prefix, settings.worker.app_id)
    input_reader: InputReader  # reads for the coordinator, which acknowledges to it: built after it

    def caught_up(tp: TopicPartition) -> bool:
        """Read everything the broker has for this partition (fetch high-water mark, not end_offsets)."""
        highwater = input_reader.highwater(tp)
        return highwater is not None and aligner.next_received(tp) >= highwater

    async def acknowledge(token: InputToken) -> None:
        await input_reader.acknowledge(token)

    async def rewind(tp: TopicPartition, offset: int) -> None:
        await input_reader.rewind(tp, offset)

    end_probe = FetchEndProbe(bootstrap)
    coordinator: IngestCoordinator[InputToken] = build_coordinator(
        validator=RecordValidator.from_settings(settings),
        processor=TickProcessor(
            store=RedisFeatureStore(redis, settings.features),
            alert_states=AlertStateStore(redis, prefix),
            policy=settings.policy,
            playbook=load_playbook(settings.policy.playbook_path),
            clock=utc_now,
            activity=activity,
            suppressions=SuppressionStore(redis, prefix),
            silence_days=settings.snapshots.silence_days,
            active_every_days=settings.snapshots.active_every_days,
            learn_min_history_days=settings.scoring.learning.min_history_days,
            capacity=CapacityStore(
                redis, prefix, settings.worker.app_id, settings.policy.capacity.history_days
            ),
            partitions=settings.topics.partitions,
        ),
        aligner=aligner,
        progress=ProgressStore(redis, prefix, settings.worker.app_id),
        commits=CommitStore(redis, prefix, settings.worker.app_id),
        sink=OutputPublisher(topics, metrics),
        acknowledge=acknowledge,
        caught_up=caught_up,
        end_offsets=end_probe,
        metrics=metrics,
        clock=utc_now,
        health=health,
        committed=lambda tps: committed_offsets(bootstrap, settings.worker.app_id, tps),
        rewind=rewind,
        versions=versions,
        labels=LabelStore(redis, prefix, settings.worker.app_id),
        horizon_days=learning.horizon_days,
        resolution_delay_days=delay_days,
        release_idle_s=settings.event_time.release_idle_s,
        max_run_ticks=settings.batching.max_run_ticks,
        max_run_events=settings.batching.max_run_events,
    )
    throttle = IntakeThrottle(settings.batching.max_records_per_second)  # one cap for the whole worker
    channels = BatchChannels(app, topics.input_names)
    register_input_agents(app, topics, channels, pipeline_intake(coordinator, throttle, metrics))
    input_reader = InputReader(
        topics.input_names,
        bootstrap,
        settings.worker.app_id,
        settings.kafka,
        reader_hooks(channels, coordinator, metrics),
        metrics,
        settings.batching.max_records,
        poll_timeout_s=settings.batching.within_s,
    )
    register_ingest(app, input_reader, topics, settings)
    training_topic = settings.topics.training
    reader = TrainingReader(
        LearnerLoop(
            checkpoints,
            settings.scoring,
            metrics,
            training_topic,
            health,
            settings.topics.partitions,
            math.ceil(learning.min_history_days) + delay_days,
        ),
        training_topic,
        bootstrap,
        learner_group(settings.worker.app_id),
        settings.kafka,
    )
    register_learner(app, reader)

    @app.task  # type: ignore[untyped-decorator]
    async def drain_idle() -> None:
        """Release ticks that became complete because a partition caught up, not because data came.

        A loop rather than a timer: a long drain simply delays the next one.
        """
        while not app.should_stop:
            await coordinator.drain()
            await asyncio.sleep(settings.batching.drain_interval_s)

    @app.task  # type: ignore[untyped-decorator]
    async def prove_caught_up() -> None:
        """Ask the broker's end offsets for the release rules, beside the drains: an answer can
        take a fetch's long poll, and the drains must not wait for it."""
        try:
            while not app.should_stop:
                await coordinator.prove_caught_up()
                await asyncio.sleep(settings.batching.drain_interval_s)
        finally:
            await end_probe.stop()

    @app.task  # type: ignore[untyped-decorator]
    async def check_storage() -> None:
        """Notice a Redis that restarted empty or older even when no failure was seen."""
        while not app.should_stop:
            await asyncio.sleep(settings.redis.check_interval_s)
            await coordinator.check_storage()

    @app.page("/alignment")
    class AlignmentPage(View):
        """Per input partition: events waiting for their tick, acks held back, caught up, ahead."""

        async def get(self, request: Request) -> Response:
            rows = coordinator.status()
            for row in rows:
                row["highwater"] = input_reader.highwater((str(row["topic"]), int(str(row["partition"]))))
            return self.json({"partitions": rows})

    _register_operations(app, metrics, redis, health, input_reader)
    register_queue_page(
        app,
        QueueAccess(settings.web_token),
        redis,
        prefix,
        settings.worker.app_id,
        settings.topics.partitions,
        settings.policy,
        metrics,
        utc_now,
    )
    return Worker(app, topics, metrics, coordinator, redis, input_reader, reader)


READY_PING_TIMEOUT_S = 0.5


def _register_operations(
    app: faust.App, metrics: PipelineMetrics, redis: RedisClient, health: StorageHealth, reader: InputReader
) -> None:
    """``/metrics``, ``/health``, ``/ready`` and the consumer-lag gauge."""

    @app.page("/metrics")
    class MetricsPage(View):
        async def get(self, request: Request) -> Response:
            return self.bytes(metrics.exposition(), content_type="text/plain; version=0.0.4")

    @app.page("/health")
    class HealthPage(View):
        async def get(self, request: Request) -> Response:
            return self.json({"status": "ok"})

    @app.page("/ready")
    class ReadyPage(View):
        """503 within a second when Redis is down, frozen or lost its data; never hangs."""

        async def get(self, request: Request) -> Response:
            if health.problem is not None:
                return self.json({"ready": False, "redis": health.problem}, status=503)
            try:
                await asyncio.wait_for(redis.ping(), timeout=READY_PING_TIMEOUT_S)
            except (aioredis.RedisError, OSError, TimeoutError):
                return self.json({"ready": False, "redis": "unreachable"}, status=503)
            assigned = len(reader.assignment())
            return self.json({"ready": not reader.rebalancing, "assigned_partitions": assigned})

    @app.timer(interval=2.0)  # type: ignore[untyped-decorator]
    async def measure_lag() -> None:
        """Lag = fetch high-water mark (right on every broker) minus the next offset to process."""
        for topic, partition in reader.assignment():
            highwater = reader.highwater((topic, partition))
            if highwater is None:
                continue
            processed = metrics.next_offsets.get((topic, partition), 0)
            metrics.consumer_lag.labels(topic, str(partition)).set(max(0, highwater - processed))
