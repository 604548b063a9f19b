"""The Redis client of a worker: a single server, or Redis Cluster in production."""

from __future__ import annotations

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from features.redis_store import RedisClient

__all__ = ["RedisClient", "connect_redis"]


def connect_redis(url: str, cluster: bool, timeout_s: float = 5.0) -> RedisClient:
    """A client for ``url``; Cluster clients follow slot redirects (every script call stays in one slot).

    Replies stay bytes: feature states are packed binary. Every call gives up after
    ``timeout_s`` (a frozen server must surface as an error, not a hang) and is retried
    once by the client; longer outages are the coordinator's to handle, with backoff,
    metrics and a deadline.
    """
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), 1)
    if cluster:
        return RedisCluster.from_url(
            url,
            decode_responses=False,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=retry,
        )
    return Redis.from_url(
        url,
        decode_responses=False,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=retry,
    )
