"""Errors of the stream layer; every one subclasses ``ChurnwatchError``."""

from __future__ import annotations

from schemas.errors import ChurnwatchError


class GroupBusyError(ChurnwatchError):
    """The consumer group still has running members, so its offsets cannot be reset."""


class TopicReadError(ChurnwatchError):
    """A topic could not be read to its end: names the topics and why."""

    def __init__(self, topics: str, reason: str) -> None:
        super().__init__(f"{topics}: {reason}")
        self.topics = topics
        self.reason = reason


class NoAgentError(ChurnwatchError):
    """An input topic's batch was handed over while no agent consumed its channel."""

    def __init__(self, topic: str) -> None:
        super().__init__(f"topic={topic}: no agent consumes its batches")
        self.topic = topic
