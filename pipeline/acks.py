"""Acknowledges records strictly in offset order per partition.

Faust commits the run of consecutive acknowledged offsets, but it lets that run start
one past an unacknowledged record (``Consumer._new_offset`` compares the next offset to
commit with ``> 1``). A record still waiting for its event-time tick while a later,
rejected record is acknowledged would then be committed unprocessed, and lost in a
crash. So a record is acknowledged only once every earlier record of its partition is
done.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Token = TypeVar("Token")
TopicPartition = tuple[str, int]


class InOrderAcks(Generic[Token]):
    """Tracks received records per partition and releases acknowledgements in offset order.

    >>> acked = []
    >>> async def ack(token: str) -> None:
    ...     acked.append(token)
    >>> import asyncio
    >>> acks = InOrderAcks[str](ack)
    >>> for offset, token in [(0, "a"), (1, "b"), (2, "c")]:
    ...     acks.track(("calls", 0), offset, token)
    >>> asyncio.run(acks.done(("calls", 0), 1)); acked
    []
    >>> asyncio.run(acks.done(("calls", 0), 0)); acked
    ['a', 'b']
    """

    def __init__(self, acknowledge: Callable[[Token], Awaitable[object]]) -> None:
        self._acknowledge = acknowledge
        self._waiting: dict[TopicPartition, deque[tuple[int, Token]]] = {}
        self._done: dict[TopicPartition, set[int]] = {}

    def track(self, tp: TopicPartition, offset: int, token: Token) -> None:
        """Register a received record; records of a partition must be tracked in offset order."""
        waiting = self._waiting.get(tp)
        if waiting is None:  # not setdefault: that builds a deque for every record
            waiting = self._waiting[tp] = deque()
        waiting.append((offset, token))

    async def done(self, tp: TopicPartition, offset: int) -> None:
        """Mark a record handled and acknowledge every leading handled record of its partition."""
        waiting = self._waiting.get(tp)
        if waiting is None:
            return  # revoked meanwhile: the next owner reads it again
        if waiting and waiting[0][0] == offset and not self._done.get(tp):
            await self._acknowledge(waiting.popleft()[1])  # the common case: done in order
            return
        finished = self._done.setdefault(tp, set())
        finished.add(offset)
        while waiting and waiting[0][0] in finished:
            head, token = waiting.popleft()
            finished.discard(head)
            await self._acknowledge(token)

    def forget(self, tp: TopicPartition) -> None:
        """Drop a revoked partition without acknowledging its waiting records."""
        self._waiting.pop(tp, None)
        self._done.pop(tp, None)

    def waiting(self, tp: TopicPartition) -> int:
        return len(self._waiting.get(tp, ()))
