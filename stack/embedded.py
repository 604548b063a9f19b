"""The embedded default stack: a broker and a Redis server for demos, tests and local runs.

``CHURNWATCH_KAFKA_BOOTSTRAP`` / ``CHURNWATCH_REDIS_URL`` (passed in as arguments, read
by the settings) make the stack reuse external servers instead of starting its own.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from stack.process import ServerProcess
from stack.redis_server import start_redis
from stack.tansu import start_tansu


@dataclass
class EmbeddedStack:
    """Connection addresses plus the child processes this stack owns (none when external)."""

    kafka_bootstrap: str
    redis_url: str
    children: list[ServerProcess] = field(default_factory=list)

    def stop(self) -> None:
        """Stop the children in reverse start order; safe to call twice."""
        for child in reversed(self.children):
            child.stop()


def start_stack(
    work_dir: Path, kafka_bootstrap: str | None = None, redis_url: str | None = None
) -> EmbeddedStack:
    """Start whatever is not given as an external address; stop what started if a later part fails."""
    children: list[ServerProcess] = []
    try:
        if kafka_bootstrap is None:
            broker = start_tansu(work_dir)
            children.append(broker)
            kafka_bootstrap = f"{broker.host}:{broker.port}"
        if redis_url is None:
            redis = start_redis(work_dir)
            children.append(redis)
            redis_url = f"redis://{redis.host}:{redis.port}/0"
    except BaseException:
        for child in reversed(children):
            child.stop()
        raise
    return EmbeddedStack(kafka_bootstrap, redis_url, children)


@contextlib.contextmanager
def running_stack(
    work_dir: Path, kafka_bootstrap: str | None = None, redis_url: str | None = None
) -> Iterator[EmbeddedStack]:
    """A stack for the duration of a block; SIGTERM is turned into a clean exit so children stop."""
    stack = start_stack(work_dir, kafka_bootstrap, redis_url)
    previous = signal.getsignal(signal.SIGTERM)

    def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield stack
    finally:
        signal.signal(signal.SIGTERM, previous)
        stack.stop()
