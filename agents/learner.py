"""The learner agent: ``churn.training`` (one partition, so one worker learns) to ``LearnerLoop``."""

from __future__ import annotations

import faust
from faust.types import EventT
from mode.supervisors import CrashingSupervisor

from agents.ingest import AckToken
from streams.learning import LearnerLoop, TrainingRecord
from streams.topics import ChurnTopics

LEARNER_BATCH_WITHIN_S = 0.02
"""Short: a partition group entering a new day may wait for the checkpoint these records complete."""


def register_learner_agent(app: faust.App, topics: ChurnTopics, loop: LearnerLoop[AckToken]) -> None:
    """Wire the training topic to the learner loop; the loop decides and acknowledges."""

    @app.agent(topics.training, name="churnwatch.learner", supervisor_strategy=CrashingSupervisor)
    async def learn(stream: faust.StreamT[bytes]) -> None:
        """Take training records in batches (wiring only)."""
        manual: faust.StreamT[bytes] = stream.noack()  # type: ignore[attr-defined]
        async for events in manual.noack_take(1000, within=LEARNER_BATCH_WITHIN_S):  # type: ignore[attr-defined]
            await loop.handle([_training_record(manual, event) for event in events])


def _training_record(stream: faust.StreamT[bytes], event: EventT[bytes]) -> TrainingRecord[AckToken]:
    message = event.message
    return TrainingRecord(message.partition, message.offset, message.value or b"", (stream, event))
