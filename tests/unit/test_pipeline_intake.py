"""A partition the consumer starts past its committed offset is sent back, never committed over."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.acks import InOrderAcks
from pipeline.alignment import EventTimeAligner
from pipeline.intake import Accepted, Intake
from pipeline.release import TickRelease
from streams.metrics import PipelineMetrics
from streams.records import PartitionProgress, TopicPartition

TP = ("telco.calls", 2)


def intake(committed: Mapping[TopicPartition, int]) -> tuple[Intake[Any], list[Any]]:
    """An intake owning TP with progress at offset 10; the consumer group committed ``committed``."""
    aligner: EventTimeAligner[Accepted] = EventTimeAligner(timedelta(hours=1), timedelta(days=3))
    aligner.assign(TP, PartitionProgress(10, 1_000.0))
    rewinds: list[Any] = []

    async def committed_offsets(tps: Sequence[TopicPartition]) -> Mapping[TopicPartition, int]:
        return {tp: committed[tp] for tp in tps if tp in committed}

    async def rewind(tp: TopicPartition, offset: int) -> None:
        rewinds.append((tp, offset))

    async def acknowledge(token: object) -> None:
        return None

    async def end_offsets(positions: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        return {}

    built: Intake[Any] = Intake(
        validator=None,  # type: ignore[arg-type]  # not reached by these tests
        aligner=aligner,
        acks=InOrderAcks(acknowledge),
        release=TickRelease(aligner, lambda tp: False, end_offsets),
        metrics=PipelineMetrics(),
        clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
        committed=committed_offsets,
        rewind=rewind,
    )
    return built, rewinds


class TestRewind:
    async def test_start_past_the_committed_offset_is_rewound_and_skipped_until_it_returns(self) -> None:
        """Committed 12, first record 20: rewind to 12, skip 20 and 21, take 12 again."""
        built, rewinds = intake({TP: 12})
        assert await built._skipped_ahead(TP, 20)
        assert rewinds == [(TP, 12)]
        assert await built._skipped_ahead(TP, 21)
        assert not await built._skipped_ahead(TP, 12)
        assert not await built._skipped_ahead(TP, 13)
        assert rewinds == [(TP, 12)]

    async def test_start_at_the_committed_offset_past_progress_is_taken(self) -> None:
        """Progress 10 and committed 15 (trailing rejected records were acknowledged): start at 15."""
        built, rewinds = intake({TP: 15})
        assert not await built._skipped_ahead(TP, 15)
        assert rewinds == []

    async def test_group_without_commits_is_not_rewound(self) -> None:
        """Nothing committed yet (a fresh group reading from the earliest retained record)."""
        built, rewinds = intake({})
        assert not await built._skipped_ahead(TP, 20)
        assert rewinds == []
