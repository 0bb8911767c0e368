"""Tokens the workers use, against the fake Ollama server on loopback: the figures recorded
are the provider's reported usage, the reports show them with their cost, and the daily
budget holds the queue and lets it go at midnight UTC on a clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import asyncpg
import pytest

from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.embeddings.backfill import embeddings_status
from article_mcp.queue.health import HealthReport, queue_health
from article_mcp.queue.reports import queue_metrics
from tests.support.clocks import ManualClock
from tests.support.fake_providers import FakeEmbeddingServer
from tests.support.queue_writes import write_article
from tests.support.worker_runs import queue_drained, running_pool, wait_until, worker_settings

pytestmark = pytest.mark.anyio

PRICE = 0.02  # per million tokens


async def recorded(conn: asyncpg.Connection) -> int:
    tokens: int = await conn.fetchval("SELECT coalesce(sum(tokens), 0) FROM embedding_token_usage")
    return tokens


async def _all_recorded(
    conn: asyncpg.Connection, server: FakeEmbeddingServer, *, estimated: bool = False
) -> bool:
    """Every batch's usage written by a heartbeat (with no usage reported: some)."""
    tokens = await recorded(conn)
    return tokens > 0 if estimated else tokens == server.tokens_reported


async def test_recorded_tokens_are_the_providers_reported_usage_with_their_cost(
    db: Database, database_url: str, fake_server: FakeEmbeddingServer
) -> None:
    settings = worker_settings(database_url, fake_server, embedding_price_per_million_tokens=PRICE)
    async with running_pool(settings, db) as model, db.pool.acquire() as conn:
        for i in range(5):
            await write_article(
                conn, f"a{i}", f"Paragraph {i} about sourdough.\n\nAnd a second {i}.", model.id
            )
        await wait_until(lambda: queue_drained(conn))
        # The heartbeat writes the batches' usage: wait for all of it.
        await wait_until(lambda: _all_recorded(conn, fake_server))
        sources = await conn.fetch("SELECT DISTINCT token_source FROM performance_metrics WHERE tokens > 0")
        charged = await conn.fetchval("SELECT sum(tokens_used) FROM embedding_tasks")
        metrics = await queue_metrics(conn, hours=1)
        status = await embeddings_status(conn, settings)
    reported = fake_server.tokens_reported
    assert reported > 0
    assert [row["token_source"] for row in sources] == ["reported"]
    # Shared out among the tasks, the batches' usage still adds up to what was reported.
    assert charged == reported
    [usage] = metrics.tokens_by_model
    # The test may cross an hour or midnight: the last 24 hours hold it all.
    assert usage.model_id == model.id and usage.last_24_hours == reported
    assert usage.this_hour <= usage.last_24_hours and usage.today <= usage.last_24_hours
    assert usage.by_source == {"reported": reported}
    assert usage.price_per_million_tokens == PRICE
    assert usage.cost_last_24_hours == pytest.approx(reported * PRICE / 1e6)
    assert status.tokens == metrics.tokens_by_model


async def test_a_server_without_usage_is_recorded_as_estimated(
    db: Database, database_url: str, fake_server: FakeEmbeddingServer
) -> None:
    fake_server.report_usage = False
    settings = worker_settings(database_url, fake_server)
    async with running_pool(settings, db) as model, db.pool.acquire() as conn:
        await write_article(conn, "plain", "Some words to embed here.", model.id)
        await wait_until(lambda: queue_drained(conn))
        await wait_until(lambda: _all_recorded(conn, fake_server, estimated=True))
        [usage] = (await queue_metrics(conn, hours=1)).tokens_by_model
    assert set(usage.by_source) == {"estimated"}
    assert usage.cost_today is None  # no price was ever configured for the model


async def test_the_daily_budget_holds_the_queue_until_midnight_utc_and_loses_nothing(
    db: Database, database_url: str, fake_server: FakeEmbeddingServer
) -> None:
    clock = ManualClock(datetime(2030, 1, 1, 23, 0, tzinfo=UTC))
    # One task a batch, so the budget is looked at before each article. The first article
    # alone spends the day's budget (far over 50 tokens); the four small ones together fit it.
    settings = worker_settings(
        database_url, fake_server, embedding_daily_token_budget=50, embedding_batch_size=1
    )
    big = " ".join(f"word{n}" for n in range(80))
    async with running_pool(settings, db, clock=clock) as model, db.pool.acquire() as conn:
        await write_article(conn, "big", big, model.id)
        await wait_until(lambda: queue_drained(conn))
        held = await _wait_for_health(conn, settings, "degraded")
        # Writes are never refused: they queue, and wait.
        for i in range(4):
            await write_article(conn, f"small{i}", f"Small text number {i}.", model.id)
        calls = fake_server.call_count
        await _two_heartbeats(conn)
        waiting = await _counts(conn)
        assert fake_server.call_count == calls == 1
        clock.now = datetime(2030, 1, 2, 0, 0, 30, tzinfo=UTC)
        await wait_until(lambda: queue_drained(conn))
        healthy = await _wait_for_health(conn, settings, "healthy")
        done = await _counts(conn)
        by_day = await conn.fetch(
            "SELECT date_trunc('day', hour, 'UTC') AS day, sum(tokens) AS tokens"
            " FROM embedding_token_usage GROUP BY 1 ORDER BY 1"
        )
    assert held.queue.tokens.budget_resets_at == datetime(2030, 1, 2, tzinfo=UTC)
    assert any("daily token budget" in reason and "2030-01-02T00:00:00" in reason for reason in held.reasons)
    assert waiting == {"completed": 1, "pending": 4}
    assert done == {"completed": 5}
    assert healthy.queue.tokens.budget_resets_at is None
    assert fake_server.call_count == 5
    first_day, second_day = by_day
    assert first_day["tokens"] >= 50 > second_day["tokens"] > 0
    assert first_day["tokens"] + second_day["tokens"] == fake_server.tokens_reported


async def _wait_for_health(conn: asyncpg.Connection, settings: Settings, status: str) -> HealthReport:
    reports: list[HealthReport] = []

    async def reached() -> bool:
        reports.append(await queue_health(conn, settings))
        return reports[-1].status == status

    await wait_until(reached)
    return reports[-1]


async def _two_heartbeats(conn: asyncpg.Connection) -> None:
    """Two heartbeats of the worker after now: it has polled the queue several times since."""
    for _ in range(2):
        since = await conn.fetchval("SELECT now()")
        await wait_until(partial(_beat_after, conn, since))


async def _beat_after(conn: asyncpg.Connection, since: datetime) -> bool:
    latest = await conn.fetchval("SELECT max(heartbeat_at) FROM embedding_worker_status")
    return bool(latest and latest > since)


async def _counts(conn: asyncpg.Connection) -> dict[str, int]:
    rows = await conn.fetch("SELECT status::text, count(*) FROM embedding_tasks GROUP BY 1")
    return {row["status"]: row["count"] for row in rows}
