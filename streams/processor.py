"""One released tick: update features, score each touched customer once, decide alerts.

Plain async Python over the feature store, the scorer and the alert policy (no Kafka),
so it is tested directly against a real Redis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from features.store import FeatureStore, PositionedEvent
from features.vector import FeatureVector
from models.scorer import Scorer
from policy.alert_state import AlertState
from policy.alert_state_store import AlertStateStore
from policy.alerts import Decision, decide
from policy.config import PolicyConfig
from policy.playbook import Playbook
from policy.zones import zone_for

Clock = Callable[[], datetime]


@dataclass
class TickOutcome:
    """What a tick produced; nothing is published or recorded yet."""

    vectors: dict[str, FeatureVector] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)
    duplicates: tuple[PositionedEvent, ...] = ()
    applied: int = 0
    replayed: int = 0


class TickProcessor:
    """Features, scores and alert decisions for one tick of one partition group.

    Alert states are cached per partition group (only the owner of a group writes its
    customers' states); ``forget`` drops a group's cache when it is revoked.
    """

    def __init__(
        self,
        store: FeatureStore,
        scorer: Scorer,
        alert_states: AlertStateStore,
        policy: PolicyConfig,
        playbook: Playbook,
        clock: Clock,
    ) -> None:
        self._store = store
        self.scorer = scorer
        self._alert_states = alert_states
        self._policy = policy
        self._playbook = playbook
        self._clock = clock
        self._state_cache: dict[int, dict[str, AlertState]] = {}

    async def process(self, partition: int, events: Sequence[PositionedEvent]) -> TickOutcome:
        """Apply the tick's events, then score every customer it touched, once."""
        result = await self._store.apply(events)
        outcome = TickOutcome(
            vectors=result.vectors,
            duplicates=result.duplicates,
            applied=result.applied,
            replayed=result.replayed,
        )
        candidates = []
        for vector in result.vectors.values():
            if vector.churned:
                continue
            score = self.scorer.score(vector)
            if zone_for(score.value, vector, self._policy) in self._policy.alert_zones:
                candidates.append((vector, score))
        if not candidates:
            return outcome
        states = await self._states(partition, [vector.customer_id for vector, _ in candidates])
        created_at = self._clock()
        for vector, score in sorted(candidates, key=lambda pair: pair[0].customer_id):
            decision = decide(
                vector, score, states[vector.customer_id], self._policy, self._playbook, created_at
            )
            if decision is not None:
                outcome.decisions.append(decision)
        return outcome

    def remember(self, partition: int, states: Mapping[str, AlertState]) -> None:
        """Cache states once they are recorded in Redis."""
        self._state_cache.setdefault(partition, {}).update(states)

    def forget(self, partition: int) -> None:
        self._state_cache.pop(partition, None)

    async def _states(self, partition: int, customer_ids: Sequence[str]) -> dict[str, AlertState]:
        cache = self._state_cache.setdefault(partition, {})
        missing = [customer_id for customer_id in customer_ids if customer_id not in cache]
        if missing:
            stored = await self._alert_states.get_many(missing)
            for customer_id in missing:
                cache[customer_id] = stored.get(customer_id, AlertState.initial())
        return {customer_id: cache[customer_id] for customer_id in customer_ids}
