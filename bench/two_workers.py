"""Two pipeline workers in one consumer group: when the group is done, and whether it handled
every record exactly once between its members.

No member alone knows when the group is done: the bench reads every member's
``GroupProgress`` file and says stop once the group has settled (each member holds its own
partitions) and has processed every input partition up to its end offset.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import redis.asyncio as aioredis
from pydantic import ValidationError

from bench.errors import BenchError
from bench.redis_memory import sample_evenly
from bench.result import GroupMember, TwoWorkers
from bench.spec import GroupProgress, RunOutcome
from bench.stats import events_per_s, ratio
from features.state_codec import unpack_state
from features.vector import FeatureVector
from store.features import feature_key

TopicPartition = tuple[str, int]
_POLL_S = 0.05


def group_settled(assignments: Sequence[Sequence[TopicPartition]], partitions: set[TopicPartition]) -> bool:
    """Every member holds some partitions, none holds one twice, and together they hold them all.

    >>> tps = {("t", 0), ("t", 1)}
    >>> group_settled([[("t", 0)], [("t", 1)]], tps), group_settled([[("t", 0), ("t", 1)], []], tps)
    (True, False)
    """
    held = [tp for assignment in assignments for tp in assignment]
    return (
        all(assignment for assignment in assignments)
        and len(held) == len(set(held)) == len(partitions)
        and set(held) == partitions
    )


def positions_reached(progresses: Sequence[GroupProgress], end_offsets: Mapping[TopicPartition, int]) -> bool:
    """Some member processed each partition up to its end offset (every record handled by someone).

    >>> one = GroupProgress(next_offsets=[("t", 0, 5)])
    >>> two = GroupProgress(next_offsets=[("t", 1, 2)])
    >>> positions_reached([one, two], {("t", 0): 5, ("t", 1): 3})
    False
    """
    reached: dict[TopicPartition, int] = {}
    for progress in progresses:
        for topic, partition, offset in progress.next_offsets:
            reached[(topic, partition)] = max(reached.get((topic, partition), 0), offset)
    return all(reached.get(tp, 0) >= end for tp, end in end_offsets.items() if end > 0)


def read_progress(path: Path) -> GroupProgress:
    """A member's last written progress; nothing yet when it has not written one."""
    try:
        return GroupProgress.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return GroupProgress()
    except ValidationError as error:  # written atomically, so this is a bug, not a race
        raise BenchError(f"{path}: not a group progress document: {error}") from error


async def stop_when_done(
    progress_paths: Sequence[Path],
    stop_path: Path,
    end_offsets: Mapping[TopicPartition, int],
    expected: int,
    timeout_s: float,
) -> None:
    """Poll the members' progress until the group settled and handled every record, then say stop.

    Raises ``BenchError`` with what it last saw if that does not happen within ``timeout_s``.
    """
    partitions = set(end_offsets)
    deadline_s = time.monotonic() + timeout_s
    while True:
        progresses = [read_progress(path) for path in progress_paths]
        settled = group_settled([progress.assignment for progress in progresses], partitions)
        handled = sum(progress.handled for progress in progresses)
        if settled and handled >= expected and positions_reached(progresses, end_offsets):
            break
        if time.monotonic() > deadline_s:
            seen = "; ".join(
                f"member {index}: {progress.handled} handled, {len(progress.assignment)} partitions, "
                f"rebalancing={progress.rebalancing}"
                for index, progress in enumerate(progresses, 1)
            )
            raise BenchError(
                f"two workers: not done within {timeout_s} s ({handled} of {expected} handled; {seen})"
            )
        await asyncio.sleep(_POLL_S)
    await asyncio.to_thread(stop_path.write_text, "stop")


