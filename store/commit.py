"""The one write of a tick's or a day's sweep's outcome for a partition group.

Everything a step leaves in Redis is described by one ``GroupCommit`` and written by one
``CommitStore.commit`` call, in an order that makes a torn write harmless: every other
key first (each write idempotent, so a redone step rewrites the same entries), the
group's progress last, so a step counts as done only once all its effects are in.

Writes that must land in order are separate round trips on a Cluster, because a Cluster
pipeline runs its per-node parts concurrently; on a single server one pipeline keeps them
in order. Without alerts or other effects a commit is one round trip (progress only).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError

from policy.alert_state import AlertState
from schemas.errors import StorageUnavailableError
from schemas.outputs import Alert, Prediction
from store.activity import ActivityIndex
from store.alert_states import alert_state_key
from store.capacity import CapacityWrite
from store.client import RedisClient
from store.labels import LabelStore
from store.progress import SWEPT_FIELD, outbox_key, progress_key
from store.queue import QueueStore
from streams.records import PartitionProgress, TopicPartition


@dataclass(frozen=True, slots=True)
class GroupCommit:
    """What one step of partition group ``partition`` writes; empty fields write nothing.

    ``progress``: the input partitions' new progress (a tick's; a sweep has none);
    ``alerts``: the alerts to send, kept in the outbox until published; ``alert_states``:
    the decided customers' new alert states (held alerts included); ``seen``: customers'
    latest event times (epoch seconds) for the activity index; ``gone``: churned customers
    leaving it; ``churns``: the tick's churn event times, for label resolution;
    ``snapshots``: the sweep's, whose scores the queue page charts; ``swept_day``: the
    last event-time day swept, kept with the progress; ``capacity``: capacity-state fields.
    """

    partition: int
    progress: Mapping[TopicPartition, PartitionProgress] = field(default_factory=dict)
    alerts: Sequence[Alert] = ()
    alert_states: Mapping[str, AlertState] = field(default_factory=dict)
    seen: Mapping[str, float] = field(default_factory=dict)
    gone: Collection[str] = ()
    churns: Mapping[str, Sequence[float]] = field(default_factory=dict)
    snapshots: Sequence[Prediction] = ()
    swept_day: int | None = None
    capacity: CapacityWrite | None = None


class CommitStore:
    """Writes ``GroupCommit``s of one consumer group."""

    def __init__(self, redis: RedisClient, key_prefix: str, consumer_group: str) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._group = consumer_group
        self._activity = ActivityIndex(redis, key_prefix, consumer_group)
        self._labels = LabelStore(redis, key_prefix, consumer_group)
        self._queue = QueueStore(redis, key_prefix, consumer_group)

    async def commit(self, step: GroupCommit) -> None:
        """Write a step's outcome; the keys, in the order written (``N`` is ``step.partition``):

        1. ``{prefix}:{group/pN}:progress``: expired capacity fields deleted (``store.capacity``);
        2. ``{prefix}:{group/pN}:outbox``: the alerts (alert id -> JSON);
        3. ``{prefix}:{customer}:a``: each customer's alert state (``store.alert_states``);
        4. ``{prefix}:{group/pN}:seen``: last-seen times, churned customers removed (``store.activity``);
        5. ``{prefix}:{group/pN}:churns``: churn event times (``store.labels``);
        6. ``{prefix}:{group/pN}:queue:<day>``, ``{prefix}:{customer}:alerts`` and
           ``{prefix}:{customer}:scores``: the queue page's entries, and the day queue that
           fell out of ``store.queue.QUEUE_DAYS_KEPT`` deleted when a day is swept;
        7. ``{prefix}:{group/pN}:progress``, last and in one HSET: each input partition's
           ``next_offset|tau``, the swept day (``~swept``) and the capacity state fields.
        """
        partition = step.partition
        progress = progress_key(self._prefix, self._group, partition)
        fields = {tp[0]: f"{p.next_offset}|{p.tau_s!r}" for tp, p in step.progress.items()}
        if step.swept_day is not None:
            fields[SWEPT_FIELD] = str(step.swept_day)
        expired: Sequence[str] = ()
        if step.capacity is not None:
            fields.update(step.capacity.fields)
            expired = step.capacity.expired
        try:
            if (
                step.alerts
                or step.alert_states
                or step.seen
                or step.gone
                or step.churns
                or step.snapshots
                or expired
                or step.swept_day is not None
            ):
                pipe = self._redis.pipeline(transaction=False)
                if expired:  # days no redo can need any more (see CapacityWrite)
                    pipe.hdel(progress, *expired)
                if step.alerts:
                    pipe.hset(
                        outbox_key(self._prefix, self._group, partition),
                        mapping={alert.alert_id: alert.model_dump_json() for alert in step.alerts},
                    )
                for customer_id, state in step.alert_states.items():
                    pipe.set(alert_state_key(self._prefix, customer_id), state.encode())
                self._activity.add_to(pipe, partition, step.seen, step.gone)
                self._labels.add_churns_to(pipe, partition, step.churns)
                self._queue.add_to(pipe, partition, step.alerts, step.snapshots, step.swept_day)
                if fields and isinstance(self._redis, Redis):
                    # one connection runs a pipeline in order: progress still lands last
                    pipe.hset(progress, mapping=fields)  # type: ignore[arg-type]
                    fields = {}
                await pipe.execute()
            if fields:
                await self._redis.hset(progress, mapping=fields)  # type: ignore[arg-type]
        except RedisError as error:
            raise StorageUnavailableError(f"progress write failed: {error}") from error
