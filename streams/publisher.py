"""Publishes a batch's outputs and waits until the broker has them, before offsets may commit.

Records go straight to the aiokafka producer that the Faust app owns, not through
``topic.send``: Faust's per-record path let the event loop turn between records, so the
producer sent a request every few records instead of full batches (about 4x the CPU per
record, docs/benchmark.md). The producer's own partitioner places each keyed record,
the one ``topic.send`` used, so consumers see the same placement as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, RecordListTooLargeError
from faust.exceptions import NotReady, ProducerSendError
from faust.types import TopicT
from pydantic import BaseModel

from schemas.errors import OutputUnavailableError
from schemas.outputs import Alert, CapacityDay, DeadLetter, Prediction, ResolvedDay, TrainingExample
from streams.metrics import PipelineMetrics
from streams.topics import ChurnTopics

log = logging.getLogger(__name__)

REFUSED_FOR_GOOD = (MessageSizeTooLargeError, RecordListTooLargeError)
"""Errors that sending the same record again can never fix."""


@dataclass(frozen=True, slots=True)
class _Output:
    topic: TopicT
    key: bytes
    value: bytes
    dead_letter: DeadLetter | None


def encoded(record: BaseModel) -> bytes:
    """A record's JSON as pydantic writes it (``model_dump_json``), without the str round trip."""
    return record.__pydantic_serializer__.to_json(record)


def encoded_flat(record: Prediction | TrainingExample | ResolvedDay) -> bytes:
    """The same bytes as ``encoded`` for the flat, high-volume records, at about a third of the cost.

    Their fields are str, int, float, bool, date, aware datetime, enum and dict[str, float],
    which orjson writes as pydantic does (UTC as ``Z``); ``test_streams_publisher`` holds
    the two encodings equal.
    """
    return orjson.dumps(record.__dict__, option=orjson.OPT_UTC_Z)


def refused_for_good(error: BaseException) -> bool:
    """Whether the broker (or the client's own size check) can never accept this record.

    >>> refused_for_good(ProducerSendError("x"))
    False
    >>> error = ProducerSendError("too big")
    >>> error.__cause__ = MessageSizeTooLargeError()
    >>> refused_for_good(error)
    True
    """
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, REFUSED_FOR_GOOD):
            return True
        seen = seen.__cause__
    return False


def without_original(letter: DeadLetter) -> DeadLetter:
    """The reduced form of a dead letter the broker refused: reason and position, no original."""
    return letter.model_copy(
        update={
            "original_key_b64": None,
            "original_value_b64": "",
            "original_truncated": True,
            "original_key_truncated": letter.original_key_size > 0,
            "detail": (letter.detail + " [original left out: the broker refused the full dead letter]")[:500],
        }
    )


def _training_key(record: TrainingExample | ResolvedDay) -> bytes:
    if isinstance(record, TrainingExample):
        return record.example_id.encode()
    return f"resolved/{record.partition}/{record.resolved_on.isoformat()}".encode()


class OutputPublisher:
    """Sends alerts and dead letters; ``publish`` returns only when every send is acknowledged.

    Waiting per batch keeps delivery at-least-once: the batch's offsets are acknowledged
    to Faust only after this returns, so a crash before it replays the batch. A record the
    broker refuses for good is never retried forever: a dead letter is resent once without
    its original, anything else is counted and logged, and the batch goes on.
    """

    def __init__(self, topics: ChurnTopics, metrics: PipelineMetrics) -> None:
        self._topics = topics
        self._metrics = metrics

    async def publish(
        self,
        alerts: Sequence[Alert],
        dead_letters: Sequence[DeadLetter],
        predictions: Sequence[Prediction] = (),
        training: Sequence[TrainingExample | ResolvedDay] = (),
        capacity_days: Sequence[CapacityDay] = (),
    ) -> None:
        outputs = [self._dead_letter_output(letter) for letter in dead_letters]
        topics = self._topics
        outputs.extend(
            _Output(topics.alerts, alert.customer_id.encode(), encoded(alert), None) for alert in alerts
        )
        outputs.extend(
            _Output(topics.predictions, p.customer_id.encode(), encoded_flat(p), None) for p in predictions
        )
        outputs.extend(
            _Output(topics.training, _training_key(record), encoded_flat(record), None) for record in training
        )
        outputs.extend(
            _Output(topics.capacity, day.summary_id.encode(), encoded(day), None) for day in capacity_days
        )
        refused = await self._send(outputs)
        retries = []
        for output in refused:
            topic_name = output.topic.get_topic_name()
            if output.dead_letter is not None:
                self._metrics.outputs_refused.labels(topic_name, "reduced").inc()
                retries.append(self._dead_letter_output(without_original(output.dead_letter)))
            else:
                self._dropped(output, topic_name)
        for output in await self._send(retries):
            self._dropped(output, output.topic.get_topic_name())

    def _dead_letter_output(self, letter: DeadLetter) -> _Output:
        key = f"{letter.source_topic}/{letter.source_partition}/{letter.source_offset}".encode()
        return _Output(self._topics.dead_letters, key, encoded(letter), letter)

    def _dropped(self, output: _Output, topic_name: str) -> None:
        self._metrics.outputs_refused.labels(topic_name, "dropped").inc()
        log.error(
            "the broker refused an output record for good and it was dropped: topic %s, %d bytes",
            topic_name,
            len(output.key) + len(output.value),
        )

    async def _producer(self) -> AIOKafkaProducer:
        """The app's started aiokafka producer; NotReady while the app starts or stops."""
        app = self._topics.alerts.app
        producer = cast(Any, await app.maybe_start_producer())
        return cast(AIOKafkaProducer, producer._ensure_producer())

    async def _send(self, outputs: Sequence[_Output]) -> list[_Output]:
        """Send and wait; returns the records refused for good, raises if any may succeed later."""
        if not outputs:
            return []
        refused: list[_Output] = []
        pending: list[tuple[_Output, Awaitable[object]]] = []
        try:
            producer = await self._producer()
        except (ProducerSendError, KafkaError, NotReady) as error:  # NotReady: stopping or starting
            raise OutputUnavailableError(f"broker did not take an output record: {error}") from error
        send = producer.send
        for output in outputs:
            topic_name = output.topic.get_topic_name()
            try:
                delivery = await send(topic_name, output.value, key=output.key)
            except KafkaError as error:
                if not refused_for_good(error):
                    raise OutputUnavailableError(f"broker did not take an output record: {error}") from error
                refused.append(output)
            else:
                pending.append((output, delivery))
        results = await asyncio.gather(*(delivery for _, delivery in pending), return_exceptions=True)
        for (output, _), result in zip(pending, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                if not refused_for_good(result):
                    message = f"broker did not take an output record: {result}"
                    raise OutputUnavailableError(message) from result
                refused.append(output)
        return refused
