"""The feature store on Redis: one Lua call per customer, one pipelined round trip per batch.

Each customer has one key, ``{prefix}:{<customer id>}:f``, holding their packed state
(``features.state_codec``); the braces make the customer id the Cluster hash tag.
Customer ids that contain ``{`` or ``}`` are replaced in keys by ``#`` plus 32 hex
digits of their SHA-256, so the tag stays well formed. ``apply_events.lua`` applies a
customer's events atomically and returns the new state, which Python turns into the
vector with the same code the in-memory store uses.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError, ResponseError

from features.config import FeatureConfig
from features.errors import FeatureStoreUnavailableError
from features.records import RECORD, encode
from features.state_codec import packed_vector
from features.store import ApplyResult, PositionedEvent
from features.vector import FeatureVector
from store.client import RedisClient
from store.keys import customer_key
from store.resp import evalsha_pipeline

_APPLIED, _DUPLICATE, _REPLAYED_DUPLICATE = ord("a"), ord("d"), ord("D")


def feature_key(prefix: str, customer_id: str) -> str:
    """The Redis key of a customer's feature state.

    >>> feature_key("cw", "c42")
    'cw:{c42}:f'
    """
    return customer_key(prefix, customer_id, "f")


def _load_script_source() -> str:
    return (
        importlib.resources.files("store")
        .joinpath("lua", "apply_events.lua")
        .read_text(encoding="utf-8")
    )


def _result(
    events: Sequence[PositionedEvent], groups: dict[str, list[int]], replies: Sequence[Any]
) -> ApplyResult:
    """One batch's result from its customers' replies (in ``groups`` order)."""
    applied = replayed = 0
    duplicate_indexes: list[int] = []
    vectors: dict[str, FeatureVector] = {}
    for (customer_id, group), (blob, outcomes) in zip(groups.items(), replies, strict=True):
        vectors[customer_id] = packed_vector(blob, customer_id)
        for index, outcome in zip(group, outcomes, strict=True):
            if outcome == _APPLIED:
                applied += 1
            elif outcome == _DUPLICATE:
                duplicate_indexes.append(index)
            else:
                replayed += 1
                if outcome == _REPLAYED_DUPLICATE:
                    duplicate_indexes.append(index)
    duplicate_indexes.sort()
    return ApplyResult(
        vectors=vectors,
        applied=applied,
        replayed=replayed,
        duplicates=tuple(events[index] for index in duplicate_indexes),
    )


class RedisFeatureStore:
    """``FeatureStore`` on Redis; matches ``InMemoryFeatureStore`` result for result.

    The client must return bytes (``decode_responses=False``): states are binary.
    """

    def __init__(self, redis: RedisClient, config: FeatureConfig) -> None:
        if redis.get_encoder().decode_responses:
            raise ValueError("RedisFeatureStore needs a client with decode_responses=False")
        self._redis = redis
        self._prefix = config.key_prefix
        self._ring_size = config.duplicate_ring_size
        self._script = redis.register_script(_load_script_source())
        self._sha = str(self._script.sha).encode()
        self._ring_arg = str(self._ring_size).encode()

    async def apply(self, events: Sequence[PositionedEvent]) -> ApplyResult:
        """Apply a batch in order; idempotent per source position and per ``event_id``."""
        return (await self.apply_ticks([events]))[0]

    async def apply_ticks(self, ticks: Sequence[Sequence[PositionedEvent]]) -> list[ApplyResult]:
        """Apply consecutive batches in order; one result per batch, as ``apply`` gives it.

        One EVALSHA per (batch, customer), batch by batch, all sent in a single round
        trip: on a plain client as bytes packed here (``store.resp``) on one pooled
        connection, on a Cluster client as a redis-py pipeline (which routes each call to
        its slot's node and keeps each node's calls in order). Redis runs them in order,
        so a customer's call for a later batch sees the state the earlier one left, and
        each reply is the customer's state right after that batch.
        After ``SCRIPT FLUSH`` or a failover, the calls that found no script (and so
        changed nothing) are repeated in order through the registered script, which reloads it.
        """
        pack = RECORD.pack
        prefix = self._prefix
        keys: list[bytes] = []
        payloads: list[bytes] = []
        tick_groups: list[dict[str, list[int]]] = []
        for events in ticks:
            groups: dict[str, list[int]] = {}  # customer -> indexes into events, in order
            for index, positioned in enumerate(events):
                customer_id = positioned.event.customer_id
                group = groups.get(customer_id)
                if group is None:
                    groups[customer_id] = [index]
                else:
                    group.append(index)
            for customer_id, group in groups.items():
                keys.append(feature_key(prefix, customer_id).encode())
                payloads.append(b"".join([pack(*encode(events[index])) for index in group]))
            tick_groups.append(groups)
        if not keys:
            return [ApplyResult(vectors={}, applied=0, replayed=0) for _ in ticks]
        try:
            if isinstance(self._redis, Redis) and not self._redis.single_connection_client:
                replies = await self._call_packed(self._redis, keys, payloads)
            else:
                replies = await self._call_pipelined(keys, payloads)
            for index, reply in enumerate(replies):
                if isinstance(reply, NoScriptError):
                    replies[index] = await self._script(
                        keys=[keys[index]], args=[self._ring_size, payloads[index]]
                    )
                elif isinstance(reply, Exception):
                    raise reply
        except RedisError as error:
            raise FeatureStoreUnavailableError(f"feature store batch failed: {error}") from error
        results: list[ApplyResult] = []
        at = 0
        for events, groups in zip(ticks, tick_groups, strict=True):
            tick_replies = replies[at : at + len(groups)]
            at += len(groups)
            results.append(_result(events, groups, tick_replies))
        return results

    async def _call_packed(
        self, client: Redis, keys: list[bytes], payloads: list[bytes]
    ) -> list[Any]:
        """One write of every call and one read of every reply on one pooled connection.

        Error replies come back as exceptions in their place (the connection stays in
        step); connection failures are retried by the client's retry policy like any
        command (a repeated call is a replay, which the script ignores).
        """
        command = evalsha_pipeline(self._sha, self._ring_size, keys, payloads)
        pool = client.connection_pool
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]

        async def round_trip() -> list[Any]:
            await connection.send_packed_command(command)
            replies: list[Any] = []
            for _ in keys:
                try:
                    replies.append(await connection.read_response(disable_decoding=True))
                except ResponseError as error:
                    replies.append(error)
            return replies

        async def reset(error: Exception) -> None:
            await connection.disconnect()

        try:
            return await connection.retry.call_with_retry(round_trip, reset)  # type: ignore[no-any-return]
        finally:
            await pool.release(connection)

    async def _call_pipelined(self, keys: list[bytes], payloads: list[bytes]) -> list[Any]:
        """The same calls through a redis-py pipeline, arguments already encoded."""
        pipe = self._redis.pipeline(transaction=False)
        for key, payload in zip(keys, payloads, strict=True):
            pipe.execute_command("EVALSHA", self._sha, 1, key, self._ring_arg, payload)
        return await pipe.execute(raise_on_error=False)

    async def read_many(self, customer_ids: Sequence[str]) -> dict[str, FeatureVector]:
        """Vectors of the customers ever seen among these, in one pipelined round trip."""
        if not customer_ids:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for customer_id in customer_ids:
            pipe.get(feature_key(self._prefix, customer_id))
        try:
            blobs = await pipe.execute()
        except RedisError as error:
            raise FeatureStoreUnavailableError(f"feature store read failed: {error}") from error
        return {
            customer_id: packed_vector(blob, customer_id)
            for customer_id, blob in zip(customer_ids, blobs, strict=True)
            if isinstance(blob, bytes)
        }

    async def read(self, customer_id: str) -> FeatureVector | None:
        """The customer's vector as of their latest event, or None if never seen."""
        try:
            blob = await self._redis.get(feature_key(self._prefix, customer_id))
        except RedisError as error:
            raise FeatureStoreUnavailableError(f"feature store read failed: {error}") from error
        if blob is None:
            return None
        if not isinstance(blob, bytes):
            raise TypeError("RedisFeatureStore needs a client with decode_responses=False")
        return packed_vector(blob, customer_id)
