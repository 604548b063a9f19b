"""One released tick: update features, score each touched customer once, decide alerts.

And once per event-time day of a partition group, the day's sweep: everyone active that
day and everyone whose silence just reached a threshold is scored with features aged to
the day's end, kept as a snapshot, and the silent ones can raise alerts.

Plain async Python over the feature store, the scorer and the alert policy (no Kafka),
so it is tested directly against a real Redis.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from features.aging import aged
from features.store import FeatureStore, PositionedEvent
from features.vector import FeatureVector
from models.labels import PendingSnapshot, kept_day, snapshot_id
from models.online import inputs_from_stored, stored_inputs
from models.routing import VersionScorer
from models.scorer import Score
from policy.alert_state import AlertState
from policy.alerts import Decision, decide
from policy.capacity import choose, close_day
from policy.capacity_state import ALL_TIERS, Candidate, CapacityState, day_summary
from policy.config import PolicyConfig
from policy.playbook import Playbook
from policy.suppression import SuppressionReason
from policy.zones import zone_for
from schemas.event_days import DAY_S, day_end, day_of
from schemas.events import CHURN_KINDS, LifecycleEvent
from schemas.outputs import CapacityDay, Prediction, Zone
from store.activity import ActivityIndex
from store.alert_states import AlertStateStore
from store.capacity import CapacityStore, CapacityWrite
from store.suppressions import SuppressionStore

Clock = Callable[[], datetime]
FEATURE_DIGITS = 6  # significant digits kept of each snapshot feature
HISTORY_TOLERANCE_DAYS = 1e-6
"""Customers first seen at midnight have N - 1e-11 days of history at a day's end, and decayed
state differs between runs in its last bits: without this, whether such a snapshot is learned
from flipped between a live run and a replay (70 against 32 examples on one day in testing)."""


_FEATURE_FORMAT = f".{FEATURE_DIGITS}g"
_EXACT_INTEGER_BELOW = 10.0**FEATURE_DIGITS


def significant(value: float) -> float:
    """``value`` rounded to ``FEATURE_DIGITS`` significant digits, as ``float(f"{value:.6g}")``.

    Whole numbers of at most that many digits (counts) are already exact and skip the
    formatting, which is most of a snapshot's building cost; the spec is built once.

    >>> significant(28.859412), significant(17.0), significant(1234567.0), significant(-0.000123456789)
    (28.8594, 17.0, 1234570.0, -0.000123457)
    """
    if value.is_integer() and -_EXACT_INTEGER_BELOW < value < _EXACT_INTEGER_BELOW:
        return value
    return float(format(value, _FEATURE_FORMAT))


def prediction(vector: FeatureVector, score: Score, day: int, silent_days: int) -> Prediction:
    """The snapshot record: non-zero features rounded to 6 significant digits (smaller records)."""
    return Prediction(
        snapshot_id=snapshot_id(vector.customer_id, day),
        customer_id=vector.customer_id,
        event_time=vector.as_of,
        features={name: significant(value) for name, value in vector.numeric().items() if value},
        score=score.value,
        model_version=score.model_version,
        score_source=score.source,
        silent_days=silent_days,
    )


def churn_times(events: Sequence[PositionedEvent]) -> dict[str, list[float]]:
    """The tick's churn events (port-out, deactivation): customer -> event times in epoch seconds."""
    churns: dict[str, list[float]] = {}
    for positioned in events:
        event = positioned.event
        if isinstance(event, LifecycleEvent) and event.kind in CHURN_KINDS:
            churns.setdefault(event.customer_id, []).append(event.event_time.timestamp())
    return churns


def _with_suppressions(decisions: list[Decision], held: Mapping[str, SuppressionReason]) -> list[Decision]:
    """The decisions, those of customers the retention team holds marked with why."""
    if not held:
        return decisions
    return [
        replace(decision, suppressed=held[decision.alert.customer_id])
        if decision.alert.customer_id in held
        else decision
        for decision in decisions
    ]


