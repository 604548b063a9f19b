"""The contract between the bench and one worker subprocess: what to run, and what it measured."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from streams.settings import Settings

WorkerMode = Literal["noop", "validate", "features", "pipeline"]


class RunSpec(BaseModel):
    """Written by the bench as JSON; ``bench.worker_run`` reads it and runs one worker to completion.

    ``settings`` is a full ``Settings`` dump (secrets in clear: the file lives in the bench's
    own work directory); constructor values win over ``CHURNWATCH_`` variables in the child.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: WorkerMode
    settings: dict[str, Any]
    bootstrap: str
    redis_url: str
    expected_events: int
    result_path: Path
    ready_path: Path
    profile_path: Path | None = None
    record_processed_times: bool = False
    # also wait until the learner has handled every training record written by then: the
    # learning path's share is measured over its whole work, not cut off at the last input
    wait_for_learner: bool = False
    timeout_s: float = 180.0
    # one of several workers in a consumer group (pipeline only): the worker writes its
    # ``GroupProgress`` here as it goes and stops when the bench creates ``group_stop_path``
    # (no worker alone knows when the group has handled every record)
    group_progress_path: Path | None = None
    group_stop_path: Path | None = None

    def worker_settings(self) -> Settings:
        return Settings(**self.settings)


class GroupProgress(BaseModel):
    """How far one worker of a group got: counters, positions and its partitions (``*_wall_s``: Unix)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    handled: int = 0  # applied + dead-lettered + skipped as already applied
    applied: int = 0
    dead_letters: int = 0
    replayed: int = 0
    alerts: int = 0
    # (topic, partition, next offset to process) of the partitions it processed
    next_offsets: list[tuple[str, int, int]] = []
    assignment: list[tuple[str, int]] = []
    rebalancing: bool = True
    first_wall_s: float | None = None  # first record taken in
    last_handled_wall_s: float | None = None  # when ``handled`` last grew
    cpu_s: float = 0.0  # its CPU seconds from its first record to when ``handled`` last grew
    first_assigned_wall_s: float | None = None  # when it first held partitions
    assignments: int = 0  # distinct non-empty assignments it held (1: no rebalance moved its partitions)
    assigned_wall_s: float | None = None  # when it took its current assignment
    # seconds spent between giving partitions up and receiving the next assignment, after the first
    rebalance_pause_s: float = 0.0


class RunOutcome(BaseModel):
    """What the worker saw between its first and last record (``*_wall_s`` are Unix times)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: WorkerMode
    events: int
    elapsed_s: float
    first_wall_s: float
    last_wall_s: float
    alerts: int = 0
    dead_letters: int = 0
    applied: int = 0
    replayed: int = 0
    cpu_s: float = 0.0  # pipeline: the worker's CPU seconds over the measured window
    # (topic, partition, offset, Unix time the record was acknowledged), when asked for
    processed_times: list[tuple[str, int, int, float]] = []
    profile_top: list[dict[str, Any]] = []
    group: GroupProgress | None = None  # the last progress of a group member


def settings_document(settings: Settings) -> dict[str, Any]:
    """A ``Settings`` as JSON-ready values that rebuild it exactly, the pseudonym key included.

    >>> doc = settings_document(Settings(pseudonym_key="k" * 8))
    >>> doc["pseudonym_key"], Settings(**doc).pseudonym_key.get_secret_value()
    ('kkkkkkkk', 'kkkkkkkk')
    """
    document = settings.model_dump(mode="json")
    document["pseudonym_key"] = settings.pseudonym_key.get_secret_value()
    return document
