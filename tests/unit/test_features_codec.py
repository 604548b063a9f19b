"""The packed state layout and the distinct-contacts sketch."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.contacts import (
    BUCKET_SLOTS,
    BUCKET_US,
    NO_BUCKET,
    WORDS_PER_BUCKET,
    estimate_distinct,
    linear_count,
)
from features.decay import DAY_US
from features.errors import CorruptStateError
from features.records import PAYMENT_TYPES, UNKNOWN_COUNT, UNKNOWN_FEE
from features.reference_store import InMemoryFeatureStore
from features.state import SUM_COUNT, CustomerState
from features.state_codec import pack_state, packed_vector, unpack_state
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


YEAR_US = 365 * DAY_US
sums = st.floats(0.0, 1e6) | st.floats(-1e-9, 1e-9) | st.just(0.0)
moments = st.floats(0.0, 3 * YEAR_US)


@st.composite
def used_states(draw: st.DrawFn) -> CustomerState:
    """A state as a customer's events could leave it: any sums, set or unset times around
    the latest event, any sketch words, stated or unknown plan facts, a ring and positions."""
    first_us = draw(moments)
    last_us = first_us + draw(st.floats(0.0, YEAR_US))

    def before_last(unset: float) -> float:
        return draw(st.just(unset) | st.floats(first_us, last_us))

    first_topup_us = before_last(math.inf)
    last_bucket = int(last_us) // BUCKET_US
    return CustomerState(
        last_us=last_us,
        first_us=first_us,
        sums=draw(st.lists(sums, min_size=SUM_COUNT, max_size=SUM_COUNT)),
        first_topup_us=first_topup_us,
        last_topup_us=-math.inf if math.isinf(first_topup_us) else draw(st.floats(first_topup_us, last_us)),
        topup_total=draw(st.sampled_from([0.0, 1.0, 2.0, 17.0])),
        last_complaint_us=before_last(-math.inf),
        first_activation_us=draw(st.just(math.inf) | st.floats(0.0, last_us)),
        lifecycle_us=before_last(-math.inf),
        lifecycle_fingerprint=draw(st.binary(min_size=8, max_size=8)),
        churned=draw(st.integers(0, 1)),
        payment_type=draw(st.integers(0, len(PAYMENT_TYPES) - 1)),
        contact_bucket=draw(st.just(NO_BUCKET) | st.integers(max(0, last_bucket - 6), last_bucket)),
        contact_words=draw(
            st.lists(
                st.integers(-(2**31), 2**31 - 1),
                min_size=BUCKET_SLOTS * WORDS_PER_BUCKET,
                max_size=BUCKET_SLOTS * WORDS_PER_BUCKET,
            )
        ),
        plan=draw(st.integers(0, 2**32 - 1)),
        commitment=draw(st.just(UNKNOWN_COUNT) | st.integers(0, 60)),
        bundles=draw(st.just(UNKNOWN_COUNT) | st.integers(0, 20)),
        monthly_fee=draw(st.just(UNKNOWN_FEE) | st.floats(0.0, 100_000.0)),
        ring=draw(st.binary(max_size=5 * 12).map(lambda ring: ring[: len(ring) // 12 * 12])),
        positions=[
            [float(topic), float(partition), float(offset)]
            for topic, partition, offset in draw(
                st.lists(st.tuples(st.integers(0, 9), st.integers(0, 63), st.integers(0, 2**40)), max_size=4)
            )
        ],
    )


class TestPackedVector:
    @settings(max_examples=300, deadline=None)
    @given(state=used_states())
    def test_vector_from_the_bytes_equals_the_vector_of_the_decoded_state(self, state: CustomerState) -> None:
        """A vector read straight from the stored bytes equals the decoded state's, field for field."""
        blob = pack_state(state)
        assert packed_vector(blob, "c") == unpack_state(blob).vector("c")

    def test_vector_of_a_state_left_by_events_equals_the_decoded_one(self) -> None:
        """A state built by applying calls reads the same vector either way."""
        store = InMemoryFeatureStore()
        events = [_call(index, START + timedelta(hours=7 * index), f"p{index % 13}") for index in range(40)]
        asyncio.run(store.apply(events))
        blob = pack_state(store._states["c"])
        assert packed_vector(blob, "c") == unpack_state(blob).vector("c") == store._states["c"].vector("c")

    @pytest.mark.parametrize("cut", [1, 13, 600])
    def test_truncated_state_raises_corrupt_state(self, cut: int) -> None:
        """Bytes cut short anywhere (positions, ring, fixed part) are reported, not misread."""
        state = CustomerState(last_us=DAY_US, first_us=0.0, ring=bytes(24), positions=[[1.0, 0.0, 5.0]])
        with pytest.raises(CorruptStateError):
            packed_vector(pack_state(state)[:-cut], "c")


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
