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

from redis.exceptions import RedisError

from schemas.errors import StorageUnavailableError
from streams.group_offsets import reset_to_earliest
from streams.progress_store import ProgressStore
from streams.redis_client import RedisClient
from streams.training_reader import learner_group

UNLINK_CHUNK = 500


@dataclass(frozen=True)
class RebuildReport:
    keys_deleted: int
    partitions_reset: int
    records_to_replay_from: dict[str, int]  # topic -> lowest earliest offset over its partitions


async def delete_prefix(redis: RedisClient, prefix: str) -> int:
    """Delete every key under ``prefix:`` (all nodes of a Cluster); returns how many."""
    deleted = 0
    chunk: list[bytes] = []
    try:
        async for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
            chunk.append(key)
            if len(chunk) >= UNLINK_CHUNK:
                deleted += await _unlink(redis, chunk)
                chunk = []
        if chunk:
            deleted += await _unlink(redis, chunk)
    except RedisError as error:
        raise StorageUnavailableError(f"deleting the key prefix failed: {error}") from error
    return deleted


async def _unlink(redis: RedisClient, keys: list[bytes]) -> int:
    # one key per call: on a Cluster the keys of a chunk live in many slots
    pipe = redis.pipeline(transaction=False)
    for key in keys:
        pipe.unlink(key)
    return sum(int(count) for count in await pipe.execute())


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
