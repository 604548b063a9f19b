"""Alert states on Redis: one small string per alerted customer, keyed by the customer hash tag."""

from __future__ import annotations

from collections.abc import Sequence

from redis.exceptions import RedisError

from policy.alert_state import AlertState
from schemas.errors import StorageUnavailableError
from store.client import RedisClient
from store.keys import customer_key


def alert_state_key(prefix: str, customer_id: str) -> str:
    """Same hash tag as the customer's features, so both live in one Cluster slot.

    >>> alert_state_key("cw", "c42")
    'cw:{c42}:a'
    """
    return customer_key(prefix, customer_id, "a")


class AlertStateStore:
    """Reads alert states; writes happen with the run progress (``store.progress``)."""

    def __init__(self, redis: RedisClient, key_prefix: str) -> None:
        self._redis = redis
        self._prefix = key_prefix

    async def get_many(self, customer_ids: Sequence[str]) -> dict[str, AlertState]:
        """States of the customers that were ever alerted; the others are absent."""
        if not customer_ids:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for customer_id in customer_ids:
            pipe.get(alert_state_key(self._prefix, customer_id))
        try:
            values = await pipe.execute()
        except RedisError as error:
            raise StorageUnavailableError(f"alert state read failed: {error}") from error
        return {
            customer_id: AlertState.decode(value.decode())
            for customer_id, value in zip(customer_ids, values, strict=True)
            if value is not None
        }
