"""Errors of the embedded stack (broker and Redis child processes)."""

from __future__ import annotations

from schemas.errors import ChurnwatchError


class StackError(ChurnwatchError):
    """A stack component could not be found, started or reached."""


class BinaryNotFoundError(StackError):
    """No usable server binary for a component."""


class StartupTimeoutError(StackError, TimeoutError):
    """A child process did not accept connections before its deadline."""
