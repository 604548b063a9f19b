"""Redis bytes per customer: ``MEMORY USAGE`` of every key a customer owns, averaged over a sample."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from store.alert_states import alert_state_key
from store.features import feature_key


def sample_evenly(items: Sequence[str], size: int) -> list[str]:
    """Up to ``size`` items spread evenly over ``items`` (deterministic).

    >>> sample_evenly(["a", "b", "c", "d", "e", "f"], 3)
    ['a', 'c', 'e']
    """
    if size >= len(items):
        return list(items)
    step = len(items) / size
    return [items[int(index * step)] for index in range(size)]


async def bytes_per_customer(
    redis_url: str, prefix: str, customer_ids: Sequence[str], sample_size: int
) -> tuple[float, int]:
    """Mean bytes over sampled customers that have feature state, and how many were measured.

    Keys: features ``{prefix}:{<id>}:f`` and alert state ``{prefix}:{<id>}:a`` (absent = 0).
    """
    client = aioredis.Redis.from_url(redis_url)
    try:
        sample = sample_evenly(customer_ids, sample_size)
        pipe = client.pipeline(transaction=False)
        for customer_id in sample:
            pipe.memory_usage(feature_key(prefix, customer_id), samples=0)
            pipe.memory_usage(alert_state_key(prefix, customer_id), samples=0)
        sizes = await pipe.execute()
    finally:
        await client.aclose()
    totals = [
        features + (alert_state or 0)
        for features, alert_state in zip(sizes[0::2], sizes[1::2], strict=True)
        if features is not None
    ]
    return (sum(totals) / len(totals) if totals else 0.0), len(totals)
