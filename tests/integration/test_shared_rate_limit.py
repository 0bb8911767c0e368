"""The shared provider rate limit: one budget in the database for every limiter of one
provider, whatever process it is in. Waits are recorded, not slept: the limiters book against
the database's clock, and a booking's wait is a number the test reads."""

from __future__ import annotations

import pytest

from article_mcp.db.pool import Database, create_pool
from article_mcp.embeddings.providers import create_provider
from article_mcp.embeddings.providers.http import HttpProvider
from article_mcp.embeddings.shared_limit import SharedRateLimiter, limit_key, shared_limiter
from tests.conftest import make_settings
from tests.support.fake_providers import FakeEmbeddingServer

pytestmark = pytest.mark.anyio

# One request every 12 seconds after a burst of one: a booking's wait is 12 s per request
# booked ahead of it, far more than the milliseconds between the test's statements.
RPM = 6
INTERVAL = 12.0


class Waits:
    """A sleep that records how long it was asked to wait."""

    def __init__(self) -> None:
        self.waited: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waited.append(seconds)


def limiter(
    db: Database, waits: Waits, key: str = "ollama http://models:11434 m", tpm: int = 0
) -> SharedRateLimiter:
    return SharedRateLimiter(db, key, RPM, tpm, sleep=waits)


async def test_limiters_of_one_provider_share_one_budget(db: Database) -> None:
    # Two limiters, as in two processes: each books after the other.
    waits = Waits()
    first, second = limiter(db, waits), limiter(db, waits)
    for booking in (first, second, first, second):
        await booking.acquire(1)
    # The burst of one goes at once; each later booking waits one interval more.
    assert waits.waited == pytest.approx([INTERVAL, 2 * INTERVAL, 3 * INTERVAL], abs=1.0)


async def test_each_provider_has_its_own_budget(db: Database) -> None:
    waits = Waits()
    await limiter(db, waits, key="ollama http://a:11434 m").acquire(1)
    await limiter(db, waits, key="ollama http://b:11434 m").acquire(1)
    await limiter(db, waits, key="ollama http://a:11434 other").acquire(1)
    assert waits.waited == []


async def test_tokens_are_booked_in_the_same_statement(db: Database) -> None:
    waits = Waits()
    tokens = SharedRateLimiter(db, "openai https://api/v1 m", 0, 6000, sleep=waits)  # burst 300, 95/s
    await tokens.acquire(300)
    await tokens.acquire(950)
    assert waits.waited == pytest.approx([10.0], abs=0.5)
    rows = await db.pool.fetch("SELECT provider_key, requests, tokens FROM provider_rate_limits")
    assert [(r["provider_key"], r["requests"]) for r in rows] == [("openai https://api/v1 m", 0.0)]
    assert rows[0]["tokens"] == pytest.approx(-950, abs=100)


async def test_without_the_database_a_process_paces_itself(database_url: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=2)
    closed = Database(pool=pool, dsn=database_url)
    await pool.close()
    waits = Waits()
    alone = limiter(closed, waits)
    for _ in range(3):
        await alone.acquire(1)
    # Its own bucket of the same limits: the burst of one, then each one interval later.
    assert waits.waited == pytest.approx([INTERVAL, 2 * INTERVAL], abs=1.0)


def test_the_budget_is_named_by_provider_endpoint_and_model() -> None:
    settings = make_settings(
        embedding_provider="ollama", ollama_base_url="http://user:secret@gpu-1:11434/", embedding_model="m"
    )
    assert limit_key(settings) == "ollama http://user:***@gpu-1:11434 m"
    assert limit_key(make_settings(embedding_provider="openai", openai_api_key="sk-" + "x" * 40)) == (
        "openai https://api.openai.com/v1 text-embedding-3-small"
    )


async def test_an_http_provider_waits_on_the_shared_budget(
    db: Database, fake_server: FakeEmbeddingServer
) -> None:
    settings = make_settings(**fake_server.settings("ollama", embedding_requests_per_minute=RPM))
    shared = shared_limiter(settings, db)
    assert isinstance(shared, SharedRateLimiter)
    provider = create_provider(settings, limiter=shared)
    assert isinstance(provider, HttpProvider)
    assert provider.limiter is shared
    await provider.embed(["one"])
    await provider.aclose()
    booked = await db.pool.fetchval("SELECT provider_key FROM provider_rate_limits")
    assert booked == limit_key(settings)


async def test_nothing_to_share_without_a_limit_or_for_the_local_model(db: Database) -> None:
    assert shared_limiter(make_settings(embedding_provider="ollama"), db) is None
    local = make_settings(embedding_provider="local", embedding_requests_per_minute=60)
    assert shared_limiter(local, db) is None
