"""The packed byte layout of a customer's state: the value of their Redis key.

Little-endian, no padding; ``apply_events.lua`` reads and writes the same layout:

- fixed part ``FIXED``: last and first event time, the 28 decayed sums (order in
  ``features.state``), first/last top-up time, top-up count, last complaint time,
  first activation time, latest lifecycle (time, fingerprint, churned), latest payment
  type (time, fingerprint, type), newest contact bucket, 4 x 8 bitmap words, latest plan
  (time, fingerprint, plan code, commitment months, bundled services, monthly fee);
- the duplicate ring: ``uint16`` byte length, then 12-byte entries, oldest first;
- positions: ``uint8`` count, then per topic ``uint32`` topic id, ``int32`` partition,
  ``double`` offset.

Unset times are +-infinity. 548 bytes fixed + 2 + 12 per ring entry + 1 + 16 per topic.
"""

from __future__ import annotations

import struct

from features.contacts import BUCKET_SLOTS, WORDS_PER_BUCKET
from features.errors import CorruptStateError
from features.state import SUM_COUNT, CustomerState, state_vector
from features.vector import FeatureVector

_WORDS = BUCKET_SLOTS * WORDS_PER_BUCKET
_BEFORE_WORDS = f"<dd{SUM_COUNT}dddddd" + "d8sB" + "d8sB" + "i"
_AFTER_WORDS = "d8sIBBd"
FIXED = struct.Struct(f"{_BEFORE_WORDS}{_WORDS}i{_AFTER_WORDS}")
_WORDS_AT = struct.calcsize(_BEFORE_WORDS)
_WORDS_END = _WORDS_AT + 4 * _WORDS
_FIXED_WITHOUT_WORDS = struct.Struct(f"{_BEFORE_WORDS}{4 * _WORDS}x{_AFTER_WORDS}")
"""The fixed part with the contact words skipped: a vector reads them as one integer."""
_LENGTH16 = struct.Struct("<H")
_POSITION = struct.Struct("<Iid")
_FIRST_SUM = 2
_AFTER_SUMS = _FIRST_SUM + SUM_COUNT


def pack_state(state: CustomerState) -> bytes:
    """The bytes ``apply_events.lua`` would store for ``state``.

    >>> unpack_state(pack_state(CustomerState())) == CustomerState()
    True
    """
    fixed = FIXED.pack(
        state.last_us,
        state.first_us,
        *state.sums,
        state.first_topup_us,
        state.last_topup_us,
        state.topup_total,
        state.last_complaint_us,
        state.first_activation_us,
        state.lifecycle_us,
        state.lifecycle_fingerprint,
        state.churned,
        state.payment_us,
        state.payment_fingerprint,
        state.payment_type,
        state.contact_bucket,
        *state.contact_words,
        state.plan_us,
        state.plan_fingerprint,
        state.plan,
        state.commitment,
        state.bundles,
        state.monthly_fee,
    )
    positions = b"".join(
        _POSITION.pack(int(topic), int(partition), offset)
        for topic, partition, offset in state.positions
    )
    return b"".join(
        (
            fixed,
            _LENGTH16.pack(len(state.ring)),
            state.ring,
            bytes((len(state.positions),)),
            positions,
        )
    )


def unpack_state(blob: bytes) -> CustomerState:
    """Decode a stored state; raises ``CorruptStateError`` if the layout does not fit."""
    try:
        values = FIXED.unpack_from(blob)
        at = FIXED.size
        (ring_length,) = _LENGTH16.unpack_from(blob, at)
        at += _LENGTH16.size
        ring = blob[at : at + ring_length]
        at += ring_length
        count = blob[at]
        at += 1
        positions = [
            [float(topic), float(partition), offset]
            for topic, partition, offset in _POSITION.iter_unpack(
                blob[at : at + count * _POSITION.size]
            )
        ]
    except (struct.error, IndexError) as error:
        raise CorruptStateError(f"state of {len(blob)} bytes does not decode: {error}") from error
    if len(ring) != ring_length or len(positions) != count:
        raise CorruptStateError(f"state of {len(blob)} bytes is truncated")
    rest = values[_AFTER_SUMS:]
    return CustomerState(
        last_us=values[0],
        first_us=values[1],
        sums=list(values[_FIRST_SUM:_AFTER_SUMS]),
        first_topup_us=rest[0],
        last_topup_us=rest[1],
        topup_total=rest[2],
        last_complaint_us=rest[3],
        first_activation_us=rest[4],
        lifecycle_us=rest[5],
        lifecycle_fingerprint=rest[6],
        churned=rest[7],
        payment_us=rest[8],
        payment_fingerprint=rest[9],
        payment_type=rest[10],
        contact_bucket=rest[11],
        contact_words=list(rest[12 : 12 + _WORDS]),
        plan_us=rest[12 + _WORDS],
        plan_fingerprint=rest[13 + _WORDS],
        plan=rest[14 + _WORDS],
        commitment=rest[15 + _WORDS],
        bundles=rest[16 + _WORDS],
        monthly_fee=rest[17 + _WORDS],
        ring=ring,
        positions=positions,
    )


_RING_AT = FIXED.size
_AFTER_RING_LENGTH = FIXED.size + _LENGTH16.size
_PLAN_FACTS = _AFTER_SUMS + 12  # index of plan_us when the words are skipped


def packed_vector(blob: bytes, customer_id: str) -> FeatureVector:
    """``unpack_state(blob).vector(customer_id)`` read straight from the bytes: the fixed part
    is all a vector needs (the contact words as one integer), so the ring and the positions
    are only checked for length.

    A tick reads a vector per touched customer; building the state first (lists of
    sums, words and positions) cost about as much as the vector itself.

    >>> state = CustomerState(last_us=86_400e6, first_us=0.0)
    >>> packed_vector(pack_state(state), "c1") == state.vector("c1")
    True
    """
    try:
        values = _FIXED_WITHOUT_WORDS.unpack_from(blob)
        (ring_length,) = _LENGTH16.unpack_from(blob, _RING_AT)
        count_at = _AFTER_RING_LENGTH + ring_length
        end = count_at + 1 + blob[count_at] * _POSITION.size
    except (struct.error, IndexError) as error:
        raise CorruptStateError(f"state of {len(blob)} bytes does not decode: {error}") from error
    if len(blob) < end:
        raise CorruptStateError(f"state of {len(blob)} bytes is truncated")
    rest = _AFTER_SUMS
    plan = _PLAN_FACTS
    return state_vector(
        customer_id,
        values[_FIRST_SUM:_AFTER_SUMS],
        values[0],  # last_us
        values[1],  # first_us
        values[rest],  # first_topup_us
        values[rest + 1],  # last_topup_us
        values[rest + 2],  # topup_total
        values[rest + 3],  # last_complaint_us
        values[rest + 4],  # first_activation_us
        values[rest + 7],  # churned
        values[rest + 10],  # payment_type
        values[rest + 11],  # contact_bucket
        int.from_bytes(blob[_WORDS_AT:_WORDS_END], "little"),  # the contact words, as ring_of gives them
        values[plan + 2],  # plan
        values[plan + 3],  # commitment
        values[plan + 4],  # bundles
        values[plan + 5],  # monthly_fee
    )
