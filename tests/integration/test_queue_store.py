"""The queue page's Redis entries: written with the progress, idempotent, bounded, and small."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from schemas.event_days import day_of
from schemas.outputs import Prediction, ScoreSource
from store.commit import CommitStore, GroupCommit
from store.queue import ALERTS_KEPT, QUEUE_DAYS_KEPT, SCORE_POINTS_KEPT, QueueStore, ScorePoint
from tests.unit.test_web_queue_page import alert

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
GROUP = "g"
SCORE_HISTORY_BUDGET_BYTES = 768
ALERT_HISTORY_BUDGET_BYTES = 5 * 1024


def snapshot(customer_id: str, day_offset: int, score: float) -> Prediction:
    at = T0.replace(hour=23, minute=59, second=59, microsecond=999999) + timedelta(days=day_offset)
    return Prediction(
        snapshot_id=f"{customer_id}-{day_offset}",
        customer_id=customer_id,
        event_time=at,
        features={},
        score=score,
        model_version="v1",
        score_source=ScoreSource.ONLINE_MODEL,
    )


class TestQueueStore:
    async def test_a_redone_tick_replaces_its_entries_instead_of_adding(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """The same alert decided again (new created_at) and the same day's snapshot scored again
        leave one queue entry, one kept alert and one score for the day."""
        commits = CommitStore(redis_client, key_prefix, GROUP)
        queue = QueueStore(redis_client, key_prefix, GROUP)
        first = alert("c1", 5.0)
        again = first.model_copy(update={"created_at": T0 + timedelta(hours=1)})
        for decided, score in ((first, 0.4), (again, 0.41)):
            await commits.commit(GroupCommit(0, alerts=[decided], snapshots=[snapshot("c1", 0, score)]))
        assert await queue.day_alerts([0], day_of(T0)) == [again]
        points, alerts = await queue.customer("c1")
        assert points == [ScorePoint(day_of(T0), 0.41)]
        assert alerts == [again]

    async def test_the_day_queue_holds_each_customers_latest_alert_of_the_day(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """A rise from yellow to red later that day replaces the yellow entry; the history keeps both."""
        commits = CommitStore(redis_client, key_prefix, GROUP)
        queue = QueueStore(redis_client, key_prefix, GROUP)
        morning = alert("c1", 2.0)
        evening = alert("c1", 6.0, at=T0 + timedelta(hours=8))
        await commits.commit(GroupCommit(1, alerts=[morning]))
        await commits.commit(GroupCommit(1, alerts=[evening]))
        assert await queue.day_alerts([0, 1], day_of(T0)) == [evening]
        assert (await queue.customer("c1"))[1] == [morning, evening]

    async def test_histories_are_capped_and_old_day_queues_deleted_by_the_sweep(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """Only the newest scores and alerts are kept; the sweep of day D drops day D - QUEUE_DAYS_KEPT."""
        commits = CommitStore(redis_client, key_prefix, GROUP)
        queue = QueueStore(redis_client, key_prefix, GROUP)
        days = SCORE_POINTS_KEPT + 5
        await commits.commit(GroupCommit(0, snapshots=[snapshot("c1", d, d / days) for d in range(days)]))
        alerts = [alert("c1", 1.0, at=T0 + timedelta(days=7 * week)) for week in range(ALERTS_KEPT + 3)]
        await commits.commit(GroupCommit(0, alerts=alerts))
        points, kept = await queue.customer("c1")
        assert [p.day for p in points] == [day_of(T0) + d for d in range(5, days)]
        assert kept == alerts[3:]
        last_day = day_of(alerts[-1].event_time)
        await commits.commit(GroupCommit(0, swept_day=last_day + QUEUE_DAYS_KEPT))
        assert await queue.day_alerts([0], last_day) == []
        assert await queue.day_alerts([0], day_of(alerts[-2].event_time)) == [alerts[-2]]

    async def test_a_customers_full_history_stays_within_its_memory_budget(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """At the caps: scores within 768 B, alerts within 5 KiB (measured with MEMORY USAGE)."""
        commits = CommitStore(redis_client, key_prefix, GROUP)
        queue = QueueStore(redis_client, key_prefix, GROUP)
        await commits.commit(
            GroupCommit(0, snapshots=[snapshot("c1", d, 0.123456) for d in range(SCORE_POINTS_KEPT)])
        )
        reasons = ("usage_decline", "topup_decline", "complaints_network")
        alerts = [alert("c1", 1.0, reasons=reasons, at=T0 + timedelta(days=w)) for w in range(ALERTS_KEPT)]
        await commits.commit(GroupCommit(0, alerts=alerts))
        scores_bytes = await redis_client.memory_usage(queue.scores_key("c1"))
        alerts_bytes = await redis_client.memory_usage(queue.alerts_key("c1"))
        print(f"score history {scores_bytes} B, alert history {alerts_bytes} B")
        assert scores_bytes <= SCORE_HISTORY_BUDGET_BYTES
        assert alerts_bytes <= ALERT_HISTORY_BUDGET_BYTES
