"""Errors of the benchmark harness."""

from __future__ import annotations

from schemas.errors import ChurnwatchError


class BenchError(ChurnwatchError):
    """A benchmark run could not produce its numbers (a worker died, stalled or never started)."""
