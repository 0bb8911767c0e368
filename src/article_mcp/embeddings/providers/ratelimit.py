"""Provider rate limits: requests and tokens per minute, so a burst of work is spread out
instead of earning a wall of 429 answers.

A limit of N a minute means at most N in any 60-second window. Each limit is a token bucket
(`Budget`) that holds a twentieth of the minute's allowance (at least one unit, so an idle
provider answers the first call at once) and refills at what is left of N over the minute.
The burst plus a minute's refill is N, and what a bucket lets through in any window is less
than that, so one unit of slack is left for a send that leaves a little after its booked
time. A call books its cost up front and waits until its booking comes due;
the bucket may go into debt, so concurrent callers queue up in order of booking. A request
larger than the bucket still goes, once the bucket has caught up.

`RateLimiter` keeps the buckets in memory, for one process. The workers and the server use the
database's shared buckets instead (`article_mcp.embeddings.shared_limit`), one budget for
every process on every machine; both follow the same `Budget` and the `Limiter` protocol.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import anyio

# The share of a minute's allowance that may go out at once.
BURST_FRACTION = 1 / 20


class Limiter(Protocol):
    """What a provider waits on before each call."""

    @property
    def unlimited(self) -> bool:
        """True when no limit is set (the provider skips `acquire`)."""
        ...

    async def acquire(self, tokens: int) -> None:
        """Wait until one request of `tokens` estimated tokens may be sent."""
        ...


@dataclass(frozen=True, slots=True)
class Budget:
    """One per-minute limit as a token bucket: what it holds at most, and its refill per second."""

    capacity: float
    rate: float

    @classmethod
    def per_minute(cls, limit: int) -> Budget | None:
        """The bucket of a limit of `limit` a minute; None for 0 (no limit)."""
        if limit <= 0:
            return None
        burst = max(1.0, limit * BURST_FRACTION)
        return cls(capacity=burst, rate=max(limit - burst, 1.0) / 60)

    def refill(self, level: float, elapsed: float) -> float:
        """The level after `elapsed` seconds of refill, never above the capacity."""
        return min(self.capacity, level + self.rate * max(elapsed, 0.0))

    def wait(self, level: float) -> float:
        """Seconds until a bucket left at `level` after a booking is out of debt."""
        return max(0.0, -level / self.rate)


class Bucket:
    """A `Budget` kept in memory: its level and when it was last refilled."""

    def __init__(self, budget: Budget, now: float) -> None:
        self.budget = budget
        self.level = budget.capacity
        self.updated = now

    def reserve(self, cost: float, now: float) -> float:
        """Take `cost` from the bucket; return the seconds to wait before using it."""
        self.level = self.budget.refill(self.level, now - self.updated) - cost
        self.updated = now
        return self.budget.wait(self.level)


class RateLimiter:
    """Requests per minute and tokens per minute (0: unlimited), for one process."""

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
        requests, tokens = Budget.per_minute(requests_per_minute), Budget.per_minute(tokens_per_minute)
        self._requests = Bucket(requests, now) if requests is not None else None
        self._tokens = Bucket(tokens, now) if tokens is not None else None

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
