"""Where simulated and replayed events go: a topic per event type, key = customer_id.

``EventSink`` is the one thing the simulator and the replay need from Kafka; the
``ProducerSink`` adapts any producer with aiokafka's ``send``/``flush`` shape, so this
module imports no Kafka client (the producer is built in ``sim.kafka_producer``).
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from schemas.events import EventType


class EventTopics(BaseModel):
    """Input topic names, one per event type."""

    model_config = ConfigDict(frozen=True)

    calls: str = "telco.calls"
    topups: str = "telco.topups"
    complaints: str = "telco.complaints"
    lifecycle: str = "telco.lifecycle"

    def for_type(self, event_type: str) -> str | None:
        """The topic of a ``type`` value, or None for an unknown type.

        >>> EventTopics().for_type("topup"), EventTopics().for_type("sms")
        ('telco.topups', None)
        """
        return {
            EventType.CALL.value: self.calls,
            EventType.TOPUP.value: self.topups,
            EventType.COMPLAINT.value: self.complaints,
            EventType.LIFECYCLE.value: self.lifecycle,
        }.get(event_type)


class EventSink(Protocol):
    """Accepts keyed messages; ``flush`` returns once everything sent is delivered."""

    async def send(self, topic: str, key: bytes, value: bytes) -> None: ...

    async def flush(self) -> None: ...


class KafkaProducerLike(Protocol):
    """The part of ``aiokafka.AIOKafkaProducer`` used here (``send`` returns a delivery future)."""

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> Any: ...

    async def flush(self) -> None: ...


class ProducerSink:
    """Sends through a producer without waiting per message; delivery errors surface in batches."""

    def __init__(self, producer: KafkaProducerLike, max_in_flight: int = 20_000) -> None:
        self._producer = producer
        self._max_in_flight = max_in_flight
        self._in_flight: list[asyncio.Future[Any]] = []

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        self._in_flight.append(await self._producer.send(topic, value=value, key=key))
        if len(self._in_flight) >= self._max_in_flight:
            await self._settle()

    async def flush(self) -> None:
        await self._producer.flush()
        await self._settle()

    async def _settle(self) -> None:
        """Wait for the queued deliveries; a failed one raises here, naming its error."""
        pending, self._in_flight = self._in_flight, []
        await asyncio.gather(*pending)
