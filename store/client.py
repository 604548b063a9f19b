"""The Redis client of a worker: a single server, or Redis Cluster in production."""

from __future__ import annotations

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from schemas.errors import StorageUnavailableError

RedisClient = Redis | RedisCluster
UNLINK_CHUNK = 500


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


async def delete_prefix(redis: RedisClient, prefix: str) -> int:
    """Delete every key under ``prefix:`` (all nodes of a Cluster); returns how many."""
    deleted = 0
    chunk: list[bytes] = []
    try:
        async for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
            chunk.append(key)
            if len(chunk) >= UNLINK_CHUNK:
                deleted += await _unlink(redis, chunk)
                chunk = []
        if chunk:
            deleted += await _unlink(redis, chunk)
    except RedisError as error:
        raise StorageUnavailableError(f"deleting the key prefix failed: {error}") from error
    return deleted


async def _unlink(redis: RedisClient, keys: list[bytes]) -> int:
    # one key per call: on a Cluster the keys of a chunk live in many slots
    pipe = redis.pipeline(transaction=False)
    for key in keys:
        pipe.unlink(key)
    return sum(int(count) for count in await pipe.execute())
