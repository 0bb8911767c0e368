"""The worker pool against the real database and the fake HTTP embedding server: wakeup,
batching, failures of each class, concurrent updates, pause, shutdown, the synchronous mode."""

from __future__ import annotations

import random

import anyio
import asyncpg
import pytest

from article_mcp.db.pool import Database
from article_mcp.queue import tasks as queue
from article_mcp.worker.runs import embed_now, run_pool
from tests.support.fake_providers import FakeEmbeddingServer
from tests.support.queue_writes import delete_article, statuses, write_article
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


PARAGRAPHS = [f"Paragraph {i} about topic {i % 7} with words {i * 3} and {i * 5}." for i in range(60)]


async def task_rows(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM embedding_tasks ORDER BY id")


async def test_the_pool_embeds_what_is_written_and_records_its_work(
    db: Database, database_url: str, server: FakeEmbeddingServer
) -> None:
    settings = worker_settings(database_url, server, embedding_concurrent_workers=2)
    async with running_pool(settings, db) as model, db.pool.acquire() as conn:
        for i in range(6):
            await write_article(conn, f"a{i}", "\n\n".join(PARAGRAPHS[i * 3 : i * 3 + 3]), model.id)
        await wait_until(lambda: queue_drained(conn))
        sent = server.input_count
        await write_article(conn, "copy", "\n\n".join(PARAGRAPHS[:3]), model.id, title="Article a0")
        await wait_until(lambda: queue_drained(conn))
        assert server.input_count == sent  # the same texts as a0: nothing to send
        assert await wrong_or_missing_vectors(conn, model.id) == []
        assert set((await statuses(conn, model.id)).values()) == {"ready"}
        dims = await conn.fetchval("SELECT dimensions FROM embedding_models WHERE id = $1", model.id)
        workers = await conn.fetch("SELECT * FROM embedding_worker_status")
        await wait_until(lambda: _has_rows(conn, "performance_metrics"))
    texts = server.texts()
    assert len(texts) == len(set(texts))
    assert dims == 16 and len(workers) == 2
    async with db.pool.acquire() as conn:
        after = await conn.fetch("SELECT state, tasks_completed FROM embedding_worker_status")
        events = {r["event"] for r in await conn.fetch("SELECT DISTINCT event FROM embedding_audit_logs")}
        metrics = await conn.fetchrow(
            "SELECT sum(tasks) AS tasks, sum(embedded) AS embedded FROM performance_metrics"
        )
    assert {r["state"] for r in after} == {"stopped"}
    assert sum(r["tasks_completed"] for r in after) == 7
    assert {"tasks_completed", "worker_started", "worker_stopped"} <= events
    assert metrics["tasks"] == 7 and metrics["embedded"] == len(texts)


async def _has_rows(conn: asyncpg.Connection, table: str) -> bool:
    return bool(await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"))


async def test_two_pools_and_a_stream_of_updates_leave_only_current_vectors(
    db: Database, database_url: str, server: FakeEmbeddingServer
) -> None:
    """Two worker processes' worth of workers while the same articles keep changing: never two
    workers on one article, no stale vector, and no text sent twice."""
    settings = worker_settings(database_url, server, embedding_concurrent_workers=2)
    server.slow(0.05, times=1000)  # each call takes a moment: updates arrive mid-embedding
    rng = random.Random(4)
    fresh = iter([f"Version text {n} of the stream." for n in range(1000)])
    async with running_pool(settings, db) as model, running_pool(settings, db), db.pool.acquire() as conn:
        for _ in range(60):
            slug = f"s{rng.randrange(4)}"
            content = "\n\n".join([next(fresh) for _ in range(rng.randint(1, 3))])
            await write_article(conn, slug, content, model.id, priority=rng.choice(["high", "normal", "low"]))
            assert await _articles_with_two_workers(conn) == []
            await anyio.sleep(rng.random() * 0.03)
        await wait_until(lambda: queue_drained(conn))
        assert await wrong_or_missing_vectors(conn, model.id) == []
        failed = await conn.fetchval("SELECT count(*) FROM embedding_tasks WHERE status = 'failed'")
    texts = server.texts()
    assert failed == 0
    assert len(texts) == len(set(texts))


async def _articles_with_two_workers(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT article_id FROM embedding_tasks WHERE status = 'processing'"
        " GROUP BY article_id HAVING count(*) > 1"
    )


async def test_a_transient_failure_retries_with_growing_delays_then_completes(
    db: Database, database_url: str, server: FakeEmbeddingServer
) -> None:
    """A failure of the answer itself (a body cut off), not an outage: each spends an attempt."""
    settings = worker_settings(database_url, server, embedding_max_retries=6, embedding_retry_backoff_base=30)
    server.malformed(times=4)
    async with running_pool(settings, db) as model, db.pool.acquire() as conn:
        await write_article(conn, "down", PARAGRAPHS[0], model.id, max_attempts=7)
        await wait_until(lambda: queue_drained(conn))
        [task] = await task_rows(conn)
        retries = await conn.fetch(
            "SELECT (metadata->>'retry_at')::timestamptz - \"timestamp\" AS delay FROM embedding_audit_logs"
            " WHERE event = 'task_retry_scheduled' ORDER BY id"
        )
        assert await wrong_or_missing_vectors(conn, model.id) == []
    assert task["status"] == "completed" and task["attempts"] == 5
    delays = [r["delay"] for r in retries]
    assert len(delays) == 4 and delays == sorted(delays) and delays[-1] > delays[0]


async def test_a_429_storm_completes_without_counting_attempts(
    db: Database, database_url: str, server: FakeEmbeddingServer
) -> None:
    settings = worker_settings(database_url, server, embedding_max_retries=0)
    server.rate_limit(retry_after="0", times=8)
    async with running_pool(settings, db) as model, db.pool.acquire() as conn:
        for i in range(3):
            await write_article(conn, f"r{i}", PARAGRAPHS[i], model.id, max_attempts=1)
        await wait_until(lambda: queue_drained(conn))
        rows = await task_rows(conn)
        limited = await conn.fetchval(
            "SELECT count(*) FROM embedding_audit_logs WHERE event = 'task_rate_limited'"
        )
    # One attempt allowed (no retries), yet eight refusals: none of them counted.
    assert [(r["status"], r["attempts"]) for r in rows] == [("completed", 1)] * 3
    assert limited >= 8


async def test_a_permanent_error_fails_at_once_with_its_message(
    db: Database, database_url: str, server: FakeEmbeddingServer
) -> None:
    settings = worker_settings(database_url, server, embedding_max_retries=5)
    server.fail(400, message="input is longer than the context window")
    async with running_pool(settings, db) as model, db.pool.acquire() as conn:
        await write_article(conn, "bad", PARAGRAPHS[0], model.id, max_attempts=6)
        await wait_until(lambda: queue_drained(conn))
        [task] = await task_rows(conn)
        status = await statuses(conn, model.id)
    assert task["status"] == "failed" and task["attempts"] == 1 and task["error_kind"] == "permanent"
    assert "input is longer than the context window" in task["error_message"]
    assert status == {"bad": "failed"} and server.call_count == 1


async def test_a_paused_queue_claims_nothing_until_resumed(
    db: Database, database_url: str, server: FakeEmbeddingServer
) -> None:
    settings = worker_settings(database_url, server)
    async with running_pool(settings, db) as model, db.pool.acquire() as conn:
        await conn.execute("UPDATE embedding_queue_control SET paused = true")
        await write_article(conn, "waits", PARAGRAPHS[0], model.id)
        await wait_until(lambda: _worker_states_are(conn, "paused"))
        assert server.call_count == 0 and (await task_rows(conn))[0]["status"] == "pending"
        await conn.execute("UPDATE embedding_queue_control SET paused = false")
        await queue.notify_workers(conn)
        await wait_until(lambda: queue_drained(conn))
        assert await statuses(conn, model.id) == {"waits": "ready"}


async def _worker_states_are(conn: asyncpg.Connection, state: str) -> bool:
    states = {r["state"] for r in await conn.fetch("SELECT state FROM embedding_worker_status")}
    return states == {state}


async def test_cancelling_the_pool_releases_its_batch_without_counting_it(
    db: Database, database_url: str, server: FakeEmbeddingServer
) -> None:
    settings = worker_settings(database_url, server)
    server.slow(30)
    async with db.pool.acquire() as conn:
        async with running_pool(settings, db) as model:
            await write_article(conn, "slow", PARAGRAPHS[0], model.id)
            await wait_until(lambda: _called(server))
        [task] = await task_rows(conn)
        [worker] = await conn.fetch("SELECT state FROM embedding_worker_status")
    assert (task["status"], task["attempts"], task["lease_owner"]) == ("pending", 0, None)
    assert worker["state"] == "stopped"


async def _called(server: FakeEmbeddingServer) -> bool:
    return server.call_count > 0


async def test_a_shutdown_lets_the_batch_finish(
    db: Database, database_url: str, server: FakeEmbeddingServer
) -> None:
    settings = worker_settings(database_url, server)
    server.slow(0.5)
    shutdown = anyio.Event()
    async with provider_and_model(settings, db) as (provider, model), db.pool.acquire() as conn:
        await write_article(conn, "finish", PARAGRAPHS[0], model.id)
        async with anyio.create_task_group() as tg:
            await tg.start(
                lambda task_status: run_pool(
                    settings, db, provider, model, shutdown=shutdown, grace=60, task_status=task_status
                )
            )
            await wait_until(lambda: _called(server))
            shutdown.set()
        [task] = await task_rows(conn)
    assert task["status"] == "completed"


async def test_a_deleted_article_is_not_embedded_after_all(
    db: Database, database_url: str, server: FakeEmbeddingServer
) -> None:
    settings = worker_settings(database_url, server)
    server.slow(0.5)
    async with running_pool(settings, db) as model, db.pool.acquire() as conn:
        await write_article(conn, "gone", PARAGRAPHS[0], model.id)
        await wait_until(lambda: _called(server))
        await delete_article(conn, "gone")
        await wait_until(lambda: queue_drained(conn))
        [task] = await task_rows(conn)
        vectors = await conn.fetchval("SELECT count(*) FROM chunk_embeddings")
    assert task["status"] == "cancelled" and vectors == 0


async def test_embed_now_embeds_synchronously_and_never_raises(
    db: Database, database_url: str, server: FakeEmbeddingServer
) -> None:
    settings = worker_settings(database_url, server, embedding_queue_enabled=False)
    async with provider_and_model(settings, db) as (provider, model), db.pool.acquire() as conn:
        await write_article(conn, "now", PARAGRAPHS[0], model.id)
        [task] = await task_rows(conn)
        await embed_now(settings, db, provider, model, [task["id"]])
        assert await statuses(conn, model.id) == {"now": "ready"}
        server.fail(503)
        await write_article(conn, "later", PARAGRAPHS[1], model.id)
        later = (await task_rows(conn))[-1]
        await embed_now(settings, db, provider, model, [later["id"]])
        [row] = await conn.fetch("SELECT status, error_kind FROM embedding_tasks WHERE id = $1", later["id"])
    assert (row["status"], row["error_kind"]) == ("pending", "unreachable")


async def test_no_pool_runs_without_semantic_search(
    db: Database, database_url: str, server: FakeEmbeddingServer
) -> None:
    settings = worker_settings(database_url, server, semantic_search_enabled=False)
    async with provider_and_model(settings, db) as (provider, model):
        with anyio.fail_after(10):
            await run_pool(settings, db, provider, model)
    async with db.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM embedding_worker_status") == 0


TIMED_OUT = "the batch took longer than EMBEDDING_WORKER_TIMEOUT (1 s)"


@pytest.mark.parametrize(
    ("limit", "attempts", "retried"),
    [
        # The lease is renewed by the heartbeat: the reaper leaves the task alone, embedded once.
        ({"embedding_lease_seconds": 1.0}, 1, []),
        # How long a batch may take is EMBEDDING_WORKER_TIMEOUT: past it, a transient failure.
        (
            {"embedding_worker_timeout": 1000},
            2,
            ["the batch took longer than EMBEDDING_WORKER_TIMEOUT (1 s)"],
        ),
    ],
)
async def test_a_provider_call_three_times_longer_than_the_lease_or_the_batch_timeout(
    db: Database,
    database_url: str,
    server: FakeEmbeddingServer,
    limit: dict[str, float],
    attempts: int,
    retried: list[str],
) -> None:
    settings = worker_settings(database_url, server, **limit)
    server.slow(3.0)
    async with running_pool(settings, db) as model, db.pool.acquire() as conn:
        await write_article(conn, "slow", PARAGRAPHS[0], model.id)
        await wait_until(lambda: queue_drained(conn))
        [task] = await task_rows(conn)
        events = await conn.fetch(
            "SELECT event, message FROM embedding_audit_logs"
            " WHERE event IN ('task_lease_expired', 'task_retry_scheduled') ORDER BY id"
        )
    assert (task["status"], task["attempts"]) == ("completed", attempts)
    assert [(e["event"], e["message"]) for e in events] == [("task_retry_scheduled", m) for m in retried]
