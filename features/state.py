"""One customer's feature state and its update rule: the Python twin of apply_events.lua.

The state holds every decayed sum at one shared reference time (the customer's latest
event time, which is also the ``as_of`` of their vector, so reading needs no decay),
order-independent extremes (first/last times), the contacts sketch, the latest
lifecycle facts by ``(event_time, fingerprint)``, a ring of applied event fingerprints
and the last applied position per topic. Both stores derive vectors with ``vector``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from features.contacts import (
    BUCKET_SLOTS,
    NO_BUCKET,
    WORDS_PER_BUCKET,
    distinct_in_ring,
    ring_of,
)
from features.decay import DAY_US, decay_weight, trend
from features.records import (
    CALL_DROPPED,
    CALL_INTERNATIONAL,
    CALL_OFF_NET,
    CALL_OUTGOING,
    CALL_ROAMING,
    EVENING,
    KIND_CALL,
    KIND_COMPLAINT,
    KIND_LIFECYCLE,
    KIND_TOPUP,
    NIGHT,
    PAYMENT_TYPES,
    UNKNOWN_COUNT,
    UNKNOWN_FEE,
    EventRecord,
    from_epoch_us,
)
from features.vector import FeatureVector

# Index of each decayed sum; the Lua script uses the same order (1-based).
CALLS_OUT_7D, CALLS_IN_7D, MINUTES_OUT_7D, MINUTES_IN_7D = 0, 1, 2, 3
CALLS_OUT_30D, CALLS_IN_30D, MINUTES_OUT_30D, MINUTES_IN_30D = 4, 5, 6, 7
DROPPED_30D, OFF_NET_MINUTES_OUT_30D, TOPUP_AMOUNT_30D, TOPUP_COUNT_30D = 8, 9, 10, 11
COMPLAINTS_30D = 12
COMPLAINT_CATEGORY_30D = 13  # 13..18: network, billing, service, price, technical, other
SEVERITY_30D, UNRESOLVED_30D = 19, 20
CALLS_OUT_90D, CALLS_IN_90D, MINUTES_OUT_90D, MINUTES_IN_90D = 21, 22, 23, 24
TOPUP_AMOUNT_90D, TOPUP_COUNT_90D, COMPLAINTS_90D = 25, 26, 27
CHARGE_30D, NIGHT_CALLS_30D, EVENING_CALLS_30D = 28, 29, 30
INTERNATIONAL_MINUTES_30D, ROAMING_MINUTES_30D = 31, 32
CHARGE_90D = 33
TOPUPS_BY_CHANNEL_GROUP_90D = 34  # 34..36: automatic (auto, bank), digital (online, app), manual
SUM_COUNT = 37
TAU_DAYS = (7.0, 30.0, 90.0)
SUM_TAU_SLOT: tuple[int, ...] = (0,) * 4 + (1,) * 17 + (2,) * 7 + (1,) * 5 + (2,) * 4
"""Which of ``TAU_DAYS`` each sum decays with."""

CHANNEL_GROUP: tuple[int, ...] = (-1, 2, 1, 1, 2, 0, 0)
"""Channel group of each top-up channel index (``features.records.TOPUP_CHANNELS``):
0 automatic, 1 digital, 2 manual, -1 none given."""

RING_ENTRY_BYTES = 12
"""8-byte fingerprint + 4-byte position tag of the position that applied it."""
_TAG = struct.Struct("<I")
_NO_FINGERPRINT = bytes(8)

APPLIED, DUPLICATE, REPLAY, REPLAYED_DUPLICATE = "a", "d", "r", "D"
"""Per-event outcomes, as the Lua script reports them."""


@dataclass(slots=True)
class CustomerState:
    """Everything stored for one customer; times in epoch microseconds (floats)."""

    last_us: float = -math.inf
    first_us: float = math.inf
    sums: list[float] = field(default_factory=lambda: [0.0] * SUM_COUNT)
    first_topup_us: float = math.inf
    last_topup_us: float = -math.inf
    topup_total: float = 0.0
    last_complaint_us: float = -math.inf
    first_activation_us: float = math.inf
    lifecycle_us: float = -math.inf
    lifecycle_fingerprint: bytes = _NO_FINGERPRINT
    churned: int = 0
    payment_us: float = -math.inf
    payment_fingerprint: bytes = _NO_FINGERPRINT
    payment_type: int = 0
    contact_bucket: int = NO_BUCKET
    contact_words: list[int] = field(default_factory=lambda: [0] * (4 * WORDS_PER_BUCKET))
    plan_us: float = -math.inf
    plan_fingerprint: bytes = _NO_FINGERPRINT
    plan: int = 0  # plan code of the latest record naming a plan; 0: none seen
    commitment: int = UNKNOWN_COUNT
    bundles: int = UNKNOWN_COUNT
    monthly_fee: float = UNKNOWN_FEE
    ring: bytes = b""
    positions: list[list[float]] = field(default_factory=list)  # [topic id, partition, offset]

    def apply(self, record: EventRecord, ring_size: int) -> str:
        """Apply one record unless its position or ``event_id`` was seen; return the outcome."""
        tag = _TAG.pack(int(math.fmod(record.topic_id + record.offset, 4294967296.0)))
        if self._is_replay(record):
            found = self._ring_find(record.fingerprint)
            if found >= 0 and self.ring[found + 8 : found + 12] != tag:
                return REPLAYED_DUPLICATE
            return REPLAY
        if self._ring_find(record.fingerprint) >= 0:
            return DUPLICATE
        self.ring = (self.ring + record.fingerprint + tag)[-ring_size * RING_ENTRY_BYTES :]
        self._add(record)
        return APPLIED

    def _is_replay(self, record: EventRecord) -> bool:
        """Check the topic's last applied position and advance it (all positions count)."""
        for position in self.positions:
            if position[0] == record.topic_id:
                if position[1] == record.partition and record.offset <= position[2]:
                    return True
                position[1] = record.partition
                position[2] = record.offset
                return False
        self.positions.append([record.topic_id, record.partition, record.offset])
        return False

    def _ring_find(self, fingerprint: bytes) -> int:
        start = 0
        while True:
            found = self.ring.find(fingerprint, start)
            if found < 0 or found % RING_ENTRY_BYTES == 0:
                return found
            start = found + 1

    def _add(self, record: EventRecord) -> None:
        at_us = record.time_us
        sums = self.sums
        if at_us > self.last_us:
            shifts = [decay_weight(at_us - self.last_us, tau) for tau in TAU_DAYS]
            for index, slot in enumerate(SUM_TAU_SLOT):
                sums[index] = sums[index] * shifts[slot]
            self.last_us = at_us
        age_us = self.last_us - at_us
        w7, w30, w90 = (decay_weight(age_us, tau) for tau in TAU_DAYS)
        self.first_us = min(self.first_us, at_us)
        kind = record.kind
        if kind == KIND_CALL:
            minutes = record.quantity
            if record.code & CALL_OUTGOING:
                base7, base30, base90 = CALLS_OUT_7D, CALLS_OUT_30D, CALLS_OUT_90D
                if record.code & CALL_OFF_NET:
                    sums[OFF_NET_MINUTES_OUT_30D] += minutes * w30
            else:
                base7, base30, base90 = CALLS_IN_7D, CALLS_IN_30D, CALLS_IN_90D
            sums[base7] += w7
            sums[base30] += w30
            sums[base90] += w90
            sums[base7 + 2] += minutes * w7
            sums[base30 + 2] += minutes * w30
            sums[base90 + 2] += minutes * w90
            if record.code & CALL_DROPPED:
                sums[DROPPED_30D] += w30
            if record.code & CALL_INTERNATIONAL:
                sums[INTERNATIONAL_MINUTES_30D] += minutes * w30
            if record.code & CALL_ROAMING:
                sums[ROAMING_MINUTES_30D] += minutes * w30
            if record.level == NIGHT:
                sums[NIGHT_CALLS_30D] += w30
            elif record.level == EVENING:
                sums[EVENING_CALLS_30D] += w30
            sums[CHARGE_30D] += record.amount * w30
            sums[CHARGE_90D] += record.amount * w90
            self._add_contact(record.contact_bucket, record.contact_bit)
        elif kind == KIND_TOPUP:
            sums[TOPUP_AMOUNT_30D] += record.quantity * w30
            sums[TOPUP_AMOUNT_90D] += record.quantity * w90
            sums[TOPUP_COUNT_30D] += w30
            sums[TOPUP_COUNT_90D] += w90
            group = CHANNEL_GROUP[record.code]
            if group >= 0:
                sums[TOPUPS_BY_CHANNEL_GROUP_90D + group] += w90
            self.first_topup_us = min(self.first_topup_us, at_us)
            self.last_topup_us = max(self.last_topup_us, at_us)
            self.topup_total += 1.0
        elif kind == KIND_COMPLAINT:
            sums[COMPLAINTS_30D] += w30
            sums[COMPLAINTS_90D] += w90
            sums[COMPLAINT_CATEGORY_30D + record.code] += w30
            sums[SEVERITY_30D] += record.level * w30
            if not record.resolved:
                sums[UNRESOLVED_30D] += w30
            self.last_complaint_us = max(self.last_complaint_us, at_us)
        elif kind == KIND_LIFECYCLE:
            self._add_lifecycle(record)

    def _add_lifecycle(self, record: EventRecord) -> None:
        at_us, print_ = record.time_us, record.fingerprint
        if record.code == 0:  # activated
            self.first_activation_us = min(self.first_activation_us, at_us)
        self.first_activation_us = min(self.first_activation_us, record.activated_us)
        if record.code != 5 and (at_us, print_) > (self.lifecycle_us, self.lifecycle_fingerprint):
            self.lifecycle_us, self.lifecycle_fingerprint = at_us, print_  # profile (5) is no change
            self.churned = 1 if record.code in (2, 3) else 0  # port_out, deactivated
        if record.level and (at_us, print_) > (self.payment_us, self.payment_fingerprint):
            self.payment_us, self.payment_fingerprint = at_us, print_
            self.payment_type = record.level
        if record.plan and (at_us, print_) > (self.plan_us, self.plan_fingerprint):
            self.plan_us, self.plan_fingerprint, self.plan = at_us, print_, record.plan
            self.commitment, self.bundles = record.commitment, record.bundles
            self.monthly_fee = record.amount

    def _add_contact(self, bucket: int, bit: int) -> None:
        words = self.contact_words
        if self.contact_bucket == NO_BUCKET:
            self.contact_bucket = bucket
        elif bucket > self.contact_bucket:
            for cleared in range(self.contact_bucket + 1, min(bucket, self.contact_bucket + 4) + 1):
                start = (cleared % BUCKET_SLOTS) * WORDS_PER_BUCKET
                words[start : start + WORDS_PER_BUCKET] = [0] * WORDS_PER_BUCKET
            self.contact_bucket = bucket
        if bucket > self.contact_bucket - BUCKET_SLOTS:
            index = (bucket % BUCKET_SLOTS) * WORDS_PER_BUCKET + bit // 32
            word = (words[index] & 0xFFFFFFFF) | (1 << (bit % 32))
            words[index] = word - (1 << 32) if word >= 1 << 31 else word

    def vector(self, customer_id: str) -> FeatureVector:
        """The customer's features as of their latest event time."""
        return state_vector(
            customer_id,
            self.sums,
            self.last_us,
            self.first_us,
            self.first_topup_us,
            self.last_topup_us,
            self.topup_total,
            self.last_complaint_us,
            self.first_activation_us,
            self.churned,
            self.payment_type,
            self.contact_bucket,
            ring_of(self.contact_words),
            self.plan,
            self.commitment,
            self.bundles,
            self.monthly_fee,
        )


