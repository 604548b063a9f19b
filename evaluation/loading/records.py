"""Reading a run's records: alerts, score snapshots and training examples, from a file or a topic.

Files are JSON Lines as published to the topics; a topic is read from the beginning to
each partition's fetch high-water mark (``streams.topic_reader``). A record that breaks
its contract is skipped and named by its place (``file:line`` or ``topic[partition]@offset``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import ValidationError

from evaluation.errors import EvaluationInputError
from evaluation.measures.ranking import ScoredSnapshot
from evaluation.measures.truth import AlertMark, Truth
from evaluation.measures.yardstick import ExampleRow
from pipeline.learning import parse_training
from schemas.outputs import Alert, Prediction
from streams.errors import TopicReadError
from streams.topic_reader import read_topics

_Record = TypeVar("_Record")


@dataclass
class RecordsRead(Generic[_Record]):
    """Records read from a file or topic (alerts, snapshots), and those that failed their contract."""

    parse: Callable[[bytes | str], _Record]
    items: list[_Record] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)

    def add(self, raw: bytes | str, where: str) -> None:
        try:
            self.items.append(self.parse(raw))
        except ValidationError as error:
            self.invalid.append(f"{where}: {error.error_count()} validation error(s)")


def _alert_mark(raw: bytes | str) -> AlertMark:
    return AlertMark.from_alert(Alert.model_validate_json(raw))


def _snapshot(raw: bytes | str) -> ScoredSnapshot:
    return ScoredSnapshot.from_prediction(Prediction.model_validate_json(raw))


def _training_row(raw: bytes | str) -> ExampleRow | None:
    return ExampleRow.from_record(parse_training(raw.encode() if isinstance(raw, str) else raw))


AlertRead = RecordsRead[AlertMark]
PredictionRead = RecordsRead[ScoredSnapshot]
TrainingRead = RecordsRead[ExampleRow | None]
"""Training examples, and None for each group's end-of-day mark (``ResolvedDay``)."""


def _read_lines(path: Path, read: RecordsRead[_Record]) -> RecordsRead[_Record]:
    """Every non-blank JSON Lines record of ``path`` into ``read``, its place as ``file:line``."""
    with path.open("rb") as handle:
        for line, raw in enumerate(handle, start=1):
            if raw.strip():
                read.add(raw, f"{path.name}:{line}")
    return read


async def _read_topic(
    bootstrap: str, topic: str, timeout_s: float, read: RecordsRead[_Record]
) -> RecordsRead[_Record]:
    """Every record of ``topic`` from the beginning, up to each partition's fetch high-water mark."""
    try:
        records = await read_topics(bootstrap, [topic], timeout_s)
    except TopicReadError as error:
        raise EvaluationInputError("topic", topic, error.reason) from error
    for record in records:
        read.add(record.value or b"", f"{record.topic}[{record.partition}]@{record.offset}")
    return read


def read_alerts_file(path: Path) -> AlertRead:
    """Alerts from JSON Lines (one ``Alert`` per line, as published to the topic)."""
    return _read_lines(path, AlertRead(_alert_mark))


async def read_alerts_topic(bootstrap: str, topic: str, timeout_s: float) -> AlertRead:
    """Every alert of ``topic``, read to its end."""
    return await _read_topic(bootstrap, topic, timeout_s, AlertRead(_alert_mark))


def read_predictions_file(path: Path) -> PredictionRead:
    """Score snapshots from JSON Lines (one ``Prediction`` per line, as published to the topic)."""
    return _read_lines(path, PredictionRead(_snapshot))


async def read_predictions_topic(bootstrap: str, topic: str, timeout_s: float) -> PredictionRead:
    """Every snapshot of ``topic``, read to its end."""
    return await _read_topic(bootstrap, topic, timeout_s, PredictionRead(_snapshot))


def read_training_file(path: Path) -> TrainingRead:
    """Training records from JSON Lines (examples and end-of-day marks, as on ``churn.training``)."""
    return _read_lines(path, TrainingRead(_training_row))


async def read_training_topic(bootstrap: str, topic: str, timeout_s: float) -> TrainingRead:
    """Every record of the training topic, read to its end."""
    return await _read_topic(bootstrap, topic, timeout_s, TrainingRead(_training_row))


@dataclass(frozen=True)
class RunInputs:
    """One run's inputs as read: truth, alerts, score snapshots (None without any) and its span."""

    history_start: datetime
    history_end: datetime
    truth: Truth
    alerts: AlertRead
    predictions: PredictionRead | None
    training: TrainingRead | None
