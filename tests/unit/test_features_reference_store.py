"""The in-memory feature store against the brute-force oracle; strategies shared with the Redis tests."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.config import FeatureConfig
from features.reference_store import InMemoryFeatureStore, brute_force_vector, classify
from features.store import ApplyResult, PositionedEvent, SourcePosition
from features.vector import FeatureVector
from schemas.events import (
    CallDirection,
    CallEvent,
    ComplaintCategory,
    ComplaintEvent,
    CounterpartyNetwork,
    InputEvent,
    LifecycleEvent,
    LifecycleKind,
    PaymentType,
    TopupChannel,
    TopupEvent,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
LATENESS_HOURS = 72
CUSTOMERS = ("c0", "c1", "c{2}")
TOPICS = {"call": "t.calls", "topup": "t.topups", "complaint": "t.complaints", "lifecycle": "t.life"}
RING_FOR_TESTS = FeatureConfig(duplicate_ring_size=40)
"""Larger than any test customer's history, so duplicate detection is exact (as in the oracle)."""


@st.composite
def input_events(draw: st.DrawFn, event_id: str, hour: int) -> InputEvent:
    """One event of any type for one of ``CUSTOMERS`` at ``hour`` hours after ``START``."""
    offset = timezone(timedelta(hours=draw(st.sampled_from([0, 0, 8, -5]))))
    moment = START + timedelta(hours=hour, seconds=draw(st.sampled_from([0, 0, 17.5])))
    base = {
        "event_id": event_id,
        "customer_id": draw(st.sampled_from(CUSTOMERS)),
        "event_time": moment.astimezone(offset),  # the local hour decides the time-of-day band
    }
    kind = draw(st.sampled_from(["call", "call", "call", "topup", "complaint", "lifecycle"]))
    if kind == "call":
        return CallEvent(
            **base,
            direction=draw(st.sampled_from(list(CallDirection))),
            duration_s=draw(st.floats(0, 3600, allow_nan=False)),
            counterparty=f"p{draw(st.integers(0, 40))}",
            counterparty_network=draw(st.sampled_from(list(CounterpartyNetwork))),
            dropped=draw(st.booleans()),
            roaming=draw(st.booleans()),
            charge=draw(st.sampled_from([0.0, 0.25, 3.5])),
        )
    if kind == "topup":
        return TopupEvent(
            **base,
            amount=draw(st.floats(0.01, 500, allow_nan=False)),
            channel=draw(st.sampled_from([None, *TopupChannel])),
        )
    if kind == "complaint":
        return ComplaintEvent(
            **base,
            category=draw(st.sampled_from(list(ComplaintCategory))),
            severity=draw(st.integers(1, 5)),
            resolved=draw(st.booleans()),
        )
    activated_days = draw(st.sampled_from([None, 0, 30, 900]))
    return LifecycleEvent(
        **base,
        kind=draw(st.sampled_from(list(LifecycleKind))),
        payment_type=draw(st.sampled_from([None, *PaymentType])),
        plan=draw(st.sampled_from([None, "basic", "family-xl"])),
        activated_on=None
        if activated_days is None
        else (base["event_time"] - timedelta(days=activated_days)).isoformat(),
        commitment_months=draw(st.sampled_from([None, 0, 24])),
        monthly_fee=draw(st.sampled_from([None, 0.0, 29.9])),
        bundled_services=draw(st.sampled_from([None, 0, 2])),
    )


def topic_of(event: InputEvent) -> str:
    return TOPICS[event.type]


def partition_of(customer_id: str) -> int:
    """All of a customer's events in a topic share one partition (Kafka keying)."""
    return sum(customer_id.encode()) % 2


@st.composite
def productions(draw: st.DrawFn, max_events: int = 24) -> list[PositionedEvent]:
    """Events as produced: event times shuffled within the lateness bound, some event ids
    produced again at a later position, offsets increasing per (topic, partition)."""
    count = draw(st.integers(1, max_events))
    produced: list[InputEvent] = []
    clock_hours = 0
    for index in range(count):
        if produced and draw(st.integers(0, 5)) == 0:
            produced.append(draw(st.sampled_from(produced)))
            continue
        clock_hours += draw(st.one_of(st.sampled_from([0, 24]), st.integers(0, 24 * 20)))
        late_hours = draw(st.one_of(st.just(0), st.integers(0, LATENESS_HOURS)))
        hour = max(clock_hours - late_hours, 0)
        produced.append(draw(input_events(f"e{index}", hour)))
    offsets: dict[tuple[str, int], int] = {}
    positioned = []
    for event in produced:
        stream = (topic_of(event), partition_of(event.customer_id))
        offsets[stream] = offsets.get(stream, -1) + 1
        positioned.append(PositionedEvent(event, SourcePosition(*stream, offsets[stream])))
    return positioned


