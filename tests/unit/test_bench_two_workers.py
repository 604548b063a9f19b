"""When a pair of workers in one group is done, and whether it handled each record once."""

from __future__ import annotations

import pytest

from bench.spec import GroupProgress, RunOutcome
from bench.two_workers import group_settled, positions_reached, summarise

TPS = {("calls", 0), ("calls", 1), ("topups", 0), ("topups", 1)}


def member(handled: int, *, replayed: int = 0, dead_letters: int = 0, first: float = 100.0) -> RunOutcome:
    group = GroupProgress(
        handled=handled,
        applied=handled - replayed - dead_letters,
        dead_letters=dead_letters,
        replayed=replayed,
        assignment=[("calls", 0)],
        first_wall_s=first,
        last_handled_wall_s=first + 2.0,
        first_assigned_wall_s=first - 0.5,
        assigned_wall_s=first - 0.5,
    )
    return RunOutcome(
        mode="pipeline",
        events=handled,
        elapsed_s=2.0,
        first_wall_s=first,
        last_wall_s=first + 2.0,
        applied=group.applied,
        dead_letters=dead_letters,
        replayed=replayed,
        group=group,
    )


SINGLE = RunOutcome(
    mode="pipeline", events=100, elapsed_s=4.0, first_wall_s=0.0, last_wall_s=4.0, applied=98, dead_letters=2
)


class TestGroupSettled:
    def test_a_member_holding_everything_is_not_a_settled_pair(self) -> None:
        """While the second member has no partitions the group has not formed."""
        assert not group_settled([sorted(TPS), []], TPS)

    def test_a_partition_held_by_both_is_not_settled(self) -> None:
        """Overlapping assignments (mid-rebalance) are not a settled group."""
        one = [("calls", 0), ("calls", 1), ("topups", 0)]
        two = [("topups", 0), ("topups", 1)]
        assert not group_settled([one, two], TPS)

    def test_disjoint_halves_covering_every_partition_are_settled(self) -> None:
        """Each member holds its own half and together they hold all."""
        assert group_settled([[("calls", 0), ("topups", 0)], [("calls", 1), ("topups", 1)]], TPS)


class TestPositionsReached:
    def test_every_partition_must_reach_its_end_offset_in_some_member(self) -> None:
        """A partition processed short of its end keeps the group running."""
        one = GroupProgress(next_offsets=[("calls", 0, 10)])
        two = GroupProgress(next_offsets=[("calls", 1, 9)])
        assert not positions_reached([one, two], {("calls", 0): 10, ("calls", 1): 10})
        assert positions_reached([one, two], {("calls", 0): 10, ("calls", 1): 9})

    def test_empty_partitions_need_no_position(self) -> None:
        """A partition that received no record is trivially done."""
        assert positions_reached([GroupProgress()], {("complaints", 3): 0})


class TestSummarise:
    def test_counts_that_add_up_are_exactly_once(self) -> None:
        """60 + 40 handled, applied and dead-lettered as the single worker did, features equal."""
        pair = summarise([member(60, dead_letters=1), member(40, dead_letters=1)], 100, SINGLE, (50, 0))
        assert pair.exactly_once

    def test_a_record_skipped_as_replayed_is_not_handled_once(self) -> None:
        """A redelivered record counted by the second owner makes the sum exceed the produced count."""
        pair = summarise(
            [member(61, replayed=1, dead_letters=1), member(40, dead_letters=1)], 100, SINGLE, (50, 0)
        )
        assert not pair.handled_once
        assert not pair.exactly_once

    def test_a_differing_feature_vector_is_not_exactly_once(self) -> None:
        """Counts alone are not enough: a sampled customer's features must match the single run."""
        pair = summarise([member(60, dead_letters=1), member(40, dead_letters=1)], 100, SINGLE, (50, 1))
        assert pair.handled_once
        assert not pair.exactly_once

    def test_the_window_runs_from_the_first_start_to_the_last_finish(self) -> None:
        """Members starting at 100 s and 101 s, busy 2 s each: 100 records in 3 s, one worker took 4 s."""
        pair = summarise(
            [member(60, dead_letters=1), member(40, dead_letters=1, first=101.0)], 100, SINGLE, (0, 0)
        )
        assert pair.elapsed_s == 3.0
        assert pair.over_single == pytest.approx(4.0 / 3.0)
