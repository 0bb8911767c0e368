"""The daily token budget (EMBEDDING_DAILY_TOKEN_BUDGET) as the workers of one process keep it.

The day is the UTC day of the pool's clock (injectable, so a test controls time). What the
day has used is learned at each heartbeat, right after the beat has written this process's
batches: the day's total in `embedding_token_usage` (every process's flushed batches) plus
this process's batches still buffered. Between beats each batch adds its own tokens, so the
process stops at once when it reaches the budget; other processes' batches count from their
next beat, so the day may overshoot by what was in flight meanwhile.

Once the budget is reached no worker claims (tasks wait as pending: nothing fails, nothing
is lost, writes go on), each heartbeat says until when, and at midnight UTC the next poll
claims again. Checking costs nothing per batch: the figure is in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from article_mcp.db.pool import Connection
from article_mcp.queue.usage import tokens_between

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time(), tzinfo=UTC)


class TokenBudget:
    """Tokens per UTC day for this process's workers (0: no budget)."""

    def __init__(self, limit: int, clock: Clock = utc_now) -> None:
        self.limit = limit
        self._clock = clock
        self._day: date | None = None
        self._used = 0

    @property
    def enabled(self) -> bool:
        """False when EMBEDDING_DAILY_TOKEN_BUDGET is 0."""
        return self.limit > 0

    def now(self) -> datetime:
        """The pool's clock, in UTC."""
        return self._clock().astimezone(UTC)

    def today(self) -> date:
        """The budget's day now."""
        return self.now().date()

    def spent(self, tokens: int, at: datetime) -> None:
        """A batch of this process used `tokens` at `at`."""
        day = at.astimezone(UTC).date()
        self._roll(day)
        if day == self._day:
            self._used += tokens

    async def learn(self, conn: Connection, buffered: Callable[[date], int]) -> None:
        """Learn what today has used in all, right after a heartbeat wrote this process's
        batches: the recorded total and the tokens of `buffered(day)`, the batches since."""
        if not self.enabled:
            return
        day = self.today()
        start = day_start(day)
        recorded = await tokens_between(conn, start, start + timedelta(days=1))
        self._roll(day)
        if day == self._day:
            self._used = recorded + buffered(day)

    def resets_at(self) -> datetime | None:
        """While the day's tokens have reached the budget: the next midnight UTC, when work
        resumes; None while workers may call the provider."""
        if not self.enabled:
            return None
        today = self.today()
        self._roll(today)
        if self._used < self.limit:
            return None
        return day_start(today + timedelta(days=1))

    def _roll(self, day: date) -> None:
        # A new day starts at zero; a figure for a day already over changes nothing.
        if self._day is None or day > self._day:
            self._day, self._used = day, 0
