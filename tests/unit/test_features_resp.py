"""The hand-packed EVALSHA pipeline is byte for byte what redis-py would send."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio.connection import Connection

from store.resp import evalsha_pipeline


class TestEvalshaPipeline:
    @given(
        st.lists(st.tuples(st.binary(min_size=1, max_size=80), st.binary(max_size=300)), max_size=5),
        st.integers(1, 40),
    )
    def test_bytes_equal_redis_py_packing(self, calls: list[tuple[bytes, bytes]], ring_size: int) -> None:
        """Any keys and payloads (binary, empty, CRLF inside) pack exactly as redis-py packs them."""
        sha = b"a" * 40
        expected = b"".join(
            Connection().pack_commands(
                [("EVALSHA", sha, 1, key, ring_size, payload) for key, payload in calls]
            )
        )
        keys = [key for key, _ in calls]
        payloads = [payload for _, payload in calls]
        assert evalsha_pipeline(sha, ring_size, keys, payloads) == expected
