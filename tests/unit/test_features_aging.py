"""Vectors read later than the customer's latest event: what the store would report after silence."""

from __future__ import annotations

import asyncio
import math
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.aging import aged
from features.contacts import BUCKET_SLOTS, BUCKET_US
from features.records import epoch_us
from features.reference_store import InMemoryFeatureStore
from features.store import PositionedEvent, SourcePosition
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
    TopupEvent,
)

START = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def histories(draw: st.DrawFn) -> list[InputEvent]:
    """One customer's activation, then calls, top-ups and complaints over up to 120 days."""
    events: list[InputEvent] = [
        LifecycleEvent(
            event_id="a",
            customer_id="c",
            event_time=START,
            kind=LifecycleKind.ACTIVATED,
            payment_type=draw(st.sampled_from(list(PaymentType))),
        )
    ]
    for index in range(draw(st.integers(1, 40))):
        base = {
            "event_id": f"e{index}",
            "customer_id": "c",
            "event_time": START + timedelta(minutes=draw(st.integers(0, 120 * 24 * 60))),
        }
        kind = draw(st.sampled_from(["call", "call", "topup", "complaint"]))
        if kind == "call":
            events.append(
                CallEvent(
                    **base,
                    direction=draw(st.sampled_from(list(CallDirection))),
                    duration_s=draw(st.floats(0, 3600)),
                    counterparty=f"p{draw(st.integers(0, 30))}",
                    counterparty_network=draw(st.sampled_from(list(CounterpartyNetwork))),
                    dropped=draw(st.booleans()),
                )
            )
        elif kind == "topup":
            events.append(TopupEvent(**base, amount=draw(st.floats(1, 200))))
        else:
            events.append(
                ComplaintEvent(
                    **base,
                    category=draw(st.sampled_from(list(ComplaintCategory))),
                    severity=draw(st.integers(1, 5)),
                    resolved=draw(st.booleans()),
                )
            )
    return events


def store_vector(events: list[InputEvent]) -> FeatureVector:
    positioned = [PositionedEvent(e, SourcePosition(f"t.{e.type}", 0, i)) for i, e in enumerate(events)]
    return asyncio.run(InMemoryFeatureStore().apply(positioned)).vectors["c"]


def silence_ends(history: list[InputEvent], at: datetime) -> list[InputEvent]:
    """The history plus an event that adds to no feature: a plan change without a payment type."""
    nothing = LifecycleEvent(event_id="z", customer_id="c", event_time=at, kind=LifecycleKind.PLAN_CHANGED)
    return [*history, nothing]


class TestAged:
    @settings(max_examples=60, deadline=None)
    @given(histories(), st.floats(0.01, 90.0))
    def test_matches_the_store_after_an_event_that_adds_nothing(
        self, history: list[InputEvent], silence_days: float
    ) -> None:
        """Every feature but the contact sketch equals the store's own vector at the later time."""
        before = store_vector(history)
        at = before.as_of + timedelta(days=silence_days)
        expected = store_vector(silence_ends(history, at))
        got = aged(before, at)
        for field in fields(FeatureVector):
            if field.name == "distinct_contacts_30d":
                continue
            value, wanted = getattr(got, field.name), getattr(expected, field.name)
            if isinstance(wanted, float):
                assert value == pytest.approx(wanted, rel=1e-9, abs=1e-9), field.name
            else:
                assert value == wanted, field.name

    @settings(max_examples=60, deadline=None)
    @given(histories(), st.floats(0.01, 90.0))
    def test_contacts_are_an_upper_bound_exact_within_the_bucket_and_zero_once_expired(
        self, history: list[InputEvent], silence_days: float
    ) -> None:
        """The sketch is not in the vector: kept while it can still count, 0 once every bucket expired."""
        before = store_vector(history)
        at = before.as_of + timedelta(days=silence_days)
        exact = store_vector(silence_ends(history, at)).distinct_contacts_30d
        got = aged(before, at).distinct_contacts_30d
        assert got >= exact - 1e-9
        then_bucket, now_bucket = epoch_us(before.as_of) // BUCKET_US, epoch_us(at) // BUCKET_US
        if now_bucket == then_bucket or now_bucket - (BUCKET_SLOTS - 1) > then_bucket:
            assert got == pytest.approx(exact)

    def test_reading_at_or_before_the_latest_event_changes_nothing(self) -> None:
        """A vector is never moved back in time."""
        vector = FeatureVector.empty("c", START)
        assert aged(vector, START) is vector
        assert aged(vector, START - timedelta(days=1)) is vector

    def test_each_window_decays_with_its_own_time_constant(self) -> None:
        """Thirty silent days leave 7-, 30- and 90-day sums at exp(-30/7), 1/e and exp(-1/3)."""
        full = replace(
            FeatureVector.empty("c", START),
            minutes_out_7d=100.0,
            minutes_out_30d=100.0,
            minutes_out_90d=100.0,
        )
        later = aged(full, START + timedelta(days=30))
        assert later.minutes_out_7d == pytest.approx(100.0 * math.exp(-30 / 7))
        assert later.minutes_out_30d == pytest.approx(100.0 / math.e)
        assert later.minutes_out_90d == pytest.approx(100.0 * math.exp(-1 / 3))
