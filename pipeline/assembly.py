"""Builds the conductor and its parts from the worker's adapters and settings values."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from pipeline.acks import InOrderAcks
from pipeline.alignment import EventTimeAligner
from pipeline.coordinator import IngestCoordinator
from pipeline.delivery import AlertDelivery, OutputSink
from pipeline.intake import Accepted, Intake
from pipeline.model_versions import ModelVersions
from pipeline.processor import TickProcessor
from pipeline.release import EndOffsets, TickRelease
from pipeline.storage_guard import CommittedOffsets, StorageGuard
from pipeline.storage_health import StorageHealth
from pipeline.sweep import DailySweep
from store.commit import CommitStore
from store.labels import LabelStore
from store.progress import ProgressStore
from streams.metrics import PipelineMetrics
from streams.records import TopicPartition
from streams.validation import RecordValidator

Token = TypeVar("Token")


def build_coordinator(
    validator: RecordValidator,
    processor: TickProcessor,
    aligner: EventTimeAligner[Accepted],
    progress: ProgressStore,
    commits: CommitStore,
    sink: OutputSink,
    acknowledge: Callable[[Token], Awaitable[object]],
    caught_up: Callable[[TopicPartition], bool],
    end_offsets: EndOffsets,
    metrics: PipelineMetrics,
    clock: Callable[[], datetime],
    health: StorageHealth,
    committed: CommittedOffsets,
    rewind: Callable[[TopicPartition, int], Awaitable[object]],
    versions: ModelVersions,
    labels: LabelStore,
    max_run_ticks: int,
    max_run_events: int,
    horizon_days: int = 30,
    resolution_delay_days: int = 33,
    release_idle_s: float = 2.0,
    monotonic: Callable[[], float] = time.monotonic,
) -> IngestCoordinator[Token]:
    """The conductor over one aligner, with every part wired to the same adapters."""
    acks: InOrderAcks[Token] = InOrderAcks(acknowledge)
    release = TickRelease(aligner, caught_up, end_offsets, release_idle_s, monotonic)
    delivery = AlertDelivery(commits, progress, sink, processor, metrics, clock)
    return IngestCoordinator(
        aligner=aligner,
        intake=Intake(validator, aligner, acks, release, metrics, clock, committed, rewind),
        release=release,
        acks=acks,
        processor=processor,
        sweep=DailySweep(processor, labels, sink, delivery, metrics, horizon_days, resolution_delay_days),
        delivery=delivery,
        guard=StorageGuard(health, progress, committed, aligner.owns, metrics, clock),
        progress=progress,
        sink=sink,
        versions=versions,
        metrics=metrics,
        max_run_ticks=max_run_ticks,
        max_run_events=max_run_events,
    )
