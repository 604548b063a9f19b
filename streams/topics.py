"""Topic handles of a worker: four co-partitioned inputs and the outputs."""

from __future__ import annotations

from dataclasses import dataclass

import faust

from schemas.events import EventType
from streams.settings import TopicSettings


@dataclass(frozen=True)
class ChurnTopics:
    inputs: dict[EventType, faust.TopicT]
    alerts: faust.TopicT
    dead_letters: faust.TopicT
    predictions: faust.TopicT
    training: faust.TopicT  # one partition: one logical learner reads it whole
    capacity: faust.TopicT  # daily capacity summaries

    @property
    def input_names(self) -> dict[str, EventType]:
        return {topic.get_topic_name(): event_type for event_type, topic in self.inputs.items()}


def declare_topics(app: faust.App, names: TopicSettings) -> ChurnTopics:
    """Declare every topic with the configured partitions, so co-partitioning holds from the start."""

    def topic(name: str, partitions: int = names.partitions) -> faust.TopicT:
        return app.topic(
            name,
            partitions=partitions,
            replicas=names.replicas,
            key_type=bytes,
            value_type=bytes,
            internal=False,
        )

    return ChurnTopics(
        inputs={
            EventType.CALL: topic(names.calls),
            EventType.TOPUP: topic(names.topups),
            EventType.COMPLAINT: topic(names.complaints),
            EventType.LIFECYCLE: topic(names.lifecycle),
        },
        alerts=topic(names.alerts),
        dead_letters=topic(names.dead_letters),
        predictions=topic(names.predictions),
        training=topic(names.training, partitions=1),
        capacity=topic(names.capacity),
    )
