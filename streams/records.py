"""A record as read from an input topic, independent of the Kafka client that read it."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

import msgspec

from schemas.outputs import DeadLetter
from schemas.parsing import Rejection

TopicPartition = tuple[str, int]
"""An input partition as (topic, partition number): the key of positions, progress and acks."""


@dataclass(frozen=True, slots=True)
class PartitionProgress:
    """Everything before ``next_offset`` is handled; ``tau_s`` is the effective time reached there."""

    next_offset: int
    tau_s: float


MAX_ORIGINAL_BYTES = 64 * 1024
MAX_ORIGINAL_KEY_BYTES = 1024


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """Raw key and value with the position they were read from; ``timestamp_s`` is the broker's."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_s: float | None = None


def dead_letter(record: SourceRecord, rejection: Rejection, rejected_at: datetime) -> DeadLetter:
    """The dead-letter record for a rejected input: original bytes, reason and source position.

    >>> from datetime import UTC
    >>> from schemas.outputs import DeadLetterReason
    >>> letter = dead_letter(SourceRecord("telco.calls", 2, 41, b"c1", b"{oops"),
    ...                      Rejection(DeadLetterReason.NOT_JSON, "bad"), datetime(2026, 1, 1, tzinfo=UTC))
    >>> letter.source_offset, letter.original_value_b64
    (41, 'e29vcHM=')

    Keys and values are capped (1 KiB, 64 KiB), so every dead letter fits the broker. A
    record that parsed carries its parsed form instead of its bytes (counterparty
    pseudonymised): a valid record's phone numbers never reach the dead-letter topic.
    """
    value = record.value or b""
    key = record.key
    shown = value if rejection.parsed is None else msgspec.json.encode(rejection.parsed)
    kept = shown[:MAX_ORIGINAL_BYTES]
    kept_key = None if key is None else key[:MAX_ORIGINAL_KEY_BYTES]
    return DeadLetter(
        reason=rejection.reason,
        detail=rejection.detail[:500],
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        original_key_b64=None if kept_key is None else base64.b64encode(kept_key).decode("ascii"),
        original_value_b64=base64.b64encode(kept).decode("ascii"),
        original_size=len(value),
        original_truncated=len(kept) < len(shown),
        original_key_size=0 if key is None else len(key),
        original_key_truncated=key is not None and len(key) > MAX_ORIGINAL_KEY_BYTES,
        original_pseudonymised=rejection.parsed is not None,
        rejected_at=rejected_at,
    )
