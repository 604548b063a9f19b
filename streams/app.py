"""The Faust application, built from settings (one per worker process, or per test)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import faust
from mode import ServiceT

from streams.metrics import PipelineMetrics
from streams.sensor import RebalanceSensor
from streams.settings import Settings


def create_app(settings: Settings, bootstrap: str, metrics: PipelineMetrics) -> faust.App:
    """A Faust app tuned for at-least-once batches on a Kafka-protocol broker.

    Records stay raw bytes (the contracts are validated by ``schemas.parsing``), offsets
    are committed only after a batch's outputs are delivered, and no exactly-once mode is
    used (the embedded broker has no transactions). The monitor sensor is dropped: it
    costs ~10% of throughput and the worker keeps its own Prometheus metrics.
    """
    kafka = settings.kafka
    options: dict[str, Any] = {
        "broker": f"kafka://{bootstrap}",
        "key_serializer": "raw",
        "value_serializer": "raw",
        "autodiscover": False,
        "datadir": str(settings.worker.data_dir),
        "web_host": settings.worker.web_host,
        "web_bind": settings.worker.web_bind,
        "web_port": settings.worker.web_port,
        "web_in_thread": False,
        "broker_session_timeout": kafka.session_timeout_s,
        "broker_heartbeat_interval": kafka.heartbeat_interval_s,
        "broker_rebalance_timeout": kafka.rebalance_timeout_s,
        "broker_commit_interval": kafka.commit_interval_s,
        "broker_max_poll_records": kafka.max_poll_records,
        "consumer_max_fetch_size": kafka.max_fetch_bytes,
        "consumer_auto_offset_reset": "earliest",
        "stream_buffer_maxsize": settings.batching.stream_buffer_maxsize,
        "stream_wait_empty": False,
        "topic_partitions": settings.topics.partitions,
        "topic_replication_factor": settings.topics.replicas,
        "producer_acks": -1,
        "producer_max_request_size": kafka.max_request_bytes,
        "store": "memory://",
    }
    app = LeanApp(settings.worker.app_id, **options)
    app.sensors.add(RebalanceSensor(metrics.rebalances, metrics.rebalance_seconds))
    return app


class LeanApp(faust.App):
    """A Faust app without the in-memory monitor sensor (Prometheus metrics replace it)."""

    def on_init_dependencies(self) -> Iterable[ServiceT]:
        dependencies = super().on_init_dependencies()
        self.sensors.remove(self.monitor)
        return dependencies
