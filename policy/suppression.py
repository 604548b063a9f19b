"""Customers the retention team must not contact (or has handled): their alerts are held back.

One Redis hash per deployment (``{prefix}:suppressed``: customer id -> reason, note and
when it was added), written by ``churnwatch suppress`` and read by the policy for the
customers about to be alerted only, so it costs one HMGET per tick that alerts. A held
alert still moves the customer's alert state (its cooldown runs), so a suppressed
customer is counted once per alert the team would have had, not once per tick.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from redis.exceptions import RedisError

from features.redis_store import RedisClient
from schemas.errors import StorageUnavailableError


class SuppressionReason(StrEnum):
    """Why a customer is not to be contacted; a small fixed set, so metrics stay readable."""

    DO_NOT_CONTACT = "do_not_contact"  # the customer asked, or the law says so
    HANDLED = "handled"  # already in the team's hands (a contact, an open case)
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Suppression:
    customer_id: str
    reason: SuppressionReason
    note: str
    added_at: datetime

    def encode(self) -> str:
        return json.dumps(
            {"reason": self.reason.value, "note": self.note, "added_at": self.added_at.isoformat()}
        )

    @classmethod
    def decode(cls, customer_id: str, raw: bytes | str) -> Suppression:
        values = json.loads(raw)
        return cls(
            customer_id,
            SuppressionReason(values["reason"]),
            str(values.get("note", "")),
            datetime.fromisoformat(values["added_at"]),
        )


def suppression_key(prefix: str) -> str:
    """
    >>> suppression_key("cw")
    'cw:suppressed'
    """
    return f"{prefix}:suppressed"


class SuppressionStore:
    """Add, remove, list and look up suppressed customers."""

    def __init__(self, redis: RedisClient, key_prefix: str) -> None:
        self._redis = redis
        self._key = suppression_key(key_prefix)

    async def add(self, suppression: Suppression) -> None:
        await self._redis.hset(self._key, suppression.customer_id, suppression.encode())

    async def remove(self, customer_id: str) -> bool:
        """True if the customer was suppressed."""
        return bool(await self._redis.hdel(self._key, customer_id))

    async def all(self) -> list[Suppression]:
        entries = await self._redis.hgetall(self._key)
        return sorted(
            (
                Suppression.decode(key.decode() if isinstance(key, bytes) else key, value)
                for key, value in entries.items()
            ),
            key=lambda s: s.customer_id,
        )

    async def reasons(self, customer_ids: Sequence[str]) -> dict[str, SuppressionReason]:
        """The reason of each suppressed customer among these; the others are absent."""
        if not customer_ids:
            return {}
        try:
            values = await self._redis.hmget(self._key, list(customer_ids))
        except RedisError as error:
            raise StorageUnavailableError(f"suppression read failed: {error}") from error
        return {
            customer_id: Suppression.decode(customer_id, value).reason
            for customer_id, value in zip(customer_ids, values, strict=True)
            if value is not None
        }