@st.composite
def delivered_batches(draw: st.DrawFn) -> list[list[PositionedEvent]]:
    """Batches as a consumer sees them: in offset order, with rewinds that redeliver a stretch."""
    produced = draw(productions())
    deliveries: list[PositionedEvent] = []
    cursor = 0
    for advance, rewind in draw(st.lists(st.tuples(st.integers(1, 8), st.integers(0, 6)), max_size=4)):
        stop = min(len(produced), cursor + advance)
        deliveries.extend(produced[cursor:stop])
        cursor = max(0, stop - rewind)
    deliveries.extend(produced[cursor:])
    sizes = draw(st.lists(st.integers(1, 10), min_size=len(deliveries), max_size=len(deliveries)))
    batches, at = [], 0
    for size in sizes:
        if at >= len(deliveries):
            break
        batches.append(deliveries[at : at + size])
        at += size
    return batches


def assert_vectors_close(actual: FeatureVector, expected: FeatureVector) -> None:
    """Equal field by field, floats within a relative 1e-9 (summation order differs)."""
    for field in dataclasses.fields(FeatureVector):
        got, want = getattr(actual, field.name), getattr(expected, field.name)
        if isinstance(want, float) and isinstance(got, float):
            assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9), (field.name, got, want)
        else:
            assert got == want, (field.name, got, want)


def assert_results_equal(actual: ApplyResult, expected: ApplyResult) -> None:
    assert (actual.applied, actual.replayed) == (expected.applied, expected.replayed)
    assert actual.duplicates == expected.duplicates
    assert actual.vectors.keys() == expected.vectors.keys()
    for customer_id, vector in expected.vectors.items():
        assert_vectors_close(actual.vectors[customer_id], vector)


def oracle_vectors(deliveries: Sequence[PositionedEvent]) -> dict[str, FeatureVector]:
    applied = classify(deliveries).applied
    return {
        customer_id: brute_force_vector(customer_id, applied)
        for customer_id in {event.customer_id for event in applied}
    }


class TestInMemoryStoreMatchesOracle:
    @settings(max_examples=150, deadline=None)
    @given(delivered_batches())
    def test_vectors_match_brute_force_after_shuffled_duplicated_replayed_delivery(
        self, batches: list[list[PositionedEvent]]
    ) -> None:
        """After any delivery, every customer's vector equals the brute-force recomputation."""
        store = InMemoryFeatureStore(RING_FOR_TESTS)
        for batch in batches:
            asyncio.run(store.apply(batch))
        deliveries = [event for batch in batches for event in batch]
        for customer_id, expected in oracle_vectors(deliveries).items():
            actual = asyncio.run(store.read(customer_id))
            assert actual is not None
            assert_vectors_close(actual, expected)

    @settings(max_examples=100, deadline=None)
    @given(delivered_batches())
    def test_replays_and_duplicates_are_counted_like_the_oracle(
        self, batches: list[list[PositionedEvent]]
    ) -> None:
        """Applied, replayed and duplicate counts over a run equal the oracle's classification."""
        store = InMemoryFeatureStore(RING_FOR_TESTS)
        results = [asyncio.run(store.apply(batch)) for batch in batches]
        expected = classify([event for batch in batches for event in batch])
        assert sum(result.applied for result in results) == len(expected.applied)
        assert sum(result.replayed for result in results) == expected.replayed
        duplicates = tuple(event for result in results for event in result.duplicates)
        assert duplicates == expected.duplicates

    @settings(max_examples=60, deadline=None)
    @given(productions(), st.randoms())
    def test_vectors_do_not_depend_on_arrival_order(
        self, produced: list[PositionedEvent], random: object
    ) -> None:
        """Distinct events applied in any order give the same vectors (positions are all new)."""
        unique = list({event.event.event_id: event.event for event in produced}.values())
        shuffled = list(unique)
        random.shuffle(shuffled)  # type: ignore[attr-defined]

        def run(events: list[InputEvent]) -> dict[str, FeatureVector]:
            store = InMemoryFeatureStore(RING_FOR_TESTS)
            positioned = [
                PositionedEvent(event, SourcePosition(f"t{index}", 0, 0))
                for index, event in enumerate(events)
            ]
            return asyncio.run(store.apply(positioned)).vectors

        first, second = run(unique), run(shuffled)
        for customer_id, vector in first.items():
            assert_vectors_close(second[customer_id], vector)


