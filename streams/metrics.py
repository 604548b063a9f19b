"""Prometheus metrics of a worker, in their own registry so several workers can share a process."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class PipelineMetrics:
    """What on-call engineers watch: throughput, rejects, alerts, latency, Redis errors, lag."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_in = Counter(
            "churnwatch_events_in", "Input records read, per topic", ["topic"], registry=self.registry
        )
        self.events_applied = Counter(
            "churnwatch_events_applied", "Events applied to features", registry=self.registry
        )
        self.events_replayed = Counter(
            "churnwatch_events_replayed",
            "Redelivered records skipped as already handled",
            registry=self.registry,
        )
        self.events_late = Counter(
            "churnwatch_events_late",
            "Events sent later than their topic's out-of-orderness allows, whose tick had already "
            "been scored: applied in their group's next tick",
            ["topic"],
            registry=self.registry,
        )
        self.records_skipped = Counter(
            "churnwatch_records_skipped",
            "Records not handled here: partition not owned (re-read by its owner) or delivered twice",
            ["reason"],
            registry=self.registry,
        )
        self.rewinds = Counter(
            "churnwatch_rewinds",
            "Partitions sent back to their committed offset because the consumer started past it",
            registry=self.registry,
        )
        self.offset_gaps = Counter(
            "churnwatch_offset_gaps",
            "Offsets skipped between two records the consumer delivered (records never seen)",
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "churnwatch_dead_letters",
            "Records sent to the dead-letter topic, per reason",
            ["reason"],
            registry=self.registry,
        )
        self.snapshots = Counter(
            "churnwatch_snapshots",
            "Daily snapshots published to the predictions topic",
            registry=self.registry,
        )
        self.alerts = Counter(
            "churnwatch_alerts", "Alerts published, per zone", ["zone"], registry=self.registry
        )
        self.alerts_suppressed = Counter(
            "churnwatch_alerts_suppressed",
            "Alerts held back because the customer is suppressed, per reason",
            ["reason"],
            registry=self.registry,
        )
        self.contact_outcomes = Counter(
            "churnwatch_contact_outcomes",
            "Contact outcomes recorded on the retention queue page, per outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.queue_page_refused = Counter(
            "churnwatch_queue_page_refused",
            "Retention queue requests refused: no or a wrong token, or a missing CSRF token",
            ["reason"],
            registry=self.registry,
        )
        self.alerts_held_back = Counter(
            "churnwatch_alerts_held_back",
            "Alerts held back by the daily contact capacity, per value tier",
            ["tier"],
            registry=self.registry,
        )
        self.redis_errors = Counter(
            "churnwatch_redis_errors", "Failed Redis calls (the batch is retried)", registry=self.registry
        )
        self.redis_outages = Counter(
            "churnwatch_redis_outages",
            "Times Redis became unreachable (processing waits and retries)",
            registry=self.registry,
        )
        self.redis_unavailable = Gauge(
            "churnwatch_redis_unavailable", "1 while Redis is unreachable", registry=self.registry
        )
        self.redis_outage_seconds = Counter(
            "churnwatch_redis_outage_seconds", "Time spent in ended Redis outages", registry=self.registry
        )
        self.redis_data_lost = Gauge(
            "churnwatch_redis_data_lost",
            "1 when Redis no longer holds this group's data (restarted empty or rolled back)",
            registry=self.registry,
        )
        self.outputs_refused = Counter(
            "churnwatch_outputs_refused",
            "Output records the broker can never accept: dead letters resent without their "
            "original (outcome=reduced) or not sent at all (outcome=dropped)",
            ["topic", "outcome"],
            registry=self.registry,
        )
        self.publish_errors = Counter(
            "churnwatch_publish_errors",
            "Failed output sends to the broker (the tick is retried)",
            registry=self.registry,
        )
        self.intake_throttled_seconds = Counter(
            "churnwatch_intake_throttled_seconds",
            "Time agents waited under CHURNWATCH_BATCHING__MAX_RECORDS_PER_SECOND",
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "churnwatch_batch_seconds",
            "Time to process one event-time tick of one partition group (ticks run together "
            "share their step's time equally)",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.run_ticks = Histogram(
            "churnwatch_run_ticks",
            "Event-time ticks of one partition group processed together in one step",
            buckets=(1, 2, 5, 10, 30, 60, 240, 1440),
            registry=self.registry,
        )
        self.event_to_alert_seconds = Histogram(
            "churnwatch_event_to_alert_seconds",
            "Wall time from a record's broker timestamp to its alert being published",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "churnwatch_consumer_lag",
            "Records behind the partition's highwater mark",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.commit_failures = Counter(
            "churnwatch_offset_commit_failures",
            "Input offset commits the broker refused (the next owner re-reads from the last commit)",
            registry=self.registry,
        )
        self.rebalances = Counter(
            "churnwatch_rebalances", "Consumer-group rebalances seen by this worker", registry=self.registry
        )
        self.rebalance_seconds = Histogram(
            "churnwatch_rebalance_seconds",
            "Duration of consumer-group rebalances",
            buckets=(0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.model_version = Gauge(
            "churnwatch_model_info",
            "Scoring model in use (value 1)",
            ["model_version", "source"],
            registry=self.registry,
        )
        self.model_version_loads = Counter(
            "churnwatch_model_version_loads",
            "Model versions taken up by this worker's scorers, by "
            "outcome (ready, waited for the learner, timeout: scored with an older version)",
            ["outcome"],
            registry=self.registry,
        )
        self.model_version_wait_seconds = Histogram(
            "churnwatch_model_version_wait_seconds",
            "How long ticks waited for their model version",
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=self.registry,
        )
        self.ticks_waiting_for_model = Gauge(
            "churnwatch_ticks_waiting_for_model",
            "Released ticks held until their model version is written",
            registry=self.registry,
        )
        self.examples_resolved = Counter(
            "churnwatch_examples_resolved",
            "Snapshots labelled after their horizon and sent to learning",
            ["label"],
            registry=self.registry,
        )
        self.pending_bytes = Counter(
            "churnwatch_pending_snapshot_bytes",
            "Bytes of pending snapshots written to Redis",
            registry=self.registry,
        )
        self.training_examples = Counter(
            "churnwatch_training_examples",
            "Training examples read by the learner, by outcome "
            "(held for their day, already learned, unreadable)",
            ["outcome"],
            registry=self.registry,
        )
        self.training_held = Gauge(
            "churnwatch_training_held",
            "Training records read but not learned yet: their day waits for "
            "every partition group to resolve it",
            registry=self.registry,
        )
        self.model_quality = Gauge(
            "churnwatch_model_quality",
            "Prequential quality at the last checkpoint, per scorer "
            "(model, rules, used; *_recent: the hand-over window; champion_shadow, challenger: "
            "both models' scores at learning time, same window) and metric",
            ["scorer", "metric"],
            registry=self.registry,
        )
        self.model_examples_learned = Gauge(
            "churnwatch_model_examples_learned",
            "Examples learned by the last checkpoint",
            registry=self.registry,
        )
        self.model_checkpoint_day = Gauge(
            "churnwatch_model_checkpoint_day_seconds",
            "End of the last checkpoint's day (epoch s)",
            registry=self.registry,
        )
        self.model_weight = Gauge(
            "churnwatch_model_weight",
            "The model's share of each score at the last checkpoint (0: rules)",
            registry=self.registry,
        )
        self.model_drifts = Gauge(
            "churnwatch_model_drifts", "Drifts ADWIN detected in the model's log loss", registry=self.registry
        )
        self.model_champion = Gauge(
            "churnwatch_model_champion",
            "Configurations of the last checkpoint (value 1): the champion it carries, "
            "the challenger in shadow",
            ["champion", "challenger"],
            registry=self.registry,
        )
        self.model_promotions = Gauge(
            "churnwatch_model_promotions",
            "Challengers promoted to champion so far (rolling ROC AUC ahead by the margin)",
            registry=self.registry,
        )
        self.model_fallbacks = Gauge(
            "churnwatch_model_fallbacks",
            "Times the rules took charge again from a model behind them on the hand-over window",
            registry=self.registry,
        )

        # Next offset to process per (topic, partition), for lag against the fetch highwater.
        self.next_offsets: dict[tuple[str, int], int] = {}

    def processed(self, topic: str, partition: int, offset: int) -> None:
        """Note that every record up to ``offset`` of a partition has been processed."""
        key = (topic, partition)
        if offset + 1 > self.next_offsets.get(key, 0):
            self.next_offsets[key] = offset + 1

    def forget_partitions(self, tps: Iterable[tuple[str, int]]) -> None:
        """Drop lag readings of partitions this worker gave up, so they cannot look stalled."""
        for topic, partition in tps:
            self.next_offsets.pop((topic, partition), None)
            with contextlib.suppress(KeyError):
                self.consumer_lag.remove(topic, str(partition))

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric above."""
        return generate_latest(self.registry)

    def total(self, counter: Counter) -> float:
        """Sum of a counter over all its labels (for summaries and tests)."""
        return sum(
            sample.value
            for metric in counter.collect()
            for sample in metric.samples
            if sample.name.endswith("_total")
        )
