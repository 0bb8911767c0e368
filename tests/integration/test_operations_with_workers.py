"""The operator's commands against the real worker pool (and the fake Ollama server): a
backfill of articles written before embedding was on gets them all embedded; pause holds the
workers and resume releases them; tasks that exhausted their attempts are really requeued by
retry and then embedded."""

from __future__ import annotations

import pytest

from article_mcp.articles.service import ArticleService
from article_mcp.config import Settings
from article_mcp.db.pool import Connection, Database
from article_mcp.embeddings.backfill import articles_needing_vectors, coverage, enqueue_backfill, plan
from article_mcp.queue import tasks as queue
from article_mcp.queue.admin import queue_status, reset_stuck, retry_failed, set_paused
from article_mcp.queue.health import queue_health
from article_mcp.queue.reports import failed_tasks, queue_metrics
from tests.support.fake_providers import FakeEmbeddingServer
from tests.support.worker_runs import (
    provider_and_model,
    queue_drained,
    running_pool,
    wait_until,
    worker_settings,
    wrong_or_missing_vectors,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def server(fake_server: FakeEmbeddingServer) -> FakeEmbeddingServer:
    """The fake Ollama server the workers call."""
    return fake_server


async def write_without_embedding(settings: Settings, db: Database, count: int) -> None:
    """Articles written while semantic search was off: chunks, no task (what a backfill is for)."""
    service = ArticleService(settings.model_copy(update={"semantic_search_enabled": False}), db, None)
    for i in range(count):
        await service.create(f"Note {i}", f"# Note {i}\n\nAbout subject {i}, in a few words.\n")
    await service.create("Private", "Never embedded.", no_rag=True)


async def backfill_all(conn: Connection, model_id: int) -> int:
    ids = await articles_needing_vectors(conn, model_id)
    await enqueue_backfill(conn, model_id, ids, priority="normal", batch_size=3, max_attempts=2, run_id="t")
    return len(ids)


async def worker_state(conn: Connection, state: str) -> bool:
    return bool(await conn.fetchval("SELECT bool_and(state = $1) FROM embedding_worker_status", state))


async def test_backfill_gets_every_article_embedded(db: Database, server: FakeEmbeddingServer) -> None:
    settings = worker_settings(db.dsn, server)
    await write_without_embedding(settings, db, 7)
    async with running_pool(settings, db) as model, db.pool.acquire() as conn:
        assert await backfill_all(conn, model.id) == 7
        await wait_until(lambda: queue_drained(conn))
        status = await queue_status(conn, settings)
        health = await queue_health(conn, settings)
        metrics = await queue_metrics(conn, hours=1)
        after = await plan(conn, model.id)
        covered = {c.model_id: c for c in await coverage(conn)}[model.id]
        assert await wrong_or_missing_vectors(conn, model.id) == []
    assert status.state == "running" and status.workers_alive >= 1
    assert status.counts.completed == 7 and health.status == "healthy"
    assert metrics.completed == 7 and metrics.processing_seconds_p50 is not None
    assert after.to_queue == 0 and after.no_rag == 1
    assert covered.articles_embedded == covered.articles == 7


async def test_pause_holds_every_worker_until_resumed(db: Database, server: FakeEmbeddingServer) -> None:
    settings = worker_settings(db.dsn, server)
    await write_without_embedding(settings, db, 3)
    async with running_pool(settings, db) as model, db.pool.acquire() as conn:
        await set_paused(conn, paused=True, reason="test")
        await wait_until(lambda: worker_state(conn, "paused"))
        await backfill_all(conn, model.id)
        # A paused worker reports in and claims nothing.
        await wait_until(lambda: _beat_after_pause(conn))
        assert (await queue_status(conn, settings)).counts.pending == 3
        assert server.call_count == 0
        await set_paused(conn, paused=False, reason=None)
        await wait_until(lambda: queue_drained(conn))
    assert server.call_count >= 1


async def _beat_after_pause(conn: Connection) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT bool_and(w.heartbeat_at > c.updated_at + interval '100 milliseconds')"
            " FROM embedding_worker_status w, embedding_queue_control c"
        )
    )


async def test_retry_requeues_tasks_that_spent_their_attempts(
    db: Database, server: FakeEmbeddingServer
) -> None:
    settings = worker_settings(db.dsn, server, embedding_max_retries=1)
    await write_without_embedding(settings, db, 2)
    server.fail(401, times=100, message="invalid api key")
    async with running_pool(settings, db) as model, db.pool.acquire() as conn:
        await backfill_all(conn, model.id)
        await wait_until(lambda: queue_drained(conn))
        report = await failed_tasks(conn, details=10)
        assert [g.tasks for g in report.groups] == [2] and report.groups[0].error_kind == "permanent"
        server.reset()
        result = await retry_failed(conn)
        assert len(result.pending_ids) == 2
        await wait_until(lambda: queue_drained(conn))
        assert (await queue_status(conn, settings)).counts.failed == 0
        assert await wrong_or_missing_vectors(conn, model.id) == []


async def test_reset_stuck_releases_a_dead_workers_tasks(db: Database, server: FakeEmbeddingServer) -> None:
    settings = worker_settings(db.dsn, server)
    await write_without_embedding(settings, db, 2)
    async with provider_and_model(settings, db) as (_, model), db.pool.acquire() as conn:
        await backfill_all(conn, model.id)
        claimed = await queue.claim(conn, "dead-worker", model.id, limit=10, lease_ms=1)
        assert len(claimed) == 2
        result = await reset_stuck(conn, older_than_minutes=30)
        assert (result.requeued, result.failed) == (2, 0)
    async with running_pool(settings, db), db.pool.acquire() as conn:
        await wait_until(lambda: queue_drained(conn))
        assert await wrong_or_missing_vectors(conn, model.id) == []
