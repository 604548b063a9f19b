"""The distinct-contacts sketch: per-10-day-bucket 256-bit bitmaps with linear counting.

Each call sets one bit (a hash of the pseudonymised counterparty) in the bitmap of its
10-day event-time bucket. The store keeps the 4 most recent buckets (ring slots
``bucket % 4``, 8 signed 32-bit words each). ``distinct_contacts_30d`` at time ``T`` ORs
the buckets ``floor(T / 10 days) - 3 .. floor(T / 10 days)``, which cover the last 30 days
plus up to 10 more, and estimates the number of distinct counterparties from the count of
zero bits (linear counting: ``-m ln(zeros / m)``, standard error a few percent up to ~200
contacts, saturating at ``m ln m`` ~ 1420). OR is order-independent, and a call older than
the oldest kept bucket can never count again, so arrival order does not matter.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Sequence

from features.decay import DAY_US

BUCKET_US = 10 * DAY_US
BUCKET_SLOTS = 4
BITS = 256
WORDS_PER_BUCKET = BITS // 32
NO_BUCKET = -(2**31)
"""Bucket index of a customer with no calls yet (int32 minimum)."""
_RING_WORDS = struct.Struct(f"<{BUCKET_SLOTS * WORDS_PER_BUCKET}i")
_BITMAP_MASK = (1 << BITS) - 1


def contact_bit(counterparty: str) -> int:
    """Which of the 256 bits a counterparty sets (0..255), from a hash of its pseudonym.

    >>> contact_bit("abc") == contact_bit("abc") and 0 <= contact_bit("abc") < 256
    True
    """
    return hashlib.blake2b(counterparty.encode(), digest_size=1).digest()[0]


def bucket_of(at_us: int) -> int:
    """The 10-day bucket index of an event time in epoch microseconds.

    >>> bucket_of(0), bucket_of(BUCKET_US - 1), bucket_of(BUCKET_US)
    (0, 0, 1)
    """
    return at_us // BUCKET_US


def linear_count(zero_bits: int) -> float:
    """Estimated distinct items from the zero bits of a 256-bit bitmap.

    >>> linear_count(256), round(linear_count(128), 1), round(linear_count(0))
    (0.0, 177.4, 1420)
    """
    if zero_bits >= BITS:
        return 0.0
    return -BITS * math.log(max(zero_bits, 1) / BITS)


def estimate_distinct(words: Sequence[int], latest_bucket: int, as_of_us: float) -> float:
    """``distinct_contacts_30d`` from the 4-slot ring of bitmaps, as of ``as_of_us``.

    ``words`` holds ``BUCKET_SLOTS * WORDS_PER_BUCKET`` signed 32-bit words, slot
    ``b % 4`` for bucket ``b``; ``latest_bucket`` is the newest bucket with a call, never
    after ``as_of_us`` (which is the customer's latest event time).

    >>> words = [0] * 32
    >>> words[8] = 0b111  # three bits set in bucket 1 (slot 1)
    >>> round(estimate_distinct(words, 1, 1.5 * BUCKET_US), 2)
    3.02
    >>> estimate_distinct(words, 1, 5 * BUCKET_US)  # bucket 1 is older than 30 days
    0.0
    """
    if latest_bucket == NO_BUCKET:
        return 0.0
    return distinct_in_ring(ring_of(words), latest_bucket, as_of_us)


def ring_of(words: Sequence[int]) -> int:
    """The ring as one integer, slot k at bits 256k..256k+255: the words' little-endian bytes,
    as a stored state holds them (so it is read from those bytes without unpacking the words).

    >>> ring_of([0] * 8 + [0b101] + [0] * 23) == 0b101 << BITS
    True
    """
    return int.from_bytes(_RING_WORDS.pack(*words), "little")


def distinct_in_ring(ring: int, latest_bucket: int, as_of_us: float) -> float:
    """``estimate_distinct`` of the ring as one integer (``ring_of``).

    >>> round(distinct_in_ring(0b111 << BITS, 1, 1.5 * BUCKET_US), 2)  # three bits in bucket 1
    3.02
    """
    if latest_bucket == NO_BUCKET:
        return 0.0
    as_of_bucket = int(as_of_us) // BUCKET_US
    union = 0
    for bucket in range(as_of_bucket - BUCKET_SLOTS + 1, latest_bucket + 1):
        union |= ring >> ((bucket % BUCKET_SLOTS) * BITS)
    union &= _BITMAP_MASK
    return linear_count(BITS - union.bit_count())
