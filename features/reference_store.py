"""The executable specification of the feature store, plus a brute-force oracle.

``InMemoryFeatureStore`` applies the same records with the same rules as the Redis
store, in pure Python (``features.state``). ``brute_force_vector`` recomputes a vector
straight from the full list of deliveries with the documented formulas and no
incremental state, so tests can hold both stores to it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from features.config import FeatureConfig
from features.contacts import (
    BITS,
    BUCKET_SLOTS,
    bucket_of,
    contact_bit,
    linear_count,
)
from features.decay import DAY_US, MIN_TREND_HISTORY_DAYS, TREND_MAX, decay_weight
from features.records import encode, epoch_us, fingerprint, plan_code
from features.state import (
    APPLIED,
    DUPLICATE,
    REPLAYED_DUPLICATE,
    CustomerState,
    share,
)
from features.store import ApplyResult, PositionedEvent
from features.vector import FeatureVector
from schemas.events import (
    CHURN_KINDS,
    CallDirection,
    CallEvent,
    ComplaintCategory,
    ComplaintEvent,
    CounterpartyNetwork,
    InputEvent,
    LifecycleEvent,
    LifecycleKind,
    TopupChannel,
    TopupEvent,
)


class InMemoryFeatureStore:
    """``FeatureStore`` in process memory: same results as ``RedisFeatureStore``."""

    def __init__(self, config: FeatureConfig | None = None) -> None:
        self._ring_size = (config or FeatureConfig()).duplicate_ring_size
        self._states: dict[str, CustomerState] = {}

    async def apply(self, events: Sequence[PositionedEvent]) -> ApplyResult:
        """Apply a batch in order; idempotent per source position and per ``event_id``."""
        applied = replayed = 0
        duplicates: list[PositionedEvent] = []
        touched: dict[str, CustomerState] = {}
        for positioned in events:
            customer_id = positioned.event.customer_id
            state = self._states.get(customer_id)
            if state is None:
                state = self._states[customer_id] = CustomerState()
            touched[customer_id] = state
            outcome = state.apply(encode(positioned), self._ring_size)
            if outcome == APPLIED:
                applied += 1
            elif outcome == DUPLICATE:
                duplicates.append(positioned)
            else:
                replayed += 1
                if outcome == REPLAYED_DUPLICATE:
                    duplicates.append(positioned)
        vectors = {customer_id: state.vector(customer_id) for customer_id, state in touched.items()}
        return ApplyResult(
            vectors=vectors, applied=applied, replayed=replayed, duplicates=tuple(duplicates)
        )

    async def apply_ticks(self, ticks: Sequence[Sequence[PositionedEvent]]) -> list[ApplyResult]:
        """Apply consecutive batches in order; one result per batch, as ``apply`` gives it."""
        return [await self.apply(events) for events in ticks]

    async def read(self, customer_id: str) -> FeatureVector | None:
        """The customer's vector as of their latest event, or None if never seen."""
        state = self._states.get(customer_id)
        return None if state is None else state.vector(customer_id)

    async def read_many(self, customer_ids: Sequence[str]) -> dict[str, FeatureVector]:
        """Vectors of the customers ever seen among these."""
        return {
            customer_id: self._states[customer_id].vector(customer_id)
            for customer_id in customer_ids
            if customer_id in self._states
        }


@dataclass(frozen=True, slots=True)
class Deliveries:
    """How the oracle classifies a delivery sequence under ideal (unbounded) deduplication."""

    applied: tuple[InputEvent, ...]
    replayed: int
    duplicates: tuple[PositionedEvent, ...]


def classify(deliveries: Iterable[PositionedEvent]) -> Deliveries:
    """Split deliveries into applied events, replays and duplicates.

    Per customer: a position at or below the last one delivered for its (topic,
    partition) is a replay; a new position whose event type and ``event_id`` were applied
    before is a duplicate; a replay of a position that was a duplicate is reported as a
    duplicate again.
    """
    last_offset: dict[tuple[str, str, int], int] = {}
    first_position: dict[tuple[str, str, str], tuple[str, int, int]] = {}
    applied: list[InputEvent] = []
    duplicates: list[PositionedEvent] = []
    replayed = 0
    for positioned in deliveries:
        position = positioned.position
        where = (position.topic, position.partition, position.offset)
        customer_id = positioned.event.customer_id
        event_id = (customer_id, positioned.event.type, positioned.event.event_id)
        stream = (customer_id, position.topic, position.partition)
        if position.offset <= last_offset.get(stream, -1):
            replayed += 1
            if first_position.get(event_id, where) != where:
                duplicates.append(positioned)
            continue
        last_offset[stream] = position.offset
        if event_id in first_position:
            duplicates.append(positioned)
            continue
        first_position[event_id] = where
        applied.append(positioned.event)
    return Deliveries(tuple(applied), replayed, tuple(duplicates))


