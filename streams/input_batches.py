"""How the input reader hands one topic's fetched records to that topic's agent.

Each input topic has a Faust channel of batches: one item is one fetched batch of one
topic, in offset order per partition. The reader puts a batch on the topic's channel and
waits for the agent's outcome before it hands anything else over, so exactly one batch is
in flight per worker: partitions keep their order, the reader cannot run ahead of the
pipeline (its next ``getmany`` waits), and only records the coordinator acknowledged are
committed. An error in the agent's handling comes back to the reader, which stops with it,
as it did when it called the coordinator itself; the worker then restarts from the commits.

Items go on the channel as they are, not as Faust events: the stream yields such values
without the per-event work (acks, sensors, generation checks) that belongs to Kafka
messages, which these records already are and whose offsets the reader owns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

import faust

from streams.errors import NoAgentError
from streams.input_reader import InputToken
from streams.records import SourceRecord

log = logging.getLogger(__name__)

InputRecords = Sequence[tuple[SourceRecord, InputToken]]
"""One topic's fetched records (several partitions possible), in offset order per partition."""


@dataclass(frozen=True, slots=True, eq=False)
class InputBatch:
    """One fetched batch of one input topic, and the outcome the reader waits for."""

    records: InputRecords
    outcome: asyncio.Future[None]


class BatchChannels:
    """One channel of batches per input topic; a hand-over returns once the agent handled it."""

    def __init__(self, app: faust.App, topics: Iterable[str]) -> None:
        self._channels: dict[str, faust.ChannelT[InputBatch]] = {
            topic: app.channel(maxsize=1) for topic in sorted(topics)
        }

    def of(self, topic: str) -> faust.ChannelT[InputBatch]:
        """The channel the agent of ``topic`` consumes."""
        return self._channels[topic]

    async def hand_over(self, topic: str, records: InputRecords) -> None:
        """Give ``records`` to the topic's agent and wait until it handled them; raises its error."""
        channel = self._channels[topic]
        if channel.subscriber_count == 0:  # a put would drop the batch and the wait never end
            raise NoAgentError(topic)
        batch = InputBatch(records, asyncio.get_running_loop().create_future())
        await channel.put(batch)  # type: ignore[arg-type]  # a plain value; the stream yields it as is
        await batch.outcome


async def consume_batches(
    batches: AsyncIterable[InputBatch], handle: Callable[[InputRecords], Awaitable[object]]
) -> None:
    """An input agent's loop: hand each batch to ``handle`` and report how it went to the reader.

    The agent itself carries on after an error: the reader that receives it stops, and with
    it the worker, so nothing more arrives. An error nobody waits for any more (the reader
    was cancelled while the stop ran late) is logged.
    """
    async for batch in batches:
        try:
            await handle(batch.records)
        except Exception as error:
            if batch.outcome.done():
                log.error("an input batch failed after the reader stopped waiting", exc_info=error)
            else:
                batch.outcome.set_exception(error)
            continue
        except BaseException:  # cancelled mid-batch: the reader must not wait for it
            batch.outcome.cancel()
            raise
        if not batch.outcome.done():
            batch.outcome.set_result(None)
