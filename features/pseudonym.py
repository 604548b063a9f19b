"""Keyed pseudonyms for counterparty numbers, so raw phone numbers never reach Redis or logs.

HMAC-SHA256 with a secret key, truncated to 128 bits and written as unpadded base64url
(22 characters). Without the key a pseudonym cannot be linked back to a number, and the
same number always maps to the same pseudonym under one key (distinct-contact counts
stay exact up to the sketch). Pseudonymising is not idempotent: apply it once, on ingest.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
from functools import lru_cache

from msgspec import structs

from schemas.events import CallEvent

PSEUDONYM_BYTES = 16
_PSEUDONYM_CHARS = 22  # base64 of 16 bytes, without its two "=" of padding
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def pseudonymise(value: str, key: bytes) -> str:
    """The keyed pseudonym of ``value`` (22 base64url characters).

    >>> pseudonymise("+447700900123", b"k1")
    'bpeqmo2k1fKjppI7uNzvNA'
    >>> pseudonymise("+447700900123", b"k2") != pseudonymise("+447700900123", b"k1")
    True
    """
    mac = _keyed_mac(key).copy()
    mac.update(value.encode())
    encoded = binascii.b2a_base64(mac.digest()[:PSEUDONYM_BYTES], newline=False)
    return encoded[:_PSEUDONYM_CHARS].translate(_URLSAFE).decode("ascii")


@lru_cache(maxsize=4)
def _keyed_mac(key: bytes) -> hmac.HMAC:
    """The HMAC with ``key`` already absorbed; a copy of it costs less than keying a new one."""
    return hmac.new(key, digestmod=hashlib.sha256)


def pseudonymise_call(event: CallEvent, key: bytes) -> CallEvent:
    """A copy of ``event`` whose ``counterparty`` is replaced by its keyed pseudonym.

    >>> from datetime import UTC, datetime
    >>> from schemas.events import CallDirection
    >>> call = CallEvent(event_id="e1", customer_id="c1", event_time=datetime(2026, 1, 1, tzinfo=UTC),
    ...                  direction=CallDirection.OUTGOING, duration_s=60.0, counterparty="+447700900123")
    >>> pseudonymise_call(call, b"k1").counterparty
    'bpeqmo2k1fKjppI7uNzvNA'
    """
    return structs.replace(event, counterparty=pseudonymise(event.counterparty, key))
