"""Publishes a batch's outputs and waits until the broker has them, before offsets may commit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

from aiokafka.errors import KafkaError
from faust.exceptions import ProducerSendError

from schemas.errors import OutputUnavailableError
from schemas.outputs import Alert, DeadLetter
from streams.topics import ChurnTopics


class OutputPublisher:
    """Sends alerts and dead letters; ``publish`` returns only when every send is acknowledged.

    Waiting per batch keeps delivery at-least-once: the batch's offsets are acknowledged
    to Faust only after this returns, so a crash before it replays the batch.
    """

    def __init__(self, topics: ChurnTopics) -> None:
        self._topics = topics

    async def publish(self, alerts: Sequence[Alert], dead_letters: Sequence[DeadLetter]) -> None:
        try:
            await self._publish(alerts, dead_letters)
        except (ProducerSendError, KafkaError) as error:
            raise OutputUnavailableError(f"publishing outputs failed: {error}") from error

    async def _publish(self, alerts: Sequence[Alert], dead_letters: Sequence[DeadLetter]) -> None:
        deliveries: list[Awaitable[object]] = []
        for letter in dead_letters:
            deliveries.append(
                await self._topics.dead_letters.send(
                    key=f"{letter.source_topic}/{letter.source_partition}/{letter.source_offset}".encode(),
                    value=letter.model_dump_json().encode(),
                )
            )
        for alert in alerts:
            deliveries.append(
                await self._topics.alerts.send(
                    key=alert.customer_id.encode(), value=alert.model_dump_json().encode()
                )
            )
        if deliveries:
            await asyncio.gather(*deliveries)