def summarise(
    outcomes: Sequence[RunOutcome], expected: int, single: RunOutcome, features: tuple[int, int]
) -> TwoWorkers:
    """The pair's numbers from each member's last progress; ``features`` is (sampled, differing).

    >>> def member(handled, first, last, tps):
    ...     group = GroupProgress(handled=handled, applied=handled, assignment=tps, first_wall_s=first,
    ...                           last_handled_wall_s=last, first_assigned_wall_s=first - 1.0,
    ...                           assigned_wall_s=first + 1.0)
    ...     return RunOutcome(mode="pipeline", events=handled, elapsed_s=last - first, first_wall_s=first,
    ...                       last_wall_s=last, applied=handled, group=group)
    >>> single = RunOutcome(mode="pipeline", events=10, elapsed_s=2.0, first_wall_s=0.0, last_wall_s=2.0,
    ...                     applied=10)
    >>> pair = summarise([member(6, 10.0, 11.0, [("t", 0)]), member(4, 10.5, 12.0, [("t", 1)])], 10, single,
    ...                  (5, 0))
    >>> pair.elapsed_s, pair.events_per_s, pair.over_single, pair.exactly_once
    (2.0, 5.0, 1.0, True)
    >>> pair.group_formed_s, pair.settled_after_s
    (2.5, 1.5)
    """
    groups = [outcome.group or GroupProgress() for outcome in outcomes]
    firsts = [group.first_wall_s for group in groups if group.first_wall_s is not None]
    lasts = [group.last_handled_wall_s for group in groups if group.last_handled_wall_s is not None]
    assigned = [group.assigned_wall_s for group in groups if group.assigned_wall_s is not None]
    first_assigned = [
        group.first_assigned_wall_s for group in groups if group.first_assigned_wall_s is not None
    ]
    settled = len(assigned) == len(first_assigned) == len(groups)
    began = min(firsts) if firsts else math.nan
    elapsed_s = max(lasts) - began if lasts else 0.0
    handled = sum(group.handled for group in groups)
    combined = events_per_s(handled, elapsed_s)
    single_eps = events_per_s(single.events, single.elapsed_s)
    members = [
        GroupMember(
            handled=group.handled,
            applied=group.applied,
            dead_letters=group.dead_letters,
            replayed=group.replayed,
            alerts=group.alerts,
            partitions=sorted({partition for _, partition in group.assignment}),
            topic_partitions=len(group.assignment),
            rebalance_pause_s=group.rebalance_pause_s,
            assignments=group.assignments,
            cpu_s=group.cpu_s,
        )
        for group in groups
    ]
    replayed = sum(member.replayed for member in members)
    return TwoWorkers(
        events=handled,
        elapsed_s=elapsed_s,
        events_per_s=combined,
        over_single=ratio(combined, single_eps),
        members=members,
        group_formed_s=max(assigned) - min(first_assigned) if settled else math.nan,
        settled_after_s=max(assigned) - began if settled else math.nan,
        single_cpu_s=single.cpu_s,
        handled_once=handled == expected and replayed == 0,
        applied_as_single=(
            sum(member.applied for member in members) == single.applied
            and sum(member.dead_letters for member in members) == single.dead_letters
        ),
        features_sampled=features[0],
        features_differing=features[1],
    )


async def differing_features(
    redis_url: str, prefix: str, reference_prefix: str, customer_ids: Sequence[str], sample_size: int
) -> tuple[int, int]:
    """(sampled, differing): customers whose feature vector under ``prefix`` is not the one under
    ``reference_prefix``. Vectors, not raw bytes: the stored positions name other topics."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        sample = sample_evenly(customer_ids, sample_size)
        pipe = client.pipeline(transaction=False)
        for customer_id in sample:
            pipe.get(feature_key(prefix, customer_id))
            pipe.get(feature_key(reference_prefix, customer_id))
        blobs = await pipe.execute()
    finally:
        await client.aclose()
    differing = sum(
        _vector(customer_id, blob) != _vector(customer_id, reference)
        for customer_id, blob, reference in zip(sample, blobs[0::2], blobs[1::2], strict=True)
    )
    return len(sample), differing


def _vector(customer_id: str, blob: bytes | None) -> FeatureVector | None:
    return None if blob is None else unpack_state(blob).vector(customer_id)
