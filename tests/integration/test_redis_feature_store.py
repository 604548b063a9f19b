"""The Redis feature store on a real Redis: equal to the in-memory store and the oracle,
idempotent, one round trip per batch, within the memory budget, Cluster-safe."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from msgspec import structs
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.crc import key_slot

from features.config import FeatureConfig
from features.errors import FeatureStoreUnavailableError
from features.pseudonym import pseudonymise_call
from features.reference_store import InMemoryFeatureStore
from features.store import PositionedEvent, SourcePosition
from schemas.events import (
    CallDirection,
    CallEvent,
    ComplaintCategory,
    ComplaintEvent,
    CounterpartyNetwork,
    LifecycleEvent,
    LifecycleKind,
    PaymentType,
    TopupEvent,
)
from stack.process import free_port, start_server
from stack.redis_server import find_redis_server
from store.features import RedisFeatureStore
from tests.fixtures.deadline import eventually
from tests.unit.test_features_reference_store import (
    RING_FOR_TESTS,
    START,
    assert_results_equal,
    assert_vectors_close,
    delivered_batches,
    input_events,
    oracle_vectors,
    partition_of,
    topic_of,
)

pytestmark = pytest.mark.integration
T = TypeVar("T")


def _run(redis_url: str, body: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
    """Run ``body`` with a fresh client in a fresh event loop (Hypothesis examples are sync)."""

    async def main() -> T:
        client = aioredis.Redis.from_url(redis_url)
        try:
            return await body(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def _config(ring: FeatureConfig = RING_FOR_TESTS) -> FeatureConfig:
    return ring.model_copy(update={"key_prefix": f"t{uuid.uuid4().hex[:10]}"})


async def _customer_keys(client: aioredis.Redis, prefix: str) -> list[bytes]:
    return [key async for key in client.scan_iter(match=f"{prefix}:*")]


def _full_history(customer_id: str, calls: int = 300) -> list[PositionedEvent]:
    """Every event type and topic, hundreds of contacts over 40 days, a full duplicate ring."""
    events: list[Any] = []
    for index in range(calls):
        events.append(
            CallEvent(
                event_id=f"call-{index:06d}-{'x' * 100}",
                customer_id=customer_id,
                event_time=START + timedelta(hours=3 * index),
                direction=CallDirection.OUTGOING if index % 2 else CallDirection.INCOMING,
                duration_s=95,
                counterparty=f"contact-{index}",
                counterparty_network=CounterpartyNetwork.INTERNATIONAL,
                dropped=index % 7 == 0,
            )
        )
    for index in range(20):
        at = START + timedelta(days=2 * index)
        events.append(TopupEvent(event_id=f"t{index}", customer_id=customer_id, event_time=at, amount=10))
        events.append(
            ComplaintEvent(
                event_id=f"k{index}",
                customer_id=customer_id,
                event_time=at,
                category=list(ComplaintCategory)[index % 6],
                severity=1 + index % 5,
            )
        )
    for index, kind in enumerate(LifecycleKind):
        events.append(
            LifecycleEvent(
                event_id=f"l{index}",
                customer_id=customer_id,
                event_time=START + timedelta(days=index),
                kind=kind,
                payment_type=PaymentType.POSTPAID,
                plan="unlimited-family-plan",
            )
        )
    offsets: dict[str, int] = {}
    positioned = []
    for event in events:
        topic = f"telco.{topic_of(event)}"
        offsets[topic] = offsets.get(topic, 1_000_000_000_000) + 1
        positioned.append(PositionedEvent(event, SourcePosition(topic, 11, offsets[topic])))
    return positioned


class TestRedisMatchesReference:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(batches=delivered_batches())
    def test_redis_memory_and_oracle_agree_on_every_batch(
        self, redis_url: str, batches: list[list[PositionedEvent]]
    ) -> None:
        """Shuffled, duplicated, replayed delivery gives equal results in both stores and the oracle."""
        config = _config()

        async def body(client: aioredis.Redis) -> None:
            redis_store = RedisFeatureStore(client, config)
            memory_store = InMemoryFeatureStore(config)
            for batch in batches:
                assert_results_equal(await redis_store.apply(batch), await memory_store.apply(batch))
            deliveries = [event for batch in batches for event in batch]
            for customer_id, expected in oracle_vectors(deliveries).items():
                actual = await redis_store.read(customer_id)
                assert actual is not None
                assert_vectors_close(actual, expected)

        _run(redis_url, body)

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(batches=delivered_batches())
    def test_batches_applied_together_give_each_batch_its_own_result(
        self, redis_url: str, batches: list[list[PositionedEvent]]
    ) -> None:
        """Consecutive batches in one round trip: each result is the one applying them one by one gives."""
        config = _config()

        async def body(client: aioredis.Redis) -> None:
            together = await RedisFeatureStore(client, config).apply_ticks(batches)
            memory_store = InMemoryFeatureStore(config)
            alone = [await memory_store.apply(batch) for batch in batches]
            assert len(together) == len(alone)
            for from_redis, from_memory in zip(together, alone, strict=True):
                assert_results_equal(from_redis, from_memory)

        _run(redis_url, body)


class FeatureStoreMachine(RuleBasedStateMachine):
    """Produce, duplicate, deliver and rewind; both stores and the oracle must always agree."""

    def __init__(self, redis_url: str) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.client = aioredis.Redis.from_url(redis_url)
        config = _config()
        self.redis_store = RedisFeatureStore(self.client, config)
        self.memory_store = InMemoryFeatureStore(config)
        self.produced: list[PositionedEvent] = []
        self.delivered: list[PositionedEvent] = []
        self.cursor = 0
        self.clock_hours = 0
        self.offsets: dict[tuple[str, int], int] = {}

    def _produce(self, event: Any) -> None:
        stream = (topic_of(event), partition_of(event.customer_id))
        self.offsets[stream] = self.offsets.get(stream, -1) + 1
        self.produced.append(PositionedEvent(event, SourcePosition(*stream, self.offsets[stream])))

    @precondition(lambda self: len(self.produced) < 30)
    @rule(data=st.data(), advance=st.integers(0, 24 * 15), late=st.integers(0, 72))
    def produce(self, data: st.DataObject, advance: int, late: int) -> None:
        self.clock_hours += advance
        hour = max(self.clock_hours - late, 0)
        self._produce(data.draw(input_events(f"e{len(self.produced)}", hour)))

    @precondition(lambda self: 0 < len(self.produced) < 30)
    @rule(data=st.data())
    def produce_duplicate(self, data: st.DataObject) -> None:
        self._produce(data.draw(st.sampled_from(self.produced)).event)

    @precondition(lambda self: self.cursor < len(self.produced))
    @rule(size=st.integers(1, 8))
    def deliver(self, size: int) -> None:
        batch = self.produced[self.cursor : self.cursor + size]
        self.cursor += len(batch)
        self.delivered.extend(batch)
        from_redis = self.loop.run_until_complete(self.redis_store.apply(batch))
        from_memory = self.loop.run_until_complete(self.memory_store.apply(batch))
        assert_results_equal(from_redis, from_memory)

    @rule(back=st.integers(1, 6))
    def rewind(self, back: int) -> None:
        self.cursor = max(0, self.cursor - back)

    @invariant()
    def stores_equal_the_oracle(self) -> None:
        for customer_id, expected in oracle_vectors(self.delivered).items():
            actual = self.loop.run_until_complete(self.redis_store.read(customer_id))
            assert actual is not None
            assert_vectors_close(actual, expected)

    def teardown(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


def test_store_state_machine_agrees_with_reference(redis_url: str) -> None:
    """Any interleaving of production, duplication, delivery and rewinds keeps the stores equal."""
    run_state_machine_as_test(
        lambda: FeatureStoreMachine(redis_url),
        settings=settings(max_examples=25, stateful_step_count=25, deadline=None),
    )


class TestRedisStoreOperations:
    async def test_full_history_customer_fits_in_one_kibibyte(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """MEMORY USAGE summed over every key of a full-history, 64-character customer is <= 1024."""
        customer_id = "c" * 64
        store = RedisFeatureStore(redis_client, FeatureConfig(key_prefix=key_prefix))
        await store.apply(_full_history(customer_id))
        keys = await _customer_keys(redis_client, key_prefix)
        usage = [await redis_client.memory_usage(key, samples=0) for key in keys]
        assert keys
        assert sum(usage) <= 1024, usage

    async def test_every_key_of_a_customer_hashes_to_one_cluster_slot(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """Each customer's keys hash to the slot of their id (or of its digest if it has braces)."""
        store = RedisFeatureStore(redis_client, FeatureConfig(key_prefix=key_prefix))
        tags = {
            "plain-42": "plain-42",
            "we{ird}": "#" + hashlib.sha256(b"we{ird}").hexdigest()[:32],
            "}x{": "#" + hashlib.sha256(b"}x{").hexdigest()[:32],
        }
        for customer_id in tags:
            await store.apply(_full_history(customer_id, calls=5))
        keys = await _customer_keys(redis_client, key_prefix)
        slots_by_tag: dict[str, set[int]] = {}
        for key in keys:
            tag = key.decode().split("{", 1)[1].split("}", 1)[0]
            slots_by_tag.setdefault(tag, set()).add(key_slot(key))
        assert slots_by_tag == {tag: {key_slot(tag.encode())} for tag in tags.values()}

    async def test_batch_recovers_after_script_flush(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """After SCRIPT FLUSH the next batch reloads the script and gives the reference result."""
        config = FeatureConfig(key_prefix=key_prefix)
        redis_store = RedisFeatureStore(redis_client, config)
        memory_store = InMemoryFeatureStore(config)
        history = _full_history("c1", calls=20)
        assert_results_equal(await redis_store.apply(history[:10]), await memory_store.apply(history[:10]))
        await redis_client.script_flush()
        assert_results_equal(await redis_store.apply(history[5:]), await memory_store.apply(history[5:]))

    async def test_batch_is_one_round_trip(self, redis_url: str, key_prefix: str) -> None:
        """A batch for many customers is sent as one write and answered by one read cycle."""
        sends: list[int] = []

        class CountingConnection(Connection):
            async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
                sends.append(1)
                await super().send_packed_command(command, check_health)

        pool = aioredis.ConnectionPool.from_url(redis_url, connection_class=CountingConnection)
        client = aioredis.Redis(connection_pool=pool)
        try:
            store = RedisFeatureStore(client, FeatureConfig(key_prefix=key_prefix))
            await client.ping()
            await store.apply(_full_history("warm", calls=2))  # loads the script once
            sends.clear()
            batch = [event for index in range(40) for event in _full_history(f"c{index}", calls=3)]
            result = await store.apply(batch)
            assert len(result.vectors) == 40
            assert len(sends) == 1
            sends.clear()
            ticks = [_full_history(f"c{index % 5}", calls=3)[index % 3 :] for index in range(12)]
            results = await store.apply_ticks(ticks)
            assert [len(result.vectors) for result in results] == [1] * 12
            assert len(sends) == 1
        finally:
            await client.aclose()

    async def test_event_id_is_unique_per_topic_and_the_first_record_wins(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """An id re-used on another topic is a second event; on the same topic the later record is the
        duplicate, whatever it says; both stores agree."""
        call = CallEvent(
            event_id="e1",
            customer_id="c1",
            event_time=START,
            direction=CallDirection.OUTGOING,
            duration_s=60,
            counterparty="x",
        )
        fake_call = structs.replace(call, duration_s=3000.0, event_time=START + timedelta(hours=1))
        topup = TopupEvent(event_id="e1", customer_id="c1", event_time=START + timedelta(hours=2), amount=50)
        batch = [
            PositionedEvent(call, SourcePosition("calls", 0, 7)),
            PositionedEvent(topup, SourcePosition("topups", 0, 3)),
            PositionedEvent(fake_call, SourcePosition("calls", 0, 8)),
        ]
        store = RedisFeatureStore(redis_client, FeatureConfig(key_prefix=key_prefix))
        result = await store.apply(batch)
        reference = await InMemoryFeatureStore(FeatureConfig()).apply(batch)
        assert result.applied == reference.applied == 2
        assert result.duplicates == reference.duplicates == (batch[2],)
        vector = result.vectors["c1"]
        assert vector.topup_amount_30d > 0
        assert vector.minutes_out_30d == pytest.approx(1.0, rel=0.01)

    async def test_raw_counterparty_never_reaches_redis(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """Neither the raw number nor its pseudonym appears in any key or value."""
        number = "+447700900123"
        call = CallEvent(
            event_id="e1",
            customer_id="c1",
            event_time=START,
            direction=CallDirection.OUTGOING,
            duration_s=60,
            counterparty=number,
        )
        masked = pseudonymise_call(call, b"secret")
        store = RedisFeatureStore(redis_client, FeatureConfig(key_prefix=key_prefix))
        await store.apply([PositionedEvent(masked, SourcePosition("calls", 0, 0))])
        keys = await _customer_keys(redis_client, key_prefix)
        assert keys
        for key in keys:
            value = await redis_client.get(key)
            for needle in (number.encode(), number[1:].encode(), masked.counterparty.encode()):
                assert needle not in key
                assert needle not in value

    async def test_unreachable_redis_raises_feature_store_unavailable(self) -> None:
        """A connection failure surfaces as FeatureStoreUnavailableError for apply and read."""
        client = aioredis.Redis(
            host="127.0.0.1", port=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
        )
        store = RedisFeatureStore(client, FeatureConfig())
        try:
            with pytest.raises(FeatureStoreUnavailableError):
                await store.apply(_full_history("c1", calls=1))
            with pytest.raises(FeatureStoreUnavailableError):
                await store.read("c1")
        finally:
            await client.aclose()

    async def test_read_returns_the_reference_vector_and_none_for_strangers(
        self, redis_client: aioredis.Redis, key_prefix: str
    ) -> None:
        """read() gives the same vector as the in-memory store, and None for unknown customers."""
        config = FeatureConfig(key_prefix=key_prefix)
        redis_store, memory_store = RedisFeatureStore(redis_client, config), InMemoryFeatureStore(config)
        history = _full_history("c1", calls=50)
        await redis_store.apply(history)
        await memory_store.apply(history)
        from_redis, from_memory = await redis_store.read("c1"), await memory_store.read("c1")
        assert from_redis is not None
        assert from_memory is not None
        assert_vectors_close(from_redis, from_memory)
        assert await redis_store.read("nobody") is None

    def test_client_decoding_responses_is_rejected(self, redis_url: str) -> None:
        """States are binary, so a client with decode_responses=True is refused up front."""
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        with pytest.raises(ValueError, match="decode_responses"):
            RedisFeatureStore(client, FeatureConfig())


@pytest.fixture(scope="module")
def cluster_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A one-node Redis Cluster (all 16384 slots on one server), started once for this module."""
    work_dir = tmp_path_factory.mktemp("redis-cluster")
    port = free_port()
    argv = [
        find_redis_server(),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--save", "",
        "--appendonly", "no",
        "--dir", str(work_dir),
        "--cluster-enabled", "yes",
        "--cluster-port", str(free_port()),  # the default, port + 10000, may not exist
        "--cluster-config-file", str(work_dir / "nodes.conf"),
    ]  # fmt: skip
    server = start_server("redis-cluster", argv, "127.0.0.1", port, work_dir / "redis.log")
    try:

        async def cluster_ready() -> None:
            client = aioredis.Redis(port=port)
            try:
                await client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)

                async def state_ok() -> None:
                    assert b"cluster_state:ok" in await client.execute_command("CLUSTER", "INFO")

                await eventually(state_ok, timeout=20)
            finally:
                await client.aclose()

        asyncio.run(cluster_ready())
        yield port
    finally:
        server.stop()


class TestRedisClusterClient:
    def test_cluster_client_matches_the_reference_and_survives_script_flush(self, cluster_port: int) -> None:
        """Through a RedisCluster client, batches give the in-memory results, also after SCRIPT FLUSH."""

        async def body() -> None:
            client = aioredis.RedisCluster(host="127.0.0.1", port=cluster_port)
            try:
                config = _config(FeatureConfig())
                redis_store, memory_store = RedisFeatureStore(client, config), InMemoryFeatureStore(config)
                history = [e for index in range(5) for e in _full_history(f"c{index}", calls=12)]
                for batch in (history[:40], history[30:]):
                    assert_results_equal(await redis_store.apply(batch), await memory_store.apply(batch))
                    await client.script_flush()
                for index in range(5):
                    from_redis = await redis_store.read(f"c{index}")
                    from_memory = await memory_store.read(f"c{index}")
                    assert from_redis is not None
                    assert from_memory is not None
                    assert_vectors_close(from_redis, from_memory)
            finally:
                await client.aclose()

        asyncio.run(body())


@pytest.mark.slow
async def test_apply_throughput_on_real_redis(redis_client: aioredis.Redis, key_prefix: str) -> None:
    """20k call events over 5k customers in batches of 500 apply at well over 10k events/s.

    A benchmark (``pytest -m slow -s -k throughput``): prints events/s and us/event of
    the best of three runs, each on fresh keys.
    """
    events = [
        PositionedEvent(
            CallEvent(
                event_id=f"e{index}",
                customer_id=f"customer-{(index * 7919) % 5000:05d}",
                event_time=START + timedelta(seconds=300 * index),
                direction=CallDirection.OUTGOING,
                duration_s=120,
                counterparty=f"p{index % 97}",
            ),
            SourcePosition("telco.calls", 0, index),
        )
        for index in range(20_000)
    ]
    best_s = float("inf")
    for run in range(3):
        store = RedisFeatureStore(redis_client, FeatureConfig(key_prefix=f"{key_prefix}r{run}"))
        started = time.perf_counter()
        for at in range(0, len(events), 500):
            await store.apply(events[at : at + 500])
        best_s = min(best_s, time.perf_counter() - started)
    events_per_s = len(events) / best_s
    print(f"apply: {events_per_s:,.0f} events/s, {1e6 / events_per_s:.1f} us/event")
    assert events_per_s > 10_000, events_per_s
