"""The Faust application, built from settings (one per worker process, or per test)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import faust
from faust.app.base import BootStrategy
from mode import ServiceT

from streams.settings import Settings


def create_app(settings: Settings, bootstrap: str, *, faust_consumer: bool = False) -> faust.App:
    """A Faust app tuned for at-least-once batches on a Kafka-protocol broker.

    Records stay raw bytes (the contracts are validated by ``schemas.parsing``), and no
    exactly-once mode is used (the embedded broker has no transactions). The app runs
    the producer, the web server, the agents and the tasks; the input topics and the
    training topic are read by consumers of their own (``streams.input_reader``, which
    hands each fetched batch to its topic's agent through a channel, and
    ``streams.training_reader``), so Faust's consumer is not started
    (``faust_consumer=True`` starts it, for agents on topics: the stock baseline of the
    benchmark). The monitor sensor is dropped: the worker keeps its own Prometheus metrics.
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
    app_class = LeanApp if faust_consumer else WorkerApp
    return app_class(settings.worker.app_id, **options)


class LeanApp(faust.App):
    """A Faust app without the in-memory monitor sensor (Prometheus metrics replace it).

    ``before_stop`` runs first when the app stops, while the producer still works: the
    input reader finishes its batch, commits and leaves the group there.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_stop: list[Callable[[], Awaitable[object]]] = []

    def on_init_dependencies(self) -> Iterable[ServiceT]:
        dependencies = super().on_init_dependencies()
        self.sensors.remove(self.monitor)
        return dependencies

    async def on_stop(self) -> None:
        for step in self.before_stop:
            await step()
        await super().on_stop()


class _WithoutConsumer(BootStrategy):
    enable_kafka_consumer = False


class WorkerApp(LeanApp):
    """The worker's app: its topics are read by consumers of its own, not by Faust's.

    Faust opens its flow control (the gate on every channel queue) after its consumer's
    first assignment; this app's channels are fed by its own readers, so it opens the gate
    when it starts.
    """

    BootStrategy = _WithoutConsumer

    async def on_start(self) -> None:
        await super().on_start()
        self.flow_control.resume()