def brute_force_vector(customer_id: str, events: Sequence[InputEvent]) -> FeatureVector:
    """The vector of ``customer_id`` from every applied event, by the written formulas."""
    mine = [event for event in events if event.customer_id == customer_id]
    times = [epoch_us(event.event_time) for event in mine]
    as_of = max(times)

    def decayed(tau_days: float, pairs: Iterable[tuple[InputEvent, float]]) -> float:
        return math.fsum(
            value * decay_weight(as_of - epoch_us(event.event_time), tau_days)
            for event, value in pairs
        )

    calls = [event for event in mine if isinstance(event, CallEvent)]
    outgoing = [call for call in calls if call.direction is CallDirection.OUTGOING]
    incoming = [call for call in calls if call.direction is CallDirection.INCOMING]
    topups = [event for event in mine if isinstance(event, TopupEvent)]
    complaints = [event for event in mine if isinstance(event, ComplaintEvent)]
    lifecycle = [event for event in mine if isinstance(event, LifecycleEvent)]

    def count(tau: float, chosen: Sequence[InputEvent]) -> float:
        return decayed(tau, ((event, 1.0) for event in chosen))

    def minutes(tau: float, chosen: Sequence[CallEvent]) -> float:
        return decayed(tau, ((call, call.duration_s / 60.0) for call in chosen))

    def amount(tau: float) -> float:
        return decayed(tau, ((topup, topup.amount) for topup in topups))

    def complaints_of(category: ComplaintCategory) -> float:
        return count(30, [c for c in complaints if c.category is category])

    topup_times = sorted(epoch_us(topup.event_time) for topup in topups)
    complaint_times = [epoch_us(complaint.event_time) for complaint in complaints]
    activations = [
        epoch_us(event.event_time) for event in lifecycle if event.kind is LifecycleKind.ACTIVATED
    ] + [epoch_us(event.activation_time()) for event in lifecycle if event.activated_on is not None]

    def latest(chosen: Sequence[LifecycleEvent]) -> LifecycleEvent | None:
        return max(
            chosen, key=lambda event: (epoch_us(event.event_time), fingerprint(event.type, event.event_id)),
            default=None,
        )

    latest_lifecycle = latest([event for event in lifecycle if event.kind is not LifecycleKind.PROFILE])
    latest_payment = latest([event for event in lifecycle if event.payment_type is not None])
    latest_plan = latest([event for event in lifecycle if event.plan is not None])
    calls_30d, topups_90d = count(30, calls), count(90, topups)
    minutes_30d = minutes(30, calls)

    def calls_in_band(hours: range) -> float:
        return count(30, [call for call in calls if call.event_time.hour in hours])

    def topups_by(channels: set[TopupChannel]) -> float:
        return share(count(90, [topup for topup in topups if topup.channel in channels]), topups_90d)

    def call_spend(tau: float) -> float:
        return decayed(tau, ((call, call.charge) for call in calls))

    night, evening = share(calls_in_band(range(7)), calls_30d), share(calls_in_band(range(18, 24)), calls_30d)
    off_net = [c for c in outgoing if c.counterparty_network is not CounterpartyNetwork.ON_NET]
    history_days = (as_of - min(times)) / DAY_US
    return FeatureVector(
        customer_id=customer_id,
        as_of=max(event.event_time for event in mine),
        history_days=history_days,
        calls_out_7d=count(7, outgoing),
        calls_out_30d=count(30, outgoing),
        calls_out_90d=count(90, outgoing),
        calls_in_7d=count(7, incoming),
        calls_in_30d=count(30, incoming),
        calls_in_90d=count(90, incoming),
        minutes_out_7d=minutes(7, outgoing),
        minutes_out_30d=minutes(30, outgoing),
        minutes_out_90d=minutes(90, outgoing),
        minutes_in_7d=minutes(7, incoming),
        minutes_in_30d=minutes(30, incoming),
        minutes_in_90d=minutes(90, incoming),
        dropped_call_share_30d=share(count(30, [c for c in calls if c.dropped]), count(30, calls)),
        off_net_share_30d=share(minutes(30, off_net), minutes(30, outgoing)),
        distinct_contacts_30d=_distinct_contacts(calls, as_of),
        usage_trend=_trend(minutes(30, calls), minutes(90, calls), history_days),
        topup_amount_30d=amount(30),
        topup_amount_90d=amount(90),
        topup_count_30d=count(30, topups),
        topup_count_90d=count(90, topups),
        days_since_last_topup=(as_of - topup_times[-1]) / DAY_US if topup_times else None,
        usual_topup_gap_days=(
            (topup_times[-1] - topup_times[0]) / DAY_US / (len(topup_times) - 1)
            if len(topup_times) >= 2
            else None
        ),
        topup_trend=_trend(amount(30), amount(90), history_days),
        complaints_30d=count(30, complaints),
        complaints_90d=count(90, complaints),
        complaints_network_30d=complaints_of(ComplaintCategory.NETWORK),
        complaints_billing_30d=complaints_of(ComplaintCategory.BILLING),
        complaints_service_30d=complaints_of(ComplaintCategory.SERVICE),
        complaints_price_30d=complaints_of(ComplaintCategory.PRICE),
        complaints_technical_30d=complaints_of(ComplaintCategory.TECHNICAL),
        complaints_other_30d=complaints_of(ComplaintCategory.OTHER),
        complaint_severity_30d=decayed(30, ((c, float(c.severity)) for c in complaints)),
        unresolved_complaints_30d=count(30, [c for c in complaints if not c.resolved]),
        days_since_last_complaint=(
            (as_of - max(complaint_times)) / DAY_US if complaint_times else None
        ),
        tenure_days=(as_of - min(activations)) / DAY_US if activations else None,
        payment_type=latest_payment.payment_type if latest_payment else None,
        churned=latest_lifecycle is not None and latest_lifecycle.kind in CHURN_KINDS,
        plan_code=plan_code(latest_plan.plan) if latest_plan and latest_plan.plan else None,
        commitment_months=_stated(latest_plan.commitment_months if latest_plan else None),
        monthly_fee=_stated(latest_plan.monthly_fee if latest_plan else None),
        bundled_services=_stated(latest_plan.bundled_services if latest_plan else None),
        topup_automatic_share_90d=topups_by({TopupChannel.AUTO, TopupChannel.BANK}),
        topup_digital_share_90d=topups_by({TopupChannel.ONLINE, TopupChannel.APP}),
        topup_manual_share_90d=topups_by({TopupChannel.RETAIL, TopupChannel.VOUCHER}),
        average_topup_90d=amount(90) / topups_90d if topups_90d > 0.0 else 0.0,
        call_spend_30d=call_spend(30),
        call_spend_90d=call_spend(90),
        night_call_share_30d=night,
        day_call_share_30d=max(1.0 - night - evening, 0.0) if calls_30d > 0.0 else 0.0,
        evening_call_share_30d=evening,
        international_share_30d=share(
            minutes(30, [c for c in calls if c.counterparty_network is CounterpartyNetwork.INTERNATIONAL]),
            minutes_30d,
        ),
        roaming_share_30d=share(minutes(30, [c for c in calls if c.roaming]), minutes_30d),
        revenue_90d=amount(90),
    )


