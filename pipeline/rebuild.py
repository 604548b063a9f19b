"""Rebuild a consumer group's Redis state from the input topics, after Redis lost its data.

Three steps, with every worker of the group stopped: delete what is left under the key
prefix (features, alert states, progress, outboxes, pending snapshots, model checkpoints
and the learner's state), move the group's committed offsets back to the earliest
retained record of each input partition (and its learner group's to the training
topic's end: the replay publishes its examples again, and the model learns anew from
them), and write
the group's marker so the restarted workers take the empty Redis as intended. The workers then
replay the inputs and arrive at the same features and alert ids as before (alerts are
published again with their old ids; consumers de-duplicate by ``alert_id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from store.client import RedisClient, delete_prefix
from store.progress import ProgressStore
from streams.group_offsets import reset_to_earliest
from streams.training_reader import learner_group


@dataclass(frozen=True)
class RebuildReport:
    keys_deleted: int
    partitions_reset: int
    records_to_replay_from: dict[str, int]  # topic -> lowest earliest offset over its partitions


async def rebuild(
    redis: RedisClient,
    key_prefix: str,
    bootstrap: str,
    group: str,
    input_topics: list[str],
    training_topic: str | None = None,
) -> RebuildReport:
    """Clear the prefix, reset the group to the inputs' start (and its learner's group to the
    training topic's end), write the marker."""
    deleted = await delete_prefix(redis, key_prefix)
    offsets = await reset_to_earliest(bootstrap, group, input_topics)
    if training_topic:
        await reset_to_earliest(bootstrap, learner_group(group), [], to_end=[training_topic])
    await ProgressStore(redis, key_prefix, group).write_marker(datetime.now(UTC).isoformat())
    starts: dict[str, int] = {}
    for (topic, _), offset in offsets.items():
        starts[topic] = min(starts.get(topic, offset), offset)
    return RebuildReport(deleted, len(offsets), starts)
