"""Errors of the stream layer; every one subclasses ``ChurnwatchError``."""

from __future__ import annotations

from schemas.errors import ChurnwatchError


class GroupBusyError(ChurnwatchError):
    """The consumer group still has running members, so its offsets cannot be reset."""
