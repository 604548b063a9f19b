"""Where the broker and Redis are: the settings, else the stack ``churnwatch stack up`` recorded.

A newcomer runs ``churnwatch stack up`` and then ``simulate --publish``, ``replay`` or
``worker`` without exporting what it printed. Every command therefore resolves its
addresses the same way, says which it uses, and names the fix in one line when nothing
is configured or the broker does not answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from stack.process import port_accepts

STATE_FILE = Path("churnwatch-data") / "stack.json"
"""Written by ``churnwatch stack up``, removed by ``churnwatch stack down`` (relative to the
directory commands run in, like the data directory)."""

NO_BROKER_FIX = "set CHURNWATCH_KAFKA_BOOTSTRAP, or run `churnwatch stack up` in this directory"


@dataclass(frozen=True, slots=True)
class Addresses:
    """The broker and Redis a command uses, and where they came from (for its first line)."""

    kafka_bootstrap: str | None
    redis_url: str | None
    source: str

    def describe(self) -> str:
        kafka = self.kafka_bootstrap or "none"
        redis = self.redis_url or "none"
        return f"using kafka {kafka}, redis {redis} ({self.source})"


def recorded_stack(state_file: Path = STATE_FILE) -> Addresses | None:
    """The stack ``stack up`` recorded, if its file exists and can be read."""
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
        return Addresses(str(state["kafka_bootstrap"]), str(state["redis_url"]), f"recorded in {state_file}")
    except (OSError, ValueError, KeyError, TypeError):
        return None


def resolve(kafka_bootstrap: str | None, redis_url: str | None, state_file: Path = STATE_FILE) -> Addresses:
    """The settings where set; otherwise the recorded stack's addresses for the ones unset."""
    if kafka_bootstrap and redis_url:
        return Addresses(kafka_bootstrap, redis_url, "from the settings")
    recorded = recorded_stack(state_file)
    if recorded is None:
        return Addresses(kafka_bootstrap, redis_url, "from the settings")
    source = (
        recorded.source if not (kafka_bootstrap or redis_url) else f"settings, the rest {recorded.source}"
    )
    return Addresses(kafka_bootstrap or recorded.kafka_bootstrap, redis_url or recorded.redis_url, source)


def broker_answers(kafka_bootstrap: str) -> bool:
    """Whether any of the bootstrap addresses accepts a connection (a quick check, not a protocol one)."""
    for address in kafka_bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        if host and port.isdigit() and port_accepts(host.strip("[]"), int(port)):
            return True
    return False


def redis_answers(redis_url: str) -> bool:
    """Whether the Redis address accepts a connection."""
    parts = urlsplit(redis_url)
    return parts.hostname is not None and port_accepts(parts.hostname, parts.port or 6379)
