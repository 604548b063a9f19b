"""Errors of the simulator and the replay; all subclass ChurnwatchError."""

from __future__ import annotations

from schemas.errors import ChurnwatchError


class SimulationError(ChurnwatchError):
    """The simulator was asked for something it cannot produce (bad sizes, bad shares)."""


class ReplayError(ChurnwatchError):
    """A replay cannot start: no input files, conflicting pacing options."""
