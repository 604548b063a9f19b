"""The end-of-day sweep on a real Redis: who is snapshotted, when silence is noticed, what it reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from features.config import FeatureConfig
from features.store import PositionedEvent, SourcePosition
from models.cold_start import ColdStartRules
from models.online import OnlineModel
from models.routing import VersionScorer
from pipeline.processor import TickProcessor
from policy.capacity_budget import CapacityConfig
from policy.config import PolicyConfig
from policy.playbook import load_playbook
from schemas.event_days import DAY_S, day_end
from schemas.events import CallDirection, CallEvent, LifecycleEvent, LifecycleKind, TopupEvent
from store.activity import ActivityIndex
from store.alert_states import AlertStateStore
from store.commit import CommitStore, GroupCommit
from store.features import RedisFeatureStore
from store.suppressions import SuppressionStore

pytestmark = pytest.mark.integration

DAY0 = 20_454  # 2026-01-01 as days since the epoch
START = datetime.fromtimestamp(DAY0 * DAY_S, UTC)
RULES = VersionScorer(ColdStartRules(), OnlineModel(), 0.0, "untrained")
# every yellow and red alert goes out (no operating point): these tests are about the sweep
ZONES_ALONE = PolicyConfig(capacity=CapacityConfig(base_share_30d=None))


def calls(customer_id: str, days: range, offset: int) -> list[PositionedEvent]:
    """Ten calls a day on each of ``days`` (days after START), at noon."""
    events = []
    for day in days:
        for index in range(10):
            events.append(
                PositionedEvent(
                    CallEvent(
                        event_id=f"{customer_id}-{day}-{index}",
                        customer_id=customer_id,
                        event_time=START + timedelta(days=day, hours=12, minutes=index),
                        direction=CallDirection.OUTGOING,
                        duration_s=120,
                        counterparty=f"p{index}",
                    ),
                    SourcePosition("calls", 0, offset + len(events)),
                )
            )
    return events


async def setup(client: aioredis.Redis, prefix: str) -> tuple[TickProcessor, CommitStore]:
    activity = ActivityIndex(client, prefix, "g")
    processor = TickProcessor(
        store=RedisFeatureStore(client, FeatureConfig(key_prefix=prefix)),
        alert_states=AlertStateStore(client, prefix),
        policy=ZONES_ALONE,
        playbook=load_playbook(),
        clock=lambda: datetime(2026, 12, 1, tzinfo=UTC),
        activity=activity,
        suppressions=SuppressionStore(client, prefix),
        silence_days=(3, 7),
        active_every_days=1,
    )
    return processor, CommitStore(client, prefix, "g")


async def apply_and_index(
    processor: TickProcessor, commits: CommitStore, events: list[PositionedEvent]
) -> None:
    """What the coordinator does per tick: apply, then record last-seen times (and churn)."""
    outcome = await processor.process(0, events, RULES)
    seen = {c: v.as_of.timestamp() for c, v in outcome.vectors.items() if not v.churned}
    gone = [c for c, v in outcome.vectors.items() if v.churned]
    await commits.commit(GroupCommit(0, seen=seen, gone=gone))


class TestDailySweep:
    async def test_active_customers_and_silence_thresholds_are_snapshotted_on_their_day(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """Seen on day 10: snapshot at day 10 (silent 0), at day 13 (silent 3), at day 17 (silent 7),
        never on the days between; features are aged to the end of the sweep's day."""
        processor, commits = await setup(redis_client, key_prefix)
        await apply_and_index(processor, commits, calls("quiet", range(0, 11), 0))
        expected = {DAY0 + 10: 0, DAY0 + 13: 3, DAY0 + 17: 7}
        found = {}
        for day in range(DAY0 + 10, DAY0 + 20):
            sweep = await processor.sweep(0, day, RULES)
            for snapshot in sweep.snapshots:
                assert snapshot.customer_id == "quiet"
                assert snapshot.event_time == day_end(day)
                found[day] = snapshot.silent_days
        assert found == expected
        later = await processor.sweep(0, DAY0 + 17, RULES)
        minutes = later.snapshots[0].features["minutes_out_7d"]
        fresh = (await processor.sweep(0, DAY0 + 10, RULES)).snapshots[0].features["minutes_out_7d"]
        assert minutes == pytest.approx(fresh * 2.718281828**-1, rel=1e-3)  # seven silent days, tau 7 d

    async def test_sweep_is_repeatable_and_ids_are_stable(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """Sweeping the same day twice gives the same snapshots (ids, scores, features)."""
        processor, commits = await setup(redis_client, key_prefix)
        events = calls("c1", range(0, 5), 0) + calls("c2", range(0, 2), 100)
        await apply_and_index(processor, commits, events)
        first = await processor.sweep(0, DAY0 + 4, RULES)
        again = await processor.sweep(0, DAY0 + 4, RULES)
        assert [s.model_dump() for s in first.snapshots] == [s.model_dump() for s in again.snapshots]
        assert {s.customer_id: s.silent_days for s in first.snapshots} == {"c1": 0, "c2": 3}

    async def test_active_customers_are_snapshotted_one_day_in_n(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """With N = 3, an active customer is snapshotted every third day only; a silent one at every
        threshold."""
        processor, commits = await setup(redis_client, key_prefix)
        processor = TickProcessor(
            store=RedisFeatureStore(redis_client, FeatureConfig(key_prefix=key_prefix)),
            alert_states=AlertStateStore(redis_client, key_prefix),
            policy=ZONES_ALONE,
            playbook=load_playbook(),
            clock=lambda: datetime(2026, 12, 1, tzinfo=UTC),
            activity=ActivityIndex(redis_client, key_prefix, "g"),
            suppressions=SuppressionStore(redis_client, key_prefix),
            silence_days=(3,),
            active_every_days=3,
        )
        kept = []
        for day in range(12):
            await apply_and_index(processor, commits, calls("busy", range(day, day + 1), 100 * day))
            kept.append(bool((await processor.sweep(0, DAY0 + day, RULES)).snapshots))
        assert sum(kept) == 4
        assert all(kept[i] == kept[i + 3] for i in range(9))
        silent = await processor.sweep(0, DAY0 + 14, RULES)
        assert silent.snapshots[0].silent_days == 3

    async def test_churned_customers_leave_the_sweep(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """A customer who ported out is neither snapshotted nor alerted again."""
        processor, commits = await setup(redis_client, key_prefix)
        events = calls("gone", range(0, 3), 0)
        events.append(
            PositionedEvent(
                LifecycleEvent(
                    event_id="po",
                    customer_id="gone",
                    event_time=START + timedelta(days=3),
                    kind=LifecycleKind.PORT_OUT,
                ),
                SourcePosition("lifecycle", 0, 0),
            )
        )
        events.append(
            PositionedEvent(
                TopupEvent(
                    event_id="t", customer_id="stays", event_time=START + timedelta(days=3), amount=20
                ),
                SourcePosition("topups", 0, 0),
            )
        )
        await apply_and_index(processor, commits, events)
        swept = set()
        for day in range(DAY0, DAY0 + 10):
            swept |= {snapshot.customer_id for snapshot in (await processor.sweep(0, day, RULES)).snapshots}
        assert swept == {"stays"}