def _trend(s30: float, s90: float, history_days: float) -> float:
    """The trend straight from its definition in docs/features.md.

    A steady rate ``r`` seen for ``T`` days puts ``r * integral_0^T exp(-a / tau) da
    = r * tau * (1 - exp(-T / tau))`` into a ``tau``-day sum; the earlier period is what
    the 90-day sum holds beyond the 30-day one.
    """
    if history_days < MIN_TREND_HISTORY_DAYS:
        return 0.0
    weight_30 = 30.0 * (1.0 - math.exp(-history_days / 30.0))
    weight_90 = 90.0 * (1.0 - math.exp(-history_days / 90.0))
    recent_rate = s30 / weight_30
    earlier_rate = max(0.0, s90 - s30) / (weight_90 - weight_30)
    if earlier_rate == 0.0:
        return 0.0 if recent_rate == 0.0 else TREND_MAX
    return max(-1.0, min(TREND_MAX, recent_rate / earlier_rate - 1.0))


def _distinct_contacts(calls: Sequence[CallEvent], as_of_us: int) -> float:
    """The sketch's estimate from the calls in the 4 buckets ending at ``as_of_us``'s bucket."""
    newest = bucket_of(as_of_us)
    union = 0
    for call in calls:
        if bucket_of(epoch_us(call.event_time)) > newest - BUCKET_SLOTS:
            union |= 1 << contact_bit(call.counterparty)
    return linear_count(BITS - union.bit_count())


def _stated(value: float | None) -> float | None:
    """A plan fact as the vector holds it: a float, or None when the record did not state it."""
    return None if value is None else float(value)
