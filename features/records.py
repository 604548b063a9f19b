"""Events as compact fixed-size records: the one encoding both feature stores apply.

A record is a flat tuple (packed with ``RECORD`` for the Lua script, whose header
repeats the layout). Encoding does the per-event Python work once: event time in
integer microseconds, the ``event_id`` fingerprint, the contact bit and bucket.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from features.contacts import bucket_of, contact_bit
from features.store import PositionedEvent
from schemas.events import (
    CallDirection,
    CallEvent,
    ComplaintCategory,
    ComplaintEvent,
    CounterpartyNetwork,
    LifecycleEvent,
    LifecycleKind,
    PaymentType,
    TopupChannel,
    TopupEvent,
)

RECORD = struct.Struct("<BIidd8sBBBdiHdIdBB")
"""kind, topic id, partition, offset, time_us, fingerprint, code, level, resolved, quantity, contact
bucket, contact bit, amount, plan, activated_us, commitment, bundles (``EventRecord``'s fields; the
Lua script calls code, level, resolved, quantity a, b, c, x)."""

KIND_CALL = 1
KIND_TOPUP = 2
KIND_COMPLAINT = 3
KIND_LIFECYCLE = 4

CALL_OUTGOING = 1
CALL_DROPPED = 2
CALL_OFF_NET = 4
CALL_INTERNATIONAL = 8
CALL_ROAMING = 16
"""Call flag bits (field ``code``); off-net covers other domestic networks and international."""

NIGHT, DAYTIME, EVENING = 1, 2, 3
"""A call's time-of-day band (field ``level``), by the hour of ``event_time`` in its own offset:
night 00-07, day 07-18, evening 18-24 (the customer's local clock, as the network rated it)."""

TOPUP_CHANNELS: tuple[TopupChannel | None, ...] = (
    None,
    TopupChannel.RETAIL,
    TopupChannel.ONLINE,
    TopupChannel.APP,
    TopupChannel.VOUCHER,
    TopupChannel.AUTO,
    TopupChannel.BANK,
)
"""A top-up's channel (field ``code``), by index; 0 = not given."""

UNKNOWN_COUNT = 255
"""``commitment`` and ``bundles`` of a record that does not state them."""
UNKNOWN_FEE = -1.0
"""``amount`` of a lifecycle record that states no monthly fee."""
NO_ACTIVATION_US = float("inf")
"""``activated_us`` of a record that states no activation date."""

COMPLAINT_CATEGORIES: tuple[ComplaintCategory, ...] = (
    ComplaintCategory.NETWORK,
    ComplaintCategory.BILLING,
    ComplaintCategory.SERVICE,
    ComplaintCategory.PRICE,
    ComplaintCategory.TECHNICAL,
    ComplaintCategory.OTHER,
)
LIFECYCLE_KINDS: tuple[LifecycleKind, ...] = (
    LifecycleKind.ACTIVATED,
    LifecycleKind.PLAN_CHANGED,
    LifecycleKind.PORT_OUT,
    LifecycleKind.DEACTIVATED,
    LifecycleKind.REACTIVATED,
    LifecycleKind.PROFILE,
)
PAYMENT_TYPES: tuple[PaymentType | None, ...] = (None, PaymentType.PREPAID, PaymentType.POSTPAID)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_CATEGORY_INDEX = {category: index for index, category in enumerate(COMPLAINT_CATEGORIES)}
_LIFECYCLE_INDEX = {kind: index for index, kind in enumerate(LIFECYCLE_KINDS)}
_PAYMENT_INDEX = {payment: index for index, payment in enumerate(PAYMENT_TYPES)}
_CHANNEL_INDEX = {channel: index for index, channel in enumerate(TOPUP_CHANNELS)}
_BAND_OF_HOUR = bytes(NIGHT if hour < 7 else DAYTIME if hour < 18 else EVENING for hour in range(24))
_topic_ids: dict[str, int] = {}


class EventRecord(NamedTuple):
    """One positioned event, reduced to what the features need."""

    kind: int
    topic_id: int
    partition: int
    offset: float
    time_us: float
    fingerprint: bytes
    code: int  # call flags | top-up channel | complaint category | lifecycle kind (index)
    level: int  # call time-of-day band | complaint severity | lifecycle payment type (index)
    resolved: int  # complaint resolved (1) or not (0)
    quantity: float  # call minutes | top-up amount
    contact_bucket: int
    contact_bit: int
    amount: float = 0.0  # call charge | lifecycle monthly fee (UNKNOWN_FEE)
    plan: int = 0  # lifecycle plan code (``plan_code``); 0: the record names no plan
    activated_us: float = NO_ACTIVATION_US  # lifecycle ``activated_on``
    commitment: int = 0  # lifecycle commitment months (UNKNOWN_COUNT)
    bundles: int = 0  # lifecycle bundled services (UNKNOWN_COUNT)


def epoch_us(at: datetime) -> int:
    """An aware datetime as integer microseconds since the Unix epoch (exact).

    >>> epoch_us(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC))
    1000005
    """
    return (at - _EPOCH) // _ONE_US


def from_epoch_us(at_us: float) -> datetime:
    """The inverse of ``epoch_us``, in UTC.

    >>> from_epoch_us(1000005)
    datetime.datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=datetime.timezone.utc)
    """
    return _EPOCH + timedelta(microseconds=int(at_us))


def fingerprint(event_type: str, event_id: str) -> bytes:
    """8-byte fingerprint of an event's type and ``event_id``, for duplicate detection and tie-breaks.

    ``event_id`` is unique per topic (event type): the same id on the call and the
    lifecycle topic names two events, so neither can be dropped for the other, and within
    a topic the first record (lowest offset, applied first) is the one kept.

    >>> len(fingerprint("call", "e1")), fingerprint("call", "e1") == fingerprint("call", "e1")
    (8, True)
    >>> fingerprint("call", "e1") == fingerprint("lifecycle", "e1")
    False
    """
    return hashlib.blake2b(f"{event_type}\x1f{event_id}".encode(), digest_size=8).digest()


def topic_id(topic: str) -> int:
    """A 32-bit id of a topic name (CRC-32), so stored positions stay small.

    >>> topic_id("telco.calls") == topic_id("telco.calls")
    True
    """
    known = _topic_ids.get(topic)
    if known is None:
        known = _topic_ids[topic] = zlib.crc32(topic.encode())
    return known


def plan_code(plan: str) -> int:
    """A non-zero 32-bit code of a plan name (CRC-32; 0 is kept for "no plan named").

    >>> plan_code("prepaid-basic") == plan_code("prepaid-basic") != 0
    True
    """
    return zlib.crc32(plan.encode()) or 1


def encode(positioned: PositionedEvent) -> EventRecord:
    """The record of one positioned event (``counterparty`` already pseudonymised)."""
    event = positioned.event
    position = positioned.position
    head = (
        topic_id(position.topic),
        position.partition,
        float(position.offset),
        float(epoch_us(event.event_time)),
        fingerprint(event.type, event.event_id),
    )
    if isinstance(event, CallEvent):
        flags = CALL_OUTGOING if event.direction is CallDirection.OUTGOING else 0
        if event.dropped:
            flags |= CALL_DROPPED
        if event.counterparty_network is not CounterpartyNetwork.ON_NET:
            flags |= CALL_OFF_NET
            if event.counterparty_network is CounterpartyNetwork.INTERNATIONAL:
                flags |= CALL_INTERNATIONAL
        if event.roaming:
            flags |= CALL_ROAMING
        return EventRecord(
            KIND_CALL,
            *head,
            flags,
            _BAND_OF_HOUR[event.event_time.hour],
            0,
            event.duration_s / 60.0,
            bucket_of(int(head[3])),
            contact_bit(event.counterparty),
            event.charge,
        )
    if isinstance(event, TopupEvent):
        return EventRecord(KIND_TOPUP, *head, _CHANNEL_INDEX[event.channel], 0, 0, event.amount, 0, 0)
    if isinstance(event, ComplaintEvent):
        return EventRecord(
            KIND_COMPLAINT,
            *head,
            _CATEGORY_INDEX[event.category],
            event.severity,
            1 if event.resolved else 0,
            0.0,
            0,
            0,
        )
    return _encode_lifecycle(event, head)


def _encode_lifecycle(
    event: LifecycleEvent, head: tuple[int, int, float, float, bytes]
) -> EventRecord:
    named_plan = event.plan is not None
    return EventRecord(
        KIND_LIFECYCLE,
        *head,
        _LIFECYCLE_INDEX[event.kind],
        _PAYMENT_INDEX[event.payment_type],
        0,
        0.0,
        0,
        0,
        UNKNOWN_FEE if event.monthly_fee is None or not named_plan else event.monthly_fee,
        plan_code(event.plan) if event.plan is not None else 0,
        NO_ACTIVATION_US if event.activated_on is None else float(epoch_us(event.activation_time())),
        UNKNOWN_COUNT if event.commitment_months is None or not named_plan else event.commitment_months,
        UNKNOWN_COUNT if event.bundled_services is None or not named_plan else event.bundled_services,
    )
