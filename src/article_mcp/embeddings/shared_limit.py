"""One provider rate limit for every process: EMBEDDING_REQUESTS_PER_MINUTE and
EMBEDDING_TOKENS_PER_MINUTE as token buckets in the database, booked by every worker and
server process, on any machine, before each call to the provider.

The budget belongs to the provider's endpoint and model (`limit_key`): processes that call the
same model at the same base URL share one budget, whatever their number; another model, or
another server, has its own. A booking is one statement (`shared_limit.sql`): the row lock
orders concurrent callers and the database's clock is the one clock, so the buckets follow
`providers.ratelimit.Budget` exactly as one process's would, and a caller that finds no budget
sleeps until its booking comes due (no polling). The capacity and rate come from each caller's
settings: processes with different limits for one provider each refill by their own.

The provider itself never touches the database: it gets a `SharedRateLimiter` through the
`Limiter` protocol. When the database cannot be reached, a booking falls back to the process's
own bucket (same limits) until it can: the provider is still paced, though no longer across
processes, and nothing else waits on the database for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import structlog

from article_mcp.config import Settings, redact_url
from article_mcp.db.pool import CONNECTION_ERRORS, Database
from article_mcp.db.sql import Queries
from article_mcp.embeddings.providers.ratelimit import Budget, Limiter, RateLimiter
from article_mcp.errors import describe

log = structlog.get_logger(__name__)

QUERIES = Queries("article_mcp.embeddings", "shared_limit.sql")


def limit_key(settings: Settings) -> str:
    """The budget's name: the provider, its base URL (without a password) and the model."""
    base_url = (
        settings.openai_base_url if settings.embedding_provider == "openai" else settings.ollama_base_url
    )
    return f"{settings.embedding_provider} {redact_url(base_url.rstrip('/'))} {settings.embedding_model_name}"


def shared_limiter(settings: Settings, db: Database) -> Limiter | None:
    """The shared limiter for the configured provider; None when there is nothing to limit
    (no limit set, or the local model)."""
    if settings.embedding_provider == "local":
        return None
    limiter = SharedRateLimiter(
        db, limit_key(settings), settings.embedding_requests_per_minute, settings.embedding_tokens_per_minute
    )
    return None if limiter.unlimited else limiter


class SharedRateLimiter:
    """Requests and tokens per minute (0: unlimited) for one provider, shared through the database."""

    def __init__(
        self,
        db: Database,
        key: str,
        requests_per_minute: int,
        tokens_per_minute: int,
        *,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self._db = db
        self.key = key
        self._requests = Budget.per_minute(requests_per_minute)
        self._tokens = Budget.per_minute(tokens_per_minute)
        self._sleep = sleep
        self._fallback = RateLimiter(requests_per_minute, tokens_per_minute, sleep=sleep)
        self._degraded = False

    @property
    def unlimited(self) -> bool:
        """True when no limit is set."""
        return self._requests is None and self._tokens is None

    async def reserve(self, tokens: int) -> float:
        """Book one request of `tokens` tokens in the shared buckets; the seconds to wait."""
        requests, estimated = self._requests, self._tokens
        args = (*_bucket_args(requests, 1), *_bucket_args(estimated, tokens))
        async with self._db.pool.acquire() as conn:
            row = await conn.fetchrow(QUERIES["reserve"], self.key, *args)
        assert row is not None  # an upsert always returns its row
        delays = [0.0]
        if requests is not None:
            delays.append(requests.wait(row["requests"]))
        if estimated is not None:
            delays.append(estimated.wait(row["tokens"]))
        return max(delays)

    async def acquire(self, tokens: int) -> None:
        """Wait until one request of `tokens` tokens may be sent."""
        try:
            delay = await self.reserve(tokens)
        except CONNECTION_ERRORS as exc:
            if not self._degraded:
                log.warning("shared_rate_limit_unavailable", key=self.key, error=describe(exc))
                self._degraded = True
            await self._fallback.acquire(tokens)
            return
        if self._degraded:
            log.info("shared_rate_limit_restored", key=self.key)
            self._degraded = False
        if delay > 0:
            await self._sleep(delay)


def _bucket_args(budget: Budget | None, cost: float) -> tuple[float, float, float]:
    """The capacity, rate and cost a booking passes for one bucket (zeros: no limit)."""
    if budget is None:
        return 0.0, 0.0, 0.0
    return budget.capacity, budget.rate, float(cost)
