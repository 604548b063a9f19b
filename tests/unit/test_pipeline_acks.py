"""Acknowledgements leave in offset order, each once, only when every earlier record is done."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.acks import InOrderAcks


class TestInOrderAcks:
    @settings(max_examples=200, deadline=None)
    @given(data=st.data(), count=st.integers(1, 40))
    def test_records_finished_in_any_order_are_acknowledged_in_offset_order(
        self, data: st.DataObject, count: int
    ) -> None:
        """Whatever order records finish in, acks form a growing prefix of offsets."""
        acked: list[int] = []

        async def acknowledge(offset: int) -> None:
            acked.append(offset)

        acks = InOrderAcks[int](acknowledge)
        tp = ("calls", 3)
        for offset in range(count):
            acks.track(tp, offset, offset)
        finished: set[int] = set()
        for offset in data.draw(st.permutations(range(count))):
            asyncio.run(acks.done(tp, offset))
            finished.add(offset)
            prefix = 0
            while prefix in finished:
                prefix += 1
            assert acked == list(range(prefix))
        assert acks.waiting(tp) == 0

    def test_revoked_partition_is_never_acknowledged(self) -> None:
        """Records of a partition given up are left for the next owner to read again."""
        acked: list[int] = []

        async def acknowledge(offset: int) -> None:
            acked.append(offset)

        acks = InOrderAcks[int](acknowledge)
        acks.track(("calls", 0), 0, 0)
        acks.forget(("calls", 0))
        asyncio.run(acks.done(("calls", 0), 0))
        assert acked == []