class TestInMemoryStoreSemantics:
    def _call(self, event_id: str, at: datetime, customer_id: str = "c") -> CallEvent:
        return CallEvent(
            event_id=event_id,
            customer_id=customer_id,
            event_time=at,
            direction=CallDirection.OUTGOING,
            duration_s=60,
            counterparty="p1",
        )

    def test_duplicate_beyond_the_ring_is_applied_again(self) -> None:
        """Duplicate detection remembers only the last ``duplicate_ring_size`` applied events."""
        store = InMemoryFeatureStore(FeatureConfig(duplicate_ring_size=2))
        events = [self._call(f"e{index}", START) for index in range(3)] + [self._call("e0", START)]
        positioned = [
            PositionedEvent(event, SourcePosition("calls", 0, offset)) for offset, event in enumerate(events)
        ]
        result = asyncio.run(store.apply(positioned))
        assert (result.applied, result.duplicates) == (4, ())

    def test_duplicate_within_the_ring_is_dropped_and_reported(self) -> None:
        """A known event id at a new position changes nothing and is returned as a duplicate."""
        store = InMemoryFeatureStore()
        first = PositionedEvent(self._call("e0", START), SourcePosition("calls", 0, 0))
        again = PositionedEvent(self._call("e0", START), SourcePosition("calls", 0, 1))
        result = asyncio.run(store.apply([first, again]))
        assert (result.applied, result.duplicates) == (1, (again,))
        assert result.vectors["c"].calls_out_7d == 1.0

    def test_replayed_duplicate_is_reported_as_duplicate_again(self) -> None:
        """Redelivering the position of a duplicate re-reports it, so its DLQ notice is re-sent."""
        store = InMemoryFeatureStore()
        first = PositionedEvent(self._call("e0", START), SourcePosition("calls", 0, 0))
        again = PositionedEvent(self._call("e0", START), SourcePosition("calls", 0, 1))
        asyncio.run(store.apply([first, again]))
        result = asyncio.run(store.apply([first, again]))
        assert (result.applied, result.replayed, result.duplicates) == (0, 2, (again,))

    def test_vector_of_an_all_replay_batch_is_as_of_the_latest_event(self) -> None:
        """A batch of replays still returns the customer's vector, as of their latest event time."""
        store = InMemoryFeatureStore()
        late = PositionedEvent(self._call("e1", START + timedelta(days=3)), SourcePosition("x", 0, 1))
        early = PositionedEvent(self._call("e0", START), SourcePosition("x", 0, 0))
        asyncio.run(store.apply([early, late]))
        result = asyncio.run(store.apply([early]))
        assert result.vectors["c"].as_of == START + timedelta(days=3)

    def test_read_of_an_unknown_customer_is_none(self) -> None:
        """A customer never seen has no vector."""
        assert asyncio.run(InMemoryFeatureStore().read("nobody")) is None

    def test_lifecycle_tie_at_one_event_time_is_broken_the_same_way_in_any_order(self) -> None:
        """Two lifecycle events at the same time resolve by event-id fingerprint, not arrival."""
        events = [
            LifecycleEvent(
                event_id=f"l{index}",
                customer_id="c",
                event_time=START,
                kind=kind,
                payment_type=payment,
            )
            for index, (kind, payment) in enumerate(
                [
                    (LifecycleKind.PORT_OUT, PaymentType.PREPAID),
                    (LifecycleKind.REACTIVATED, PaymentType.POSTPAID),
                ]
            )
        ]

        def final(order: list[LifecycleEvent]) -> FeatureVector:
            store = InMemoryFeatureStore()
            positioned = [
                PositionedEvent(event, SourcePosition("life", 0, offset))
                for offset, event in enumerate(order)
            ]
            return asyncio.run(store.apply(positioned)).vectors["c"]

        forward, backward = final(events), final(events[::-1])
        assert (forward.payment_type, forward.churned) == (backward.payment_type, backward.churned)
        assert forward == brute_force_vector("c", events)


