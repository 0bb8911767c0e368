"""The provider rate limiter, on a clock the test moves: no wall time involved."""

from __future__ import annotations

import pytest

from article_mcp.embeddings.providers.ratelimit import RateLimiter

pytestmark = pytest.mark.anyio


class Clock:
    """A clock that moves only when told to; `sleep` moves it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limiter(clock: Clock, rpm: int = 0, tpm: int = 0) -> RateLimiter:
    return RateLimiter(rpm, tpm, clock=clock, sleep=clock.sleep)


def test_zero_means_unlimited() -> None:
    clock = Clock()
    unlimited = limiter(clock)
    assert unlimited.unlimited
    assert all(unlimited.reserve(10**9) == 0 for _ in range(1000))


def test_requests_per_minute_allow_a_short_burst_then_pace_evenly() -> None:
    clock = Clock()
    rpm = limiter(clock, rpm=60)  # one a second; a burst of ten seconds' worth
    assert not rpm.unlimited
    delays = [rpm.reserve(0) for _ in range(13)]
    assert delays[:10] == [0.0] * 10
    assert delays[10:] == pytest.approx([1.0, 2.0, 3.0])


def test_the_bucket_refills_with_time() -> None:
    clock = Clock()
    rpm = limiter(clock, rpm=60)
    for _ in range(10):
        rpm.reserve(0)
    assert rpm.reserve(0) == pytest.approx(1.0)
    clock.now += 5  # five more requests' worth, one already booked
    assert [rpm.reserve(0) for _ in range(5)] == pytest.approx([0, 0, 0, 0, 1.0])


def test_tokens_per_minute_delay_large_requests() -> None:
    clock = Clock()
    tpm = limiter(clock, tpm=6000)  # 100 a second, bursts of 1000
    assert tpm.reserve(1000) == 0
    assert tpm.reserve(500) == pytest.approx(5.0)
    # A request larger than the burst still goes, after the bucket has caught up.
    assert tpm.reserve(3000) == pytest.approx(35.0)


def test_the_stricter_limit_decides() -> None:
    clock = Clock()
    both = limiter(clock, rpm=600, tpm=600)  # 10 requests/s, 10 tokens/s; bursts 100 and 100
    assert both.reserve(100) == 0
    assert both.reserve(50) == pytest.approx(5.0)  # tokens bind, not requests


async def test_acquire_sleeps_for_the_booked_delay() -> None:
    clock = Clock()
    rpm = limiter(clock, rpm=6)  # one every ten seconds; burst of one
    for _ in range(4):
        await rpm.acquire(1)
    assert clock.slept == pytest.approx([10.0, 10.0, 10.0])
