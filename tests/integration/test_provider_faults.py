"""Provider faults that are not a task's fault, against the real database and the fake HTTP
provider on loopback: an outage longer than every retry delay heals with no operator action
and no attempt spent; `Retry-After` negative, zero, huge and as a date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import asyncpg
import pytest

from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.queue.health import queue_health
from tests.support import worker_runs as runs
from tests.support.fake_providers import FakeEmbeddingServer
from tests.support.queue_writes import statuses, write_article

pytestmark = pytest.mark.anyio

# Waits far shorter than the outage: a retry base of 20 ms and a backoff cap of 0.2 s.
FAST = {"embedding_retry_backoff_base": 20, "embedding_backoff_max_seconds": 0.2}


@pytest.fixture
def server(fake_server: FakeEmbeddingServer) -> FakeEmbeddingServer:
    return fake_server


async def _tasks(conn: asyncpg.Connection) -> list[tuple[str, int]]:
    rows = await conn.fetch("SELECT status::text, attempts FROM embedding_tasks ORDER BY id")
    return [(r["status"], r["attempts"]) for r in rows]


@pytest.mark.parametrize("fault", ["connection cut", "HTTP 503"])
async def test_an_outage_longer_than_every_retry_delay_heals_without_spending_attempts(
    db: Database, database_url: str, server: FakeEmbeddingServer, fault: str
) -> None:
    # No retries at all: a single counted attempt would fail a task.
    settings = runs.worker_settings(
        database_url, server, embedding_max_retries=0, embedding_concurrent_workers=2, **FAST
    )
    if fault == "connection cut":
        server.down = True
    else:
        server.fail(503, times=10_000)
    async with runs.running_pool(settings, db) as model, db.pool.acquire() as conn:
        for i in range(6):
            text = f"Written during the outage, number {i}."
            await write_article(conn, f"o{i}", text, model.id, max_attempts=1)
        # Down for many probes, each after a longer wait: far longer than any retry delay.
        await runs.wait_until(lambda: _probed(server, 12))
        await runs.wait_until(lambda: _reported_unreachable(conn, settings))
        health = await queue_health(conn, settings)
        assert all(status == "pending" and attempts == 0 for status, attempts in await _tasks(conn))
        # The provider comes back: nobody runs `queue retry`.
        server.down = False
        server.reset()
        await runs.wait_until(lambda: runs.queue_drained(conn))
        tasks = await _tasks(conn)
        assert await runs.wrong_or_missing_vectors(conn, model.id) == []
        assert set((await statuses(conn, model.id)).values()) == {"ready"}
        await runs.wait_until(lambda: _reported_answering(conn, settings))
        failed_events = await conn.fetchval(
            "SELECT count(*) FROM embedding_audit_logs WHERE event = 'task_failed'"
        )
        answering = await conn.fetchval(
            "SELECT count(*) FROM embedding_audit_logs WHERE event = 'provider_answering'"
        )
    assert health.status == "degraded"
    assert health.reasons[0].startswith("provider unreachable since ")
    assert health.queue.provider_unreachable_since is not None
    # Each task embedded by its first counted attempt: the outage spent none.
    assert tasks == [("completed", 1)] * 6
    assert failed_events == 0 and answering >= 1


async def _probed(server: FakeEmbeddingServer, calls: int) -> bool:
    return server.call_count >= calls


async def _reported_unreachable(conn: asyncpg.Connection, settings: Settings) -> bool:
    health = await queue_health(conn, settings)
    return health.queue.provider_unreachable_since is not None


async def _reported_answering(conn: asyncpg.Connection, settings: Settings) -> bool:
    return not await _reported_unreachable(conn, settings)


async def test_a_text_that_always_breaks_the_provider_still_fails_in_the_end(
    db: Database, database_url: str, server: FakeEmbeddingServer
) -> None:
    """A 500 that the probe does not get is the task's own fault: its attempts are spent."""
    settings = runs.worker_settings(database_url, server, embedding_max_retries=1, **FAST)
    async with runs.running_pool(settings, db) as model, db.pool.acquire() as conn:
        # The probe text is answered; the article's text fails every time.
        server.poison = "Poison"
        await write_article(
            conn, "poison", "Poison that the provider cannot digest.", model.id, max_attempts=2
        )
        await runs.wait_until(lambda: runs.queue_drained(conn))
        [(status, attempts)] = await _tasks(conn)
    assert (status, attempts) == ("failed", 2)


def _http_date(delta: timedelta) -> str:
    return format_datetime(datetime.now(UTC) + delta, usegmt=True)


@pytest.mark.parametrize(
    ("retry_after", "wait_from", "wait_to"),
    [
        # Negative, or a date already past: the normal backoff, growing from the 20 ms base.
        ("-5", 0.01, 0.2),
        (_http_date(-timedelta(days=1)), 0.01, 0.2),
        # Zero: the smallest wait, not a busy loop.
        ("0", 0.02, 0.021),
        # Huge, in seconds or as a date in 2099: clamped to EMBEDDING_RETRY_AFTER_MAX_SECONDS,
        # and the probe at the backoff cap ends the wait once the provider answers.
        ("999999", 600, 600.5),
        ("Thu, 01 Jan 2099 00:00:00 GMT", 600, 600.5),
    ],
)
async def test_retry_after_at_the_extremes(
    db: Database,
    database_url: str,
    server: FakeEmbeddingServer,
    retry_after: str,
    wait_from: float,
    wait_to: float,
) -> None:
    settings = runs.worker_settings(
        database_url, server, embedding_max_retries=0, embedding_retry_after_max_seconds=600, **FAST
    )
    server.rate_limit(retry_after=retry_after, times=4)
    async with runs.running_pool(settings, db) as model, db.pool.acquire() as conn:
        await write_article(conn, "limited", "Asked to slow down.", model.id, max_attempts=1)
        await runs.wait_until(lambda: runs.queue_drained(conn))
        tasks = await _tasks(conn)
        waits = [
            row["wait"].total_seconds()
            for row in await conn.fetch(
                "SELECT (metadata->>'retry_at')::timestamptz - \"timestamp\" AS wait"
                " FROM embedding_audit_logs WHERE event = 'task_rate_limited' ORDER BY id"
            )
        ]
    assert tasks == [("completed", 1)]
    assert waits and all(wait_from <= w <= wait_to for w in waits), waits
    # Four refusals then the answer; no storm of calls (a probe at most after each refusal).
    assert server.call_count <= 2 * 4 + 1
