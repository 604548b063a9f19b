"""The intake cap lets bursts of a second's worth through and holds the long-run rate."""

from __future__ import annotations

import pytest

from pipeline.throttle import IntakeThrottle


class ManualClock:
    """Monotonic time that moves only when the throttle sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def throttle(rate: float, clock: ManualClock) -> IntakeThrottle:
    return IntakeThrottle(rate, clock=clock, sleep=clock.sleep)


async def test_no_cap_never_waits() -> None:
    clock = ManualClock()
    cap = throttle(0, clock)
    assert cap.unlimited
    for _ in range(100):
        assert await cap.take(10_000) == 0.0
    assert clock.slept == []


async def test_a_burst_of_one_seconds_worth_passes_without_waiting() -> None:
    clock = ManualClock()
    cap = throttle(500, clock)
    assert await cap.take(300) == 0.0
    assert await cap.take(200) == 0.0
    assert await cap.take(100) == pytest.approx(0.2)


@pytest.mark.parametrize("batch", [1, 20, 333, 2_000])
async def test_long_run_rate_is_the_cap_whatever_the_batch_size(batch: int) -> None:
    clock = ManualClock()
    cap = throttle(1_000, clock)
    start = clock.now
    taken = 0
    while taken < 20_000:
        await cap.take(batch)
        taken += batch
    elapsed = clock.now - start
    # the first second's worth is free (the burst), the rest goes at the cap
    assert elapsed == pytest.approx((taken - 1_000) / 1_000, rel=0.01, abs=batch / 1_000)


async def test_idle_time_refills_only_up_to_the_burst() -> None:
    clock = ManualClock()
    cap = throttle(100, clock)
    await cap.take(100)
    clock.now += 3600  # an hour idle earns one second's worth, not an hour's
    assert await cap.take(100) == 0.0
    assert await cap.take(50) == pytest.approx(0.5)


def test_negative_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="records_per_second"):
        IntakeThrottle(-1)