def _steady_history(
    days: float, call_every_hours: float, minutes_before: float, minutes_after: float, step_day: float
) -> list[PositionedEvent]:
    """Outgoing calls every ``call_every_hours`` and a top-up each day, from START for ``days``;
    call minutes and top-up amounts drop from ``minutes_before`` to ``minutes_after`` at ``step_day``."""
    events: list[InputEvent] = []
    steps = round(days * 24 / call_every_hours)
    for index in range(steps + 1):
        at_hours = index * call_every_hours
        minutes = minutes_before if at_hours < step_day * 24 else minutes_after
        at = START + timedelta(hours=at_hours)
        events.append(
            CallEvent(
                event_id=f"call{index}",
                customer_id="c",
                event_time=at,
                direction=CallDirection.OUTGOING,
                duration_s=60.0 * minutes,
                counterparty="p1",
            )
        )
        if at_hours % 24 == 0:
            events.append(TopupEvent(event_id=f"top{index}", customer_id="c", event_time=at, amount=minutes))
    return [
        PositionedEvent(event, SourcePosition(topic_of(event), 0, offset))
        for offset, event in enumerate(events)
    ]


def _vector_after(history: list[PositionedEvent]) -> FeatureVector:
    vector = asyncio.run(InMemoryFeatureStore().apply(history)).vectors["c"]
    assert_vectors_close(vector, brute_force_vector("c", [p.event for p in history]))
    return vector


class TestTrendOverFiniteHistories:
    @pytest.mark.parametrize("days", [20, 35, 60, 90, 180])
    def test_steady_traffic_has_no_trend_however_short_the_history(self, days: int) -> None:
        """Steady calls and top-ups give usage and top-up trends of about 0 at any history length."""
        vector = _vector_after(_steady_history(days, 4.0, 3.0, 3.0, step_day=days + 1))
        assert vector.history_days == days
        assert abs(vector.usage_trend) < 0.005, vector.usage_trend
        assert abs(vector.topup_trend) < 0.02, vector.topup_trend

    def test_step_decline_shows_as_the_derived_negative_trend(self) -> None:
        """A 60% drop at day 60 reads about -0.30 four weeks later, as the decayed sums predict.

        With rate 1 before the drop and 0.4 for the last W = 28 of T = 88 days,
        ``S_tau = 0.4 tau (1 - e^(-W/tau)) + tau (e^(-W/tau) - e^(-T/tau))``; the trend
        formula on these sums gives the expected value (a 30-day decayed sum still holds
        some pre-drop traffic and the earlier-period estimate some post-drop traffic, so
        the trend is about half the true -0.56 of the last 30 vs the 60 days before).
        """
        step_day, weeks_after = 60.0, 4
        history_days = step_day + 7 * weeks_after
        after_days = history_days - step_day

        def decayed(tau: float) -> float:
            recent = 0.4 * tau * (1 - math.exp(-after_days / tau))
            return recent + tau * (math.exp(-after_days / tau) - math.exp(-history_days / tau))

        earlier = 90 * (1 - math.exp(-history_days / 90)) - 30 * (1 - math.exp(-history_days / 30))
        expected = (decayed(30) / (30 * (1 - math.exp(-history_days / 30)))) / (
            (decayed(90) - decayed(30)) / earlier
        ) - 1
        vector = _vector_after(_steady_history(history_days, 2.0, 5.0, 2.0, step_day))
        assert -0.31 < expected < -0.29
        assert math.isclose(vector.usage_trend, expected, abs_tol=0.01), vector.usage_trend
        assert math.isclose(vector.topup_trend, expected, abs_tol=0.03), vector.topup_trend

    def test_history_shorter_than_two_weeks_reports_no_trend(self) -> None:
        """With under MIN_TREND_HISTORY_DAYS of history both trends are 0, even after a drop."""
        vector = _vector_after(_steady_history(10, 4.0, 5.0, 0.5, step_day=5))
        assert (vector.usage_trend, vector.topup_trend) == (0.0, 0.0)