def state_vector(
    customer_id: str,
    sums: Sequence[float],
    last_us: float,
    first_us: float,
    first_topup_us: float,
    last_topup_us: float,
    topup_total: float,
    last_complaint_us: float,
    first_activation_us: float,
    churned: int,
    payment_type: int,
    contact_bucket: int,
    contact_ring: int,
    plan: int,
    commitment: int,
    bundles: int,
    monthly_fee: float,
) -> FeatureVector:
    """The features of a state given field by field, as of its latest event time ``last_us``
    (``contact_ring``: the contact words as ``features.contacts.ring_of`` gives them).

    ``CustomerState.vector`` and ``features.state_codec.packed_vector`` (straight from the
    stored bytes, without building the state) both read through it, so they cannot differ.
    """
    s = sums
    as_of_us = last_us
    calls_30d = s[CALLS_OUT_30D] + s[CALLS_IN_30D]
    minutes_30d = s[MINUTES_OUT_30D] + s[MINUTES_IN_30D]
    night, evening = share(s[NIGHT_CALLS_30D], calls_30d), share(s[EVENING_CALLS_30D], calls_30d)
    topups_90d = s[TOPUP_COUNT_90D]
    channels = TOPUPS_BY_CHANNEL_GROUP_90D
    category = COMPLAINT_CATEGORY_30D
    history_days = (as_of_us - first_us) / DAY_US
    # Positional, in field order (cheaper than keywords on the hot path).
    return FeatureVector(
        customer_id,  # customer_id
        from_epoch_us(as_of_us),  # as_of
        history_days,  # history_days
        s[CALLS_OUT_7D],  # calls_out_7d
        s[CALLS_OUT_30D],  # calls_out_30d
        s[CALLS_OUT_90D],  # calls_out_90d
        s[CALLS_IN_7D],  # calls_in_7d
        s[CALLS_IN_30D],  # calls_in_30d
        s[CALLS_IN_90D],  # calls_in_90d
        s[MINUTES_OUT_7D],  # minutes_out_7d
        s[MINUTES_OUT_30D],  # minutes_out_30d
        s[MINUTES_OUT_90D],  # minutes_out_90d
        s[MINUTES_IN_7D],  # minutes_in_7d
        s[MINUTES_IN_30D],  # minutes_in_30d
        s[MINUTES_IN_90D],  # minutes_in_90d
        share(s[DROPPED_30D], calls_30d),  # dropped_call_share_30d
        share(s[OFF_NET_MINUTES_OUT_30D], s[MINUTES_OUT_30D]),  # off_net_share_30d
        distinct_in_ring(contact_ring, contact_bucket, as_of_us),  # distinct_contacts_30d
        trend(  # usage_trend
            s[MINUTES_OUT_30D] + s[MINUTES_IN_30D],
            s[MINUTES_OUT_90D] + s[MINUTES_IN_90D],
            history_days,
        ),
        s[TOPUP_AMOUNT_30D],  # topup_amount_30d
        s[TOPUP_AMOUNT_90D],  # topup_amount_90d
        s[TOPUP_COUNT_30D],  # topup_count_30d
        s[TOPUP_COUNT_90D],  # topup_count_90d
        days_since(last_topup_us, as_of_us),  # days_since_last_topup
        (  # usual_topup_gap_days
            (last_topup_us - first_topup_us) / DAY_US / (topup_total - 1.0)
            if topup_total >= 2.0
            else None
        ),
        trend(s[TOPUP_AMOUNT_30D], s[TOPUP_AMOUNT_90D], history_days),  # topup_trend
        s[COMPLAINTS_30D],  # complaints_30d
        s[COMPLAINTS_90D],  # complaints_90d
        s[category],  # complaints_network_30d
        s[category + 1],  # complaints_billing_30d
        s[category + 2],  # complaints_service_30d
        s[category + 3],  # complaints_price_30d
        s[category + 4],  # complaints_technical_30d
        s[category + 5],  # complaints_other_30d
        s[SEVERITY_30D],  # complaint_severity_30d
        s[UNRESOLVED_30D],  # unresolved_complaints_30d
        days_since(last_complaint_us, as_of_us),  # days_since_last_complaint
        days_since(first_activation_us, as_of_us),  # tenure_days
        PAYMENT_TYPES[payment_type],  # payment_type
        bool(churned),  # churned
        plan or None,  # plan_code
        None if commitment == UNKNOWN_COUNT else float(commitment),  # commitment_months
        None if monthly_fee < 0.0 else monthly_fee,  # monthly_fee
        None if bundles == UNKNOWN_COUNT else float(bundles),  # bundled_services
        share(s[channels], topups_90d),  # topup_automatic_share_90d
        share(s[channels + 1], topups_90d),  # topup_digital_share_90d
        share(s[channels + 2], topups_90d),  # topup_manual_share_90d
        s[TOPUP_AMOUNT_90D] / topups_90d if topups_90d > 0.0 else 0.0,  # average_topup_90d
        s[CHARGE_30D],  # call_spend_30d
        s[CHARGE_90D],  # call_spend_90d
        night,  # night_call_share_30d
        max(1.0 - night - evening, 0.0) if calls_30d > 0.0 else 0.0,  # day_call_share_30d
        evening,  # evening_call_share_30d
        share(s[INTERNATIONAL_MINUTES_30D], minutes_30d),  # international_share_30d
        share(s[ROAMING_MINUTES_30D], minutes_30d),  # roaming_share_30d
        s[TOPUP_AMOUNT_90D],  # revenue_90d
    )


def share(part: float, whole: float) -> float:
    """``part / whole`` within 0..1, and 0 when there is no whole.

    >>> share(1.0, 4.0), share(0.0, 0.0), share(1.0 + 1e-16, 1.0)
    (0.25, 0.0, 1.0)
    """
    if whole <= 0.0:
        return 0.0
    return min(max(part / whole, 0.0), 1.0)


def days_since(at_us: float, as_of_us: float) -> float | None:
    """Days from ``at_us`` to ``as_of_us``, or None when ``at_us`` was never set (infinite).

    >>> days_since(0.0, 2 * DAY_US), days_since(-math.inf, 0.0)
    (2.0, None)
    """
    if math.isinf(at_us):
        return None
    return (as_of_us - at_us) / DAY_US
