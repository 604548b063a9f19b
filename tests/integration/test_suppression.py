"""Suppressed customers: stored with a reason, their alerts held back, counted, managed from the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from features.config import FeatureConfig
from pipeline.processor import TickProcessor
from policy.alerts import sendable
from policy.capacity_budget import CapacityConfig
from policy.config import PolicyConfig
from policy.playbook import load_playbook
from policy.suppression import Suppression, SuppressionReason
from store.activity import ActivityIndex
from store.alert_states import AlertStateStore
from store.features import RedisFeatureStore
from store.suppressions import SuppressionStore
from tests.integration.test_daily_sweep import RULES, calls

pytestmark = pytest.mark.integration

ADDED = datetime(2026, 11, 30, 9, tzinfo=UTC)
# zones low enough that any customer with calls is red: every scored customer is an alert candidate
EVERYONE_ALERTS = PolicyConfig(
    green_min_score=0.001,
    yellow_min_score=0.002,
    red_min_score=0.003,
    min_history_days=0.0,
    capacity=CapacityConfig(base_share_30d=None),  # no operating point: only suppression holds alerts
)


def processor(client: aioredis.Redis, prefix: str) -> TickProcessor:
    return TickProcessor(
        store=RedisFeatureStore(client, FeatureConfig(key_prefix=prefix)),
        alert_states=AlertStateStore(client, prefix),
        policy=EVERYONE_ALERTS,
        playbook=load_playbook(),
        clock=lambda: datetime(2026, 12, 1, tzinfo=UTC),
        activity=ActivityIndex(client, prefix, "g"),
        suppressions=SuppressionStore(client, prefix),
    )


class TestSuppressionStore:
    async def test_added_customers_are_found_with_their_reason_until_removed(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """Add two, look three up, list, remove one."""
        store = SuppressionStore(redis_client, key_prefix)
        await store.add(Suppression("c1", SuppressionReason.DO_NOT_CONTACT, "asked by phone", ADDED))
        await store.add(Suppression("c2", SuppressionReason.HANDLED, "", ADDED))
        assert await store.reasons(["c1", "c2", "c3"]) == {
            "c1": SuppressionReason.DO_NOT_CONTACT,
            "c2": SuppressionReason.HANDLED,
        }
        assert [(s.customer_id, s.note, s.added_at) for s in await store.all()] == [
            ("c1", "asked by phone", ADDED),
            ("c2", "", ADDED),
        ]
        assert await store.remove("c1")
        assert not await store.remove("c1")
        assert await store.reasons(["c1", "c2"]) == {"c2": SuppressionReason.HANDLED}


class TestPolicyHoldsSuppressedAlerts:
    async def test_a_suppressed_customers_alert_is_held_and_counted_the_others_go_out(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """Both customers would be alerted; the suppressed one's decision is held with its reason,
        keeps its new alert state (its cooldown runs), and is counted, not sent."""
        await SuppressionStore(redis_client, key_prefix).add(
            Suppression("quiet", SuppressionReason.DO_NOT_CONTACT, "", ADDED)
        )
        outcome = await processor(redis_client, key_prefix).process(
            0, calls("quiet", range(3), 0) + calls("open", range(3), 1000), RULES
        )
        by_customer = {d.alert.customer_id: d for d in outcome.decisions}
        assert set(by_customer) == {"quiet", "open"}
        assert by_customer["quiet"].suppressed is SuppressionReason.DO_NOT_CONTACT
        assert by_customer["open"].suppressed is None
        alerts, held = sendable(outcome.decisions)
        assert [a.customer_id for a in alerts] == ["open"]
        assert held == {SuppressionReason.DO_NOT_CONTACT: 1}


class TestSuppressCommand:
    def test_add_list_remove_from_the_command_line(
        self, redis_url: str, key_prefix: str, tmp_path: Path
    ) -> None:
        """The team's commands against the deployment's Redis."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHURNWATCH_")}
        env.update(
            CHURNWATCH_REDIS_URL=redis_url,
            CHURNWATCH_FEATURES__KEY_PREFIX=key_prefix,
            COLUMNS="200",
            PYTHONPATH=str(Path(__file__).resolve().parents[2]),
        )

        def churnwatch(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-c", "from cli.main import main; main()", "suppress", *args],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=60,
            )

        added = churnwatch("add", "c9", "--reason", "handled", "--note", "case 41")
        assert added.returncode == 0, added.stderr
        listed = churnwatch("list")
        assert "c9" in listed.stdout
        assert "handled" in listed.stdout
        assert "case 41" in listed.stdout
        assert "removed" in churnwatch("remove", "c9").stdout
        assert "0 suppressed" in churnwatch("list").stdout
