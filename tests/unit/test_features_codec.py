"""The packed state layout and the distinct-contacts sketch."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from features.contacts import BUCKET_US, estimate_distinct, linear_count
from features.errors import CorruptStateError
from features.reference_store import InMemoryFeatureStore
from features.state import CustomerState
from features.state_codec import pack_state, unpack_state
from features.store import PositionedEvent, SourcePosition
from schemas.events import CallDirection, CallEvent

START = datetime(2026, 1, 1, tzinfo=UTC)


def _call(index: int, at: datetime, counterparty: str) -> PositionedEvent:
    event = CallEvent(
        event_id=f"e{index}",
        customer_id="c",
        event_time=at,
        direction=CallDirection.INCOMING,
        duration_s=10,
        counterparty=counterparty,
    )
    return PositionedEvent(event, SourcePosition("calls", 0, index))


class TestStateCodec:
    def test_state_survives_a_pack_unpack_round_trip(self) -> None:
        """Every field of a used state decodes to the same value."""
        store = InMemoryFeatureStore()
        events = [_call(index, START + timedelta(hours=index), f"p{index}") for index in range(30)]
        asyncio.run(store.apply(events))
        state = store._states["c"]
        assert unpack_state(pack_state(state)) == state

    def test_truncated_state_raises_corrupt_state(self) -> None:
        """A cut-off value is reported, not silently misread."""
        with pytest.raises(CorruptStateError):
            unpack_state(pack_state(CustomerState())[:-3] + b"\x09")


class TestContactsSketch:
    def test_few_distinct_contacts_are_counted_almost_exactly(self) -> None:
        """Ten distinct counterparties in a month estimate close to ten."""
        store = InMemoryFeatureStore()
        events = [_call(index, START + timedelta(days=index), f"p{index % 10}") for index in range(25)]
        vector = asyncio.run(store.apply(events)).vectors["c"]
        assert 9.0 <= vector.distinct_contacts_30d <= 11.5

    def test_contacts_older_than_the_kept_buckets_no_longer_count(self) -> None:
        """A call more than 40 days before the latest event drops out of the estimate."""
        store = InMemoryFeatureStore()
        events = [_call(0, START, "old"), _call(1, START + timedelta(days=45), "new")]
        vector = asyncio.run(store.apply(events)).vectors["c"]
        assert vector.distinct_contacts_30d == linear_count(255)

    def test_empty_sketch_estimates_zero(self) -> None:
        """No calls, no contacts."""
        assert estimate_distinct([0] * 32, 5, 6 * BUCKET_US) == 0.0
