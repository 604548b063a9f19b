"""What the retention queue page reads: each day's alerts, and per customer recent alerts and scores.

Written by the worker beside the alert outbox, in the same pipeline (``store.commit``),
so a tick or sweep redone after a crash rewrites the same entries instead of adding more:

* ``{prefix}:{group/pN}:queue:{day}``: hash, customer id -> the customer's latest alert of that
  event-time day (JSON), one per partition group and day; the day ``QUEUE_DAYS_KEPT`` before the
  group's last swept day is deleted by that sweep.
* ``{prefix}:{customer}:alerts``: sorted set of the customer's last ``ALERTS_KEPT`` alerts (JSON),
  scored by event time (epoch seconds); an alert at the same event time replaces the earlier one.
* ``{prefix}:{customer}:scores``: sorted set of the customer's last ``SCORE_POINTS_KEPT`` daily
  snapshot scores, member ``<day>:<score>``, scored by the event-time day; one per day.

Per-customer keys carry the customer hash tag, per-day keys the partition group's tag (the
progress hash's), so every command touches one Cluster slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from redis.exceptions import RedisError

from schemas.errors import StorageUnavailableError
from schemas.event_days import day_of
from schemas.outputs import Alert, Prediction
from store.client import RedisClient
from store.keys import customer_key, group_key

QUEUE_DAYS_KEPT = 14
ALERTS_KEPT = 5  # about 700 B each (the full alert); with the 7-day cooldown, five weeks or more
SCORE_POINTS_KEPT = 30  # an active customer is snapshotted one day in three: about three months


@dataclass(frozen=True, slots=True)
class ScorePoint:
    """One daily snapshot's score: ``day`` counts event-time days since 1970-01-01."""

    day: int
    score: float


def score_member(prediction: Prediction) -> str:
    """The stored form of a snapshot's score, ``<day>:<score>`` (3 decimals: more than the chart shows).

    >>> from datetime import UTC, datetime
    >>> p = Prediction(snapshot_id="s", customer_id="c", event_time=datetime(1970, 1, 3, tzinfo=UTC),
    ...                features={}, score=0.123456, model_version="v", score_source="online_model")
    >>> score_member(p)
    '2:0.123'
    """
    return f"{day_of(prediction.event_time)}:{prediction.score:.3f}"


def parse_score_member(member: bytes | str) -> ScorePoint:
    """
    >>> parse_score_member(b"2:0.1235")
    ScorePoint(day=2, score=0.1235)
    """
    text = member.decode() if isinstance(member, bytes) else member
    day, _, score = text.partition(":")
    return ScorePoint(int(day), float(score))


class QueueStore:
    """Writes (into a caller's pipeline) and reads the queue page's Redis entries."""

    def __init__(self, redis: RedisClient, key_prefix: str, consumer_group: str) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._group = consumer_group

    def queue_key(self, partition: int, day: int) -> str:
        return group_key(self._prefix, self._group, partition, f"queue:{day}")

    def alerts_key(self, customer_id: str) -> str:
        return customer_key(self._prefix, customer_id, "alerts")

    def scores_key(self, customer_id: str) -> str:
        return customer_key(self._prefix, customer_id, "scores")

    def add_to(
        self,
        pipe: object,
        partition: int,
        alerts: Sequence[Alert],
        snapshots: Sequence[Prediction] = (),
        swept_day: int | None = None,
    ) -> None:
        """Queue the alerts and keep them and the snapshots' scores per customer, in ``pipe``.

        Idempotent: each entry replaces the one at the same day (or event time), then the
        oldest beyond the cap are trimmed.
        """
        for alert in alerts:
            encoded = alert.model_dump_json()
            at_s = alert.event_time.timestamp()
            pipe.hset(self.queue_key(partition, day_of(alert.event_time)), alert.customer_id, encoded)  # type: ignore[attr-defined]
            key = self.alerts_key(alert.customer_id)
            pipe.zremrangebyscore(key, at_s, at_s)  # type: ignore[attr-defined]
            pipe.zadd(key, {encoded: at_s})  # type: ignore[attr-defined]
            pipe.zremrangebyrank(key, 0, -ALERTS_KEPT - 1)  # type: ignore[attr-defined]
        for snapshot in snapshots:
            key = self.scores_key(snapshot.customer_id)
            member = score_member(snapshot)
            day = parse_score_member(member).day
            pipe.zremrangebyscore(key, day, day)  # type: ignore[attr-defined]
            pipe.zadd(key, {member: day})  # type: ignore[attr-defined]
            pipe.zremrangebyrank(key, 0, -SCORE_POINTS_KEPT - 1)  # type: ignore[attr-defined]
        if swept_day is not None:
            pipe.delete(self.queue_key(partition, swept_day - QUEUE_DAYS_KEPT))  # type: ignore[attr-defined]

    async def day_alerts(self, partitions: Iterable[int], day: int) -> list[Alert]:
        """Every customer's latest alert of an event-time day, over these partition groups."""
        ordered = sorted(set(partitions))
        pipe = self._redis.pipeline(transaction=False)
        for partition in ordered:
            pipe.hvals(self.queue_key(partition, day))
        try:
            values = await pipe.execute()
        except RedisError as error:
            raise StorageUnavailableError(f"queue read failed: {error}") from error
        return [Alert.model_validate_json(raw) for group in values for raw in group]

    async def customer(self, customer_id: str) -> tuple[list[ScorePoint], list[Alert]]:
        """A customer's kept scores (oldest first) and alerts (oldest first)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrange(self.scores_key(customer_id), 0, -1)
        pipe.zrange(self.alerts_key(customer_id), 0, -1)
        try:
            scores, alerts = await pipe.execute()
        except RedisError as error:
            raise StorageUnavailableError(f"customer history read failed: {error}") from error
        return (
            [parse_score_member(member) for member in scores],
            [Alert.model_validate_json(raw) for raw in alerts],
        )
