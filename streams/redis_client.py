"""The Redis client of a worker: a single server, or Redis Cluster in production."""

from __future__ import annotations

from redis.asyncio import Redis, RedisCluster

from features.redis_store import RedisClient

__all__ = ["RedisClient", "connect_redis"]


def connect_redis(url: str, cluster: bool) -> RedisClient:
    """A client for ``url``; Cluster clients follow slot redirects (every script call stays in one slot).

    Replies stay bytes: feature states are packed binary.
    """
    if cluster:
        return RedisCluster.from_url(url, decode_responses=False)
    return Redis.from_url(url, decode_responses=False)
