"""The suppression list on Redis: customers whose alerts are held back (``policy.suppression``).

One hash per deployment (``{prefix}:suppressed``: customer id -> reason, note and when it
was added), written by ``churnwatch suppress`` and read for the customers about to be
alerted only, so it costs one HMGET per tick that alerts.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.exceptions import RedisError

from policy.suppression import Suppression, SuppressionReason
from schemas.errors import StorageUnavailableError
from store.client import RedisClient


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
