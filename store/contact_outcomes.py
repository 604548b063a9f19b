"""Contact outcomes on Redis (``policy.contact_outcomes``), recorded from the queue page.

One hash per deployment (``{prefix}:outcomes``: customer id -> the latest outcome as JSON),
read by ``churnwatch scores export``, and per customer the last ``OUTCOMES_KEPT`` outcomes
(``{prefix}:{customer}:outcomes``, a capped list, newest first) for the customer's page.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.exceptions import RedisError

from policy.contact_outcomes import RecordedOutcome
from schemas.errors import StorageUnavailableError
from store.client import RedisClient
from store.keys import customer_key

OUTCOMES_KEPT = 20


def outcomes_key(prefix: str) -> str:
    """
    >>> outcomes_key("cw")
    'cw:outcomes'
    """
    return f"{prefix}:outcomes"


def outcome_log_key(prefix: str, customer_id: str) -> str:
    """
    >>> outcome_log_key("cw", "c42")
    'cw:{c42}:outcomes'
    """
    return customer_key(prefix, customer_id, "outcomes")


class ContactOutcomeStore:
    """Record outcomes; read the latest per customer and a customer's recent ones."""

    def __init__(self, redis: RedisClient, key_prefix: str) -> None:
        self._redis = redis
        self._prefix = key_prefix

    async def record(self, recorded: RecordedOutcome) -> None:
        """Latest outcome and the customer's log; two keys in two slots, so two commands."""
        encoded = recorded.encode()
        log_key = outcome_log_key(self._prefix, recorded.customer_id)
        try:
            await self._redis.hset(outcomes_key(self._prefix), recorded.customer_id, encoded)
            pipe = self._redis.pipeline(transaction=False)
            pipe.lpush(log_key, encoded)
            pipe.ltrim(log_key, 0, OUTCOMES_KEPT - 1)
            await pipe.execute()
        except RedisError as error:
            raise StorageUnavailableError(f"outcome write failed: {error}") from error

    async def latest(self, customer_ids: Sequence[str]) -> dict[str, RecordedOutcome]:
        """The latest outcome of each of these customers that has one."""
        if not customer_ids:
            return {}
        try:
            values = await self._redis.hmget(outcomes_key(self._prefix), list(customer_ids))
        except RedisError as error:
            raise StorageUnavailableError(f"outcome read failed: {error}") from error
        return {
            customer_id: RecordedOutcome.decode(customer_id, value)
            for customer_id, value in zip(customer_ids, values, strict=True)
            if value is not None
        }

    async def recent(self, customer_id: str) -> list[RecordedOutcome]:
        """A customer's last outcomes, newest first."""
        try:
            values = await self._redis.lrange(outcome_log_key(self._prefix, customer_id), 0, -1)
        except RedisError as error:
            raise StorageUnavailableError(f"outcome read failed: {error}") from error
        return [RecordedOutcome.decode(customer_id, value) for value in values]
