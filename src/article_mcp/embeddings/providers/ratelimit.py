"""A per-provider rate limiter: requests and tokens per minute, so a burst of work is spread
out instead of earning a wall of 429 answers.

Each limit is a bucket that refills at its rate and holds ten seconds' worth (providers often
enforce per-minute limits over shorter windows). A call reserves its cost up front and sleeps
until the buckets cover it; concurrent callers queue up in order of reservation. One limiter
serves one process: several processes sharing a key should split the limits between them.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio

# How much of a minute's allowance may go out at once.
BURST_SECONDS = 10.0


class Bucket:
    """A token bucket that may go into debt: a reservation larger than what is left waits."""

    def __init__(self, per_minute: int, now: float) -> None:
        self.per_minute = per_minute
        self.available = self.capacity
        self.updated = now

    @property
    def capacity(self) -> float:
        """The most that can go out at once (at least one unit)."""
        return max(1.0, self.per_minute * BURST_SECONDS / 60)

    def reserve(self, cost: float, now: float) -> float:
        """Take `cost` from the bucket; return the seconds to wait before using it."""
        rate = self.per_minute / 60
        self.available = min(self.capacity, self.available + rate * (now - self.updated))
        self.updated = now
        self.available -= cost
        return max(0.0, -self.available / rate)


class RateLimiter:
    """Requests per minute and tokens per minute (0: unlimited) for one provider."""

    def __init__(
        self,
        requests_per_minute: int,
        tokens_per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        now = clock()
        self._requests = Bucket(requests_per_minute, now) if requests_per_minute > 0 else None
        self._tokens = Bucket(tokens_per_minute, now) if tokens_per_minute > 0 else None

    @property
    def unlimited(self) -> bool:
        """True when no limit is set."""
        return self._requests is None and self._tokens is None

    def reserve(self, tokens: int) -> float:
        """Book one request of `tokens` tokens; return the seconds to wait before sending it."""
        now = self._clock()
        delays = [0.0]
        if self._requests is not None:
            delays.append(self._requests.reserve(1, now))
        if self._tokens is not None:
            delays.append(self._tokens.reserve(tokens, now))
        return max(delays)

    async def acquire(self, tokens: int) -> None:
        """Wait until one request of `tokens` tokens may be sent."""
        delay = self.reserve(tokens)
        if delay > 0:
            await self._sleep(delay)