@dataclass
class TickOutcome:
    """What a tick produced; nothing is published or recorded yet."""

    vectors: dict[str, FeatureVector] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)
    duplicates: tuple[PositionedEvent, ...] = ()
    applied: int = 0
    replayed: int = 0
    churns: dict[str, list[float]] = field(default_factory=dict)  # customer -> churn event times (s)
    capacity: CapacityState | None = None  # the group's capacity state once the tick is recorded


@dataclass
class SweepOutcome:
    """The end of one event-time day for a partition group: snapshots and the silent's alerts."""

    day: int
    model_version: str = ""
    snapshots: list[Prediction] = field(default_factory=list)
    pending: list[PendingSnapshot] = field(default_factory=list)  # the snapshots, kept for labels
    decisions: list[Decision] = field(default_factory=list)
    capacity: CapacityState | None = None  # the next day's capacity state once the sweep is recorded
    capacity_write: CapacityWrite | None = None
    capacity_day: CapacityDay | None = None  # the closed day's summary


class TickProcessor:
    """Features, scores and alert decisions for one tick of one partition group.

    Alert states and capacity states are cached per partition group (only the owner of a
    group writes them); ``forget`` drops a group's caches when it is revoked. With a daily
    capacity set, ``capacity`` reads the groups' capacity states and ``partitions`` is the
    number of partition groups the deployment's budget is split across.
    """

    def __init__(
        self,
        store: FeatureStore,
        alert_states: AlertStateStore,
        policy: PolicyConfig,
        playbook: Playbook,
        clock: Clock,
        activity: ActivityIndex,
        suppressions: SuppressionStore,
        silence_days: Sequence[int] = (3, 7, 14, 21, 30),
        active_every_days: int = 3,
        learn_min_history_days: float = 30.0,
        capacity: CapacityStore | None = None,
        partitions: int = 1,
    ) -> None:
        self._store = store
        self._alert_states = alert_states
        self._policy = policy
        self._playbook = playbook
        self._clock = clock
        self._state_cache: dict[int, dict[str, AlertState]] = {}
        self.activity = activity
        self._suppressions = suppressions
        self._silence_days = tuple(sorted(set(silence_days)))
        self._active_every_days = active_every_days
        self._learn_min_history_days = learn_min_history_days
        self._capacity_config = policy.capacity
        if self._capacity_config.enabled and capacity is None:
            raise ValueError("a daily capacity is set but no capacity store was given")
        self._capacity = capacity if self._capacity_config.enabled else None
        self._capacity_cache: dict[int, CapacityState] = {}
        self._partitions = partitions

    async def process(
        self, partition: int, events: Sequence[PositionedEvent], scorer: VersionScorer
    ) -> TickOutcome:
        """Apply the tick's events, then score every customer it touched, once."""
        return (await self.process_run(partition, [events], scorer))[0]

    async def process_run(
        self, partition: int, ticks: Sequence[Sequence[PositionedEvent]], scorer: VersionScorer
    ) -> list[TickOutcome]:
        """Consecutive ticks of one group in one event-time day, with the outcomes of running them
        one by one: one feature round trip, then each tick's touched customers scored with their
        state right after that tick and decided in tick order, alert and capacity states carried
        from tick to tick as if each tick had been recorded before the next.

        Each outcome's ``capacity`` is the state after its tick (None: unchanged by it).
        """
        results = await self._store.apply_ticks(ticks)
        outcomes = [
            TickOutcome(
                vectors=result.vectors,
                duplicates=result.duplicates,
                applied=result.applied,
                replayed=result.replayed,
                churns=churn_times(events),
            )
            for events, result in zip(ticks, results, strict=True)
        ]
        candidates_per_tick = self._candidates([result.vectors.values() for result in results], scorer)
        decided = [vector.customer_id for candidates in candidates_per_tick for vector, _ in candidates]
        if not decided:
            return outcomes
        states = await self._states(partition, list(dict.fromkeys(decided)))
        created_at = self._clock()
        decisions_per_tick = [
            self._decisions(candidates, states, created_at) for candidates in candidates_per_tick
        ]
        held = await self._suppressions.reasons(
            [decision.alert.customer_id for decisions in decisions_per_tick for decision in decisions]
        )
        capacity: CapacityState | None = None
        for outcome, decisions in zip(outcomes, decisions_per_tick, strict=True):
            if decisions:
                at = max(decision.alert.event_time for decision in decisions)
                outcome.decisions, outcome.capacity = await self._within_capacity(
                    partition, _with_suppressions(decisions, held), at, False, capacity
                )
                if outcome.capacity is not None:
                    capacity = outcome.capacity
        return outcomes

    def _candidates(
        self, vectors_per_tick: Sequence[Iterable[FeatureVector]], scorer: VersionScorer
    ) -> list[list[tuple[FeatureVector, Score]]]:
        """Per tick, the touched customers whose score puts them in an alerting zone, with
        their scores; the run's customers are scored in one batch (``score_many`` gives
        each the score it gets alone).

        A history too short for any zone but white settles the zone without a score, so
        those customers are not scored when white does not alert (most, early in a replay).
        """
        policy = self._policy
        alert_zones = policy.alert_zones
        white_alerts = Zone.WHITE in alert_zones
        min_history_days = policy.min_history_days
        scored: list[FeatureVector] = []
        ends: list[int] = []  # per tick, the end of its vectors in ``scored``
        for vectors in vectors_per_tick:
            scored.extend(
                vector
                for vector in vectors
                if not vector.churned and (white_alerts or vector.history_days >= min_history_days)
            )
            ends.append(len(scored))
        scores = scorer.score_many(scored) if scored else []
        candidates_per_tick: list[list[tuple[FeatureVector, Score]]] = []
        start = 0
        for end in ends:
            candidates_per_tick.append(
                [
                    (vector, score)
                    for vector, score in zip(scored[start:end], scores[start:end], strict=True)
                    if zone_for(score.value, vector, policy) in alert_zones
                ]
            )
            start = end
        return candidates_per_tick

    async def sweep(self, partition: int, day: int, scorer: VersionScorer) -> SweepOutcome:
        """The end of event-time ``day``: snapshot everyone seen that day and everyone whose silence
        reached a threshold at it (features aged to the day's last microsecond); the silent may alert.

        Runs before any event of a later day is applied, so it reads exactly the day's state.
        """
        start_s = day * DAY_S
        ranges = [(start_s, start_s + DAY_S)]
        ranges.extend((start_s - days * DAY_S, start_s - days * DAY_S + DAY_S) for days in self._silence_days)
        found = await self.activity.seen_between(partition, ranges)
        every = self._active_every_days
        silent_for = {c: 0 for c in found[0] if kept_day(c, day, 0, every)}
        for days, customer_ids in zip(self._silence_days, found[1:], strict=True):
            silent_for.update(dict.fromkeys(customer_ids, days))
        vectors = await self._store.read_many(sorted(silent_for))
        as_of = day_end(day)
        outcome = SweepOutcome(day, scorer.model_version)
        candidates = []
        for customer_id in sorted(vectors):
            vector = aged(vectors[customer_id], as_of)
            if vector.churned:
                continue
            stored = stored_inputs(vector)
            scored = scorer.snapshot(vector, inputs_from_stored(stored))
            score = scored.used
            silent_days = silent_for[customer_id]
            outcome.snapshots.append(prediction(vector, score, day, silent_days))
            if vector.history_days + HISTORY_TOLERANCE_DAYS >= self._learn_min_history_days:
                outcome.pending.append(
                    PendingSnapshot(
                        customer_id=customer_id,
                        day=day,
                        silent_days=silent_days,
                        inputs=stored,
                        score=score.value,
                        score_source=score.source,
                        model_score=scored.model_score,
                        rules_score=scored.rules_score,
                    )
                )
            silent = silent_for[customer_id] > 0
            if silent and zone_for(score.value, vector, self._policy) in self._policy.alert_zones:
                candidates.append((vector, score))
        decisions = await self._decide(partition, candidates)
        outcome.decisions, capacity = await self._within_capacity(partition, decisions, as_of, True)
        if self._capacity is not None:
            config = self._capacity_config
            before = capacity or await self._capacity_state(partition)
            base = None
            if config.by_base_share:  # the active base the next day's budget is a share of
                base = await self.activity.count_seen(partition, as_of.timestamp())
            state, lanes = close_day(
                before,
                day,
                config.budgets(partition, self._partitions, day, before.base, before.carry),
                config.history_days,
                base,
                config.carry_after(before.base, before.carry, before.lane(ALL_TIERS).today.sent),
            )
            outcome.capacity = state
            outcome.capacity_write = CapacityWrite.after_close(state, day, self._capacity_config.history_days)
            outcome.capacity_day = day_summary(partition, self._partitions, day, lanes)
        return outcome

    async def _within_capacity(
        self,
        partition: int,
        decisions: list[Decision],
        at: datetime,
        last_of_day: bool,
        before: CapacityState | None = None,
    ) -> tuple[list[Decision], CapacityState | None]:
        """Mark the decisions the day's capacity holds back; the capacity state after them.

        Candidates are the alerts that would go out (suppressed ones are held anyway);
        held-back decisions keep their new alert state, as suppressed ones do. No capacity
        set, or no candidate: the decisions unchanged and no new state. ``before``: the
        state an earlier tick of the same run left (None: the recorded one).
        """
        config = self._capacity_config
        if self._capacity is None:
            return decisions, None
        candidates = []
        for decision in decisions:
            lane = config.lane(decision.alert.value_tier)
            if decision.suppressed is None and lane is not None:
                event_day = day_of(decision.alert.event_time)
                candidates.append(
                    Candidate(decision.alert.alert_id, decision.alert.priority, lane, event_day)
                )
        if not candidates:
            return decisions, None
        state = before if before is not None else await self._capacity_state(partition)
        day = state.day if state.day is not None else day_of(at)
        budgets = config.budgets(partition, self._partitions, day, state.base, state.carry)
        state, sent = choose(state, budgets, candidates, at, last_of_day)
        held = {candidate.key for candidate in candidates} - sent
        return [
            replace(decision, over_capacity=True) if decision.alert.alert_id in held else decision
            for decision in decisions
        ], state

    async def _capacity_state(self, partition: int) -> CapacityState:
        cached = self._capacity_cache.get(partition)
        if cached is None:
            cached = CapacityState.empty() if self._capacity is None else await self._capacity.load(partition)
            self._capacity_cache[partition] = cached
        return cached

    def remember_capacity(self, partition: int, state: CapacityState | None) -> None:
        """Cache a group's capacity state once it is recorded in Redis."""
        if state is not None:
            self._capacity_cache[partition] = state

    async def _decide(
        self, partition: int, candidates: Sequence[tuple[FeatureVector, Score]]
    ) -> list[Decision]:
        """Alert decisions in customer order, against the cached alert states."""
        if not candidates:
            return []
        states = await self._states(partition, [vector.customer_id for vector, _ in candidates])
        decisions = self._decisions(candidates, states, self._clock())
        held = await self._suppressions.reasons([decision.alert.customer_id for decision in decisions])
        return _with_suppressions(decisions, held)

    def _decisions(
        self,
        candidates: Sequence[tuple[FeatureVector, Score]],
        states: dict[str, AlertState],
        created_at: datetime,
    ) -> list[Decision]:
        """Alert decisions in customer order; ``states`` then holds each decided customer's new state."""
        decisions = []
        for vector, score in sorted(candidates, key=lambda pair: pair[0].customer_id):
            decision = decide(
                vector, score, states[vector.customer_id], self._policy, self._playbook, created_at
            )
            if decision is not None:
                decisions.append(decision)
                states[vector.customer_id] = decision.state
        return decisions

    def remember(self, partition: int, states: Mapping[str, AlertState]) -> None:
        """Cache states once they are recorded in Redis."""
        self._state_cache.setdefault(partition, {}).update(states)

    def forget(self, partition: int) -> None:
        self._state_cache.pop(partition, None)
        self._capacity_cache.pop(partition, None)

    async def _states(self, partition: int, customer_ids: Sequence[str]) -> dict[str, AlertState]:
        cache = self._state_cache.setdefault(partition, {})
        missing = [customer_id for customer_id in customer_ids if customer_id not in cache]
        if missing:
            stored = await self._alert_states.get_many(missing)
            for customer_id in missing:
                cache[customer_id] = stored.get(customer_id, AlertState.initial())
        return {customer_id: cache[customer_id] for customer_id in customer_ids}
