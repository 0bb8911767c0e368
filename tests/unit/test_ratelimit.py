"""The provider rate limiter, on a clock the test moves: no wall time involved."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from article_mcp.embeddings.providers.ratelimit import Budget, RateLimiter
from tests.support.worker_fleet import most_in_a_window

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
    assert Budget.per_minute(0) is None
    assert all(unlimited.reserve(10**9) == 0 for _ in range(1000))


def test_a_minute_holds_a_burst_of_a_twentieth_and_an_even_pace_for_the_rest() -> None:
    assert Budget.per_minute(600) == Budget(capacity=30, rate=570 / 60)
    # Small limits keep a burst of one request, so an idle provider is called at once.
    assert Budget.per_minute(10) == Budget(capacity=1, rate=9 / 60)


def test_requests_per_minute_allow_a_short_burst_then_pace_evenly() -> None:
    clock = Clock()
    rpm = limiter(clock, rpm=60)  # a burst of 3, then 57 over the minute
    assert not rpm.unlimited
    delays = [rpm.reserve(0) for _ in range(6)]
    assert delays[:3] == [0.0] * 3
    assert delays[3:] == pytest.approx([60 / 57, 120 / 57, 180 / 57])


def test_the_bucket_refills_with_time() -> None:
    clock = Clock()
    rpm = limiter(clock, rpm=60)
    for _ in range(3):
        rpm.reserve(0)
    clock.now += 60 / 57 * 2  # two requests' worth
    assert [rpm.reserve(0) for _ in range(3)] == pytest.approx([0, 0, 60 / 57])


def test_tokens_per_minute_delay_large_requests() -> None:
    clock = Clock()
    tpm = limiter(clock, tpm=6000)  # bursts of 300, then 95 a second
    assert tpm.reserve(300) == 0
    assert tpm.reserve(95) == pytest.approx(1.0)
    # A request larger than the burst still goes, after the bucket has caught up.
    assert tpm.reserve(950) == pytest.approx(11.0)


def test_the_stricter_limit_decides() -> None:
    clock = Clock()
    both = limiter(clock, rpm=600, tpm=600)  # bursts of 30 requests and 30 tokens
    assert both.reserve(30) == 0
    assert both.reserve(57) == pytest.approx(6.0)  # tokens bind (57 at 9.5 a second), not requests


async def test_acquire_sleeps_for_the_booked_delay() -> None:
    clock = Clock()
    rpm = limiter(clock, rpm=6)  # a burst of one, then one every twelve seconds
    for _ in range(4):
        await rpm.acquire(1)
    assert clock.slept == pytest.approx([12.0, 12.0, 12.0])


@given(
    # One a minute leaves no room for the slack: a late send can share a window with the next.
    limit=st.integers(min_value=2, max_value=200),
    # In refill intervals: bursts, a steady pace, and pauses that fill the bucket.
    gaps=st.lists(st.floats(min_value=0, max_value=4), min_size=1, max_size=300),
    lateness=st.lists(st.floats(min_value=0, max_value=0.99), min_size=300, max_size=300),
)
def test_no_minute_window_sees_more_requests_than_the_limit(
    limit: int, gaps: list[float], lateness: list[float]
) -> None:
    """Whenever calls arrive, and even when each leaves up to almost one refill interval after
    its booked time, no 60-second window holds more than the limit."""
    clock = Clock()
    rpm = limiter(clock, rpm=limit)
    budget = Budget.per_minute(limit)
    assert budget is not None
    interval = 1 / budget.rate
    sent = []
    for gap, late in zip(gaps, lateness, strict=False):
        clock.now += gap * interval
        sent.append(clock.now + rpm.reserve(0) + late * interval)
    assert most_in_a_window(sent, [1.0] * len(sent), 60.0) <= limit


@given(
    limit=st.integers(min_value=100, max_value=20_000),
    calls=st.lists(
        st.tuples(st.floats(min_value=0, max_value=3), st.integers(min_value=0, max_value=5_000)),
        min_size=1,
        max_size=200,
    ),
)
def test_no_minute_window_sees_more_tokens_than_the_limit_but_for_calls_over_the_burst(
    limit: int, calls: list[tuple[float, int]]
) -> None:
    """A call larger than the burst still goes once the bucket has caught up, and can carry a
    window over the limit by what it exceeds the burst; smaller calls never can."""
    clock = Clock()
    tpm = limiter(clock, tpm=limit)
    budget = Budget.per_minute(limit)
    assert budget is not None
    sent, costs = [], []
    for gap, tokens in calls:
        clock.now += gap
        sent.append(clock.now + tpm.reserve(tokens))
        costs.append(float(tokens))
    excess = max(0.0, max(costs) - budget.capacity)
    assert most_in_a_window(sent, costs, 60.0) <= limit + excess + 1e-6


# Up to 50,000 bookings per example: more than hypothesis's 200 ms deadline on a busy machine.
@settings(deadline=None)
@given(limit=st.integers(min_value=10, max_value=5000))
def test_waiting_work_gets_at_least_nine_tenths_of_the_limit(limit: int) -> None:
    clock = Clock()
    rpm = limiter(clock, rpm=limit)
    # Ten minutes of calls booked back to back: the last one's time says the pace.
    sent = [clock.now + rpm.reserve(0) for _ in range(10 * limit)]
    minutes = (sent[-1] - sent[0]) / 60
    assert (len(sent) - 1) / minutes >= 0.9 * limit
