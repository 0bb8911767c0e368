"""The queue's statements against the real database: enqueue and merge, claim, complete,
settle by error class, lease expiry, cancel, embedding status and cleanup."""

from __future__ import annotations

import random
from datetime import timedelta

import anyio
import asyncpg
import pytest

from article_mcp.db.pool import Database, create_pool
from article_mcp.queue import tasks as queue
from article_mcp.queue.cleanup import cleanup
from article_mcp.queue.tasks import LeasedTask
from tests.support.queue_states import add_article, add_model, add_task, embed_article, many_articles
from tests.support.worker_runs import wait_until

pytestmark = pytest.mark.anyio

LEASE_MS = 60_000


async def task_row(conn: asyncpg.Connection, task_id: int) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM embedding_tasks WHERE id = $1", task_id)
    assert row is not None
    return row


async def pending_count(conn: asyncpg.Connection, article_id: int) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM embedding_tasks WHERE article_id = $1 AND status = 'pending'", article_id
    )
    return count


async def bump_version(conn: asyncpg.Connection, article_id: int) -> None:
    await conn.execute("UPDATE articles SET version = version + 1 WHERE id = $1", article_id)


async def waits_for_a_lock(watcher: asyncpg.Connection, pid: int) -> bool:
    """Whether the backend `pid` is waiting for a lock another transaction holds. The watcher
    asks outside any transaction: inside one, pg_stat_activity would not change."""
    wait: str | None = await watcher.fetchval(
        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid
    )
    return wait == "Lock"


async def test_enqueue_creates_one_task_per_article_and_skips_no_rag(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        first = await add_article(conn, "first")
        second = await add_article(conn, "second")
        quiet = await add_article(conn, "quiet", no_rag=True)
        ids = await queue.enqueue(conn, [second, quiet, first], model, max_attempts=4)
        rows = [await task_row(conn, i) for i in ids]
    assert [r["article_id"] for r in rows] == [first, second]
    assert all(r["status"] == "pending" and r["max_attempts"] == 4 and r["source"] == "write" for r in rows)


async def test_a_second_enqueue_merges_into_the_pending_task(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        article = await add_article(conn, "merged")
        [task] = await queue.enqueue(
            conn, [article], model, priority="low", source="backfill:7", max_attempts=3
        )
        await conn.execute(
            "UPDATE embedding_tasks SET attempts = 2, scheduled_at = now() + interval '1 hour'"
        )
        [same] = await queue.enqueue(
            conn, [article], model, priority="high", source="backfill:8", max_attempts=3
        )
        after_backfill = await task_row(conn, task)
        await bump_version(conn, article)
        [again] = await queue.enqueue(conn, [article], model, priority="low", source="write", max_attempts=3)
        after_write = await task_row(conn, task)
        assert await pending_count(conn, article) == 1
    assert same == again == task
    # Same version: priority rises, attempts stay, the earlier schedule wins, the backfill keeps its source.
    assert after_backfill["priority"] == "high" and after_backfill["attempts"] == 2
    assert after_backfill["source"] == "backfill:7"
    # A newer version: attempts start over, the version follows, the write's source wins.
    assert after_write["priority"] == "high" and after_write["attempts"] == 0
    assert after_write["article_version"] == 2 and after_write["source"] == "write"
    assert after_write["scheduled_at"] <= after_write["updated_at"]


async def test_claim_takes_the_most_urgent_due_tasks_and_counts_the_attempt(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        articles = [await add_article(conn, f"a{i}", [f"text {i}"]) for i in range(4)]
        low = await add_task(conn, articles[0], model, priority="low", age=timedelta(hours=2))
        normal = await add_task(conn, articles[1], model, age=timedelta(hours=1))
        high = await add_task(conn, articles[2], model, priority="high")
        await add_task(
            conn,
            articles[3],
            model,
            priority="high",
            scheduled_at=await conn.fetchval("SELECT now() + interval '1 hour'"),
        )
        claimed = await queue.claim(conn, "w1", model, limit=2, lease_ms=LEASE_MS)
        rest = await queue.claim(conn, "w2", model, limit=10, lease_ms=LEASE_MS)
        row = await task_row(conn, high)
    assert {t.id for t in claimed} == {high, normal}
    assert [t.id for t in rest] == [low]  # the one scheduled later is not due
    assert row["status"] == "processing" and row["lease_owner"] == "w1" and row["attempts"] == 1
    assert row["lease_expires_at"] > row["started_at"]
    assert [c.text for t in claimed if t.id == high for c in t.chunks] == ["text 2"]


async def test_claim_returns_only_chunks_without_a_vector(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        article = await add_article(conn, "half", ["one", "two", "three"])
        await embed_article(conn, article, model, limit=2)
        await queue.enqueue(conn, [article], model, max_attempts=3)
        [task] = await queue.claim(conn, "w1", model, limit=1, lease_ms=LEASE_MS)
    assert task.title == "half" and [c.text for c in task.chunks] == ["three"]


async def updated_while_embedded(conn: asyncpg.Connection) -> tuple[int, queue.ClaimedTask, int]:
    """An article whose task w1 holds, updated meanwhile: the model, the held task and the
    update's pending task."""
    model = await add_model(conn)
    article = await add_article(conn, "busy")
    await queue.enqueue(conn, [article], model, max_attempts=3)
    [first] = await queue.claim(conn, "w1", model, limit=5, lease_ms=LEASE_MS)
    await bump_version(conn, article)
    [second] = await queue.enqueue(conn, [article], model, max_attempts=3)
    return model, first, second


async def test_claim_skips_an_article_another_worker_is_embedding(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model, first, second = await updated_while_embedded(conn)
        assert second != first.id  # the processing task stays; the update gets its own pending task
        assert await queue.claim(conn, "w2", model, limit=5, lease_ms=LEASE_MS) == []
        await queue.complete(conn, "w1", model, {first.id: 0}, {})
        [next_task] = await queue.claim(conn, "w2", model, limit=5, lease_ms=LEASE_MS)
    assert next_task.id == second


async def test_a_finished_batch_frees_its_articles_for_the_claim_sent_with_it(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model, first, second = await updated_while_embedded(conn)
        # The claim sees the finish: the article is no longer being embedded.
        done, claimed = await queue.finish_and_claim(
            conn, "w1", model, tokens_by_task={first.id: 0}, limit=5, lease_ms=LEASE_MS
        )
    assert done.completed == 1
    assert [t.id for t in claimed] == [second]


async def test_claim_takes_nothing_while_paused(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        await queue.enqueue(conn, [await add_article(conn, "p")], model, max_attempts=3)
        await conn.execute("UPDATE embedding_queue_control SET paused = true")
        assert await queue.claim(conn, "w1", model, limit=5, lease_ms=LEASE_MS) == []
        await conn.execute("UPDATE embedding_queue_control SET paused = false")
        assert len(await queue.claim(conn, "w1", model, limit=5, lease_ms=LEASE_MS)) == 1


async def test_an_enqueue_racing_a_claim_gets_its_own_pending_task(db: Database) -> None:
    """The enqueue waits for the claim's row lock, then finds the task processing: it must
    insert a new pending task rather than merge into one that no longer waits."""
    model = await add_model_via(db)
    async with db.pool.acquire() as setup:
        article = await add_article(setup, "race")
        [task] = await queue.enqueue(setup, [article], model, max_attempts=3)
    async with db.pool.acquire() as claimer, db.pool.acquire() as writer, db.pool.acquire() as watcher:
        claiming = claimer.transaction()
        await claiming.start()
        await queue.claim(claimer, "w1", model, limit=1, lease_ms=LEASE_MS)
        result: list[int] = []

        async def write() -> None:
            async with writer.transaction():
                await bump_version(writer, article)
                result.extend(await queue.enqueue(writer, [article], model, max_attempts=3))

        async with anyio.create_task_group() as tg:
            tg.start_soon(write)
            await wait_until(lambda: waits_for_a_lock(watcher, writer.get_server_pid()))
            assert result == []
            await claiming.commit()
        statuses = await claimer.fetch(
            "SELECT id, status FROM embedding_tasks WHERE article_id = $1 ORDER BY id", article
        )
    assert [(r["id"], r["status"]) for r in statuses] == [(task, "processing"), (result[0], "pending")]


async def add_model_via(db: Database) -> int:
    async with db.pool.acquire() as conn:
        return await add_model(conn)


async def test_complete_stores_only_current_texts_and_only_for_the_lease_holder(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        article = await add_article(conn, "c", ["kept"])
        await queue.enqueue(conn, [article], model, max_attempts=3)
        [task] = await queue.claim(conn, "w1", model, limit=1, lease_ms=LEASE_MS)
        kept = task.chunks[0].text_hash
        vectors = {kept: [1.0, 0.0, 0.0], "gone-meanwhile": [0.0, 1.0, 0.0]}
        stranger = await queue.complete(conn, "w2", model, {task.id: 5}, vectors)
        assert (await task_row(conn, task.id))["status"] == "processing"
        done = await queue.complete(conn, "w1", model, {task.id: 5}, vectors)
        again = await queue.complete(conn, "w1", model, {task.id: 5}, vectors)
        row = await task_row(conn, task.id)
        hashes = await conn.fetch("SELECT text_hash FROM chunk_embeddings")
        audit = await conn.fetch(
            "SELECT task_ids, worker_id, metadata FROM embedding_audit_logs WHERE event = 'tasks_completed'"
        )
    # The stranger's vector for the current text is still the right vector: it is kept.
    assert (stranger.stored, stranger.completed) == (1, 0)
    assert (done.stored, done.completed) == (0, 1) and (again.stored, again.completed) == (0, 0)
    assert [h["text_hash"] for h in hashes] == [kept]
    assert row["status"] == "completed" and row["lease_owner"] is None and row["tokens_used"] == 5
    # One audit row for the batch's completions; finishing nothing writes none.
    assert [(r["task_ids"], r["worker_id"], r["metadata"]) for r in audit] == [
        ([task.id], "w1", {"tasks": 1, "tokens": 5})
    ]


async def claimed_task(conn: asyncpg.Connection, model: int, slug: str, *, max_attempts: int = 3) -> int:
    article = await add_article(conn, slug)
    await queue.enqueue(conn, [article], model, max_attempts=max_attempts)
    [task] = await queue.claim(conn, "w1", model, limit=1, lease_ms=LEASE_MS)
    return task.id


async def test_transient_errors_retry_later_then_fail_with_the_message(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        task = await claimed_task(conn, model, "t", max_attempts=2)
        first = await queue.settle(
            conn, [LeasedTask(task, "w1")], "transient", delays_ms=[3_600_000], message="HTTP 503"
        )
        row = await task_row(conn, task)
        assert first == {task: "retry"}
        assert row["status"] == "pending" and row["attempts"] == 1 and row["error_message"] == "HTTP 503"
        assert row["scheduled_at"] > row["updated_at"] + timedelta(minutes=59)
        await conn.execute("UPDATE embedding_tasks SET scheduled_at = now() WHERE id = $1", task)
        await queue.claim(conn, "w1", model, limit=1, lease_ms=LEASE_MS)
        second = await queue.settle(conn, [LeasedTask(task, "w1")], "transient", message="HTTP 502")
        row = await task_row(conn, task)
    assert second == {task: "failed"}
    assert (row["status"], row["attempts"], row["error_kind"], row["error_message"]) == (
        "failed",
        2,
        "transient",
        "HTTP 502",
    )


async def test_rate_limits_do_not_count_and_permanent_errors_fail_at_once(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        limited = await claimed_task(conn, model, "limited", max_attempts=1)
        broken = await claimed_task(conn, model, "broken")
        await queue.settle(conn, [LeasedTask(limited, "w1")], "rate_limited", delays_ms=[0], message="429")
        await queue.settle(conn, [LeasedTask(broken, "w1")], "permanent", message="HTTP 401: bad key")
        limited_row = await task_row(conn, limited)
        broken_row = await task_row(conn, broken)
    assert limited_row["status"] == "pending" and limited_row["attempts"] == 0
    assert limited_row["error_kind"] == "rate_limited"
    assert broken_row["status"] == "failed" and broken_row["attempts"] == 1
    assert (broken_row["error_kind"], broken_row["error_message"]) == ("permanent", "HTTP 401: bad key")


async def test_a_retry_merges_into_the_pending_task_of_a_newer_version(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        article = await add_article(conn, "m")
        [old] = await queue.enqueue(conn, [article], model, priority="high", max_attempts=3)
        await queue.claim(conn, "w1", model, limit=1, lease_ms=LEASE_MS)
        await bump_version(conn, article)
        [new] = await queue.enqueue(conn, [article], model, priority="low", max_attempts=3)
        outcome = await queue.settle(conn, [LeasedTask(old, "w1")], "released")
        old_row, new_row = await task_row(conn, old), await task_row(conn, new)
        assert await pending_count(conn, article) == 1
    assert outcome == {old: "merged"}
    assert old_row["status"] == "cancelled" and new_row["priority"] == "high"


async def test_only_the_owner_settles_and_released_tasks_get_their_attempt_back(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        task = await claimed_task(conn, model, "r")
        assert await queue.settle(conn, [LeasedTask(task, "w2")], "permanent") == {}
        assert await queue.settle(conn, [LeasedTask(task, "w1")], "released") == {task: "retry"}
        row = await task_row(conn, task)
    assert row["status"] == "pending" and row["attempts"] == 0 and row["error_kind"] is None


async def test_expired_leases_are_reaped_and_live_ones_are_not(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        dead = await claimed_task(conn, model, "dead")
        alive = await claimed_task(conn, model, "alive")
        spent = await claimed_task(conn, model, "spent", max_attempts=1)
        await conn.execute(
            "UPDATE embedding_tasks SET lease_expires_at = now() - interval '1 second' WHERE id = ANY($1)",
            [dead, spent],
        )
        reaped = await queue.reap_expired(conn)
        rows = {t: await task_row(conn, t) for t in (dead, alive, spent)}
    assert reaped == {dead: "retry", spent: "failed"}
    assert rows[dead]["status"] == "pending" and rows[dead]["attempts"] == 1
    assert rows[alive]["status"] == "processing"
    assert rows[spent]["status"] == "failed" and "lease expired" in rows[spent]["error_message"]


async def test_cancel_for_articles_cancels_live_tasks_and_the_worker_cannot_complete(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        article = await add_article(conn, "gone")
        [task] = await queue.enqueue(conn, [article], model, max_attempts=3)
        await queue.claim(conn, "w1", model, limit=1, lease_ms=LEASE_MS)
        await bump_version(conn, article)
        await queue.enqueue(conn, [article], model, max_attempts=3)
        assert await queue.cancel_for_articles(conn, [article]) == 2
        done = await queue.complete(conn, "w1", model, {task: 0}, {})
        statuses = await conn.fetch(
            "SELECT DISTINCT status FROM embedding_tasks WHERE article_id = $1", article
        )
    assert done.completed == 0
    assert [r["status"] for r in statuses] == ["cancelled"]


async def test_embedding_status_is_computed_from_what_is_stored(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        ids = {name: await add_article(conn, name, ["one", "two"]) for name in ("ready", "pending", "failed")}
        ids.update(
            stale=await add_article(conn, "stale", ["one", "two"]), missing=await add_article(conn, "m")
        )
        ids.update(
            disabled=await add_article(conn, "off", no_rag=True), empty=await add_article(conn, "e", [])
        )
        await embed_article(conn, ids["ready"], model)
        await embed_article(conn, ids["stale"], model, limit=1)
        await add_task(conn, ids["ready"], model, "failed")  # history does not matter once ready
        await add_task(conn, ids["pending"], model, "failed")
        await add_task(conn, ids["pending"], model, "processing")
        failed = await add_task(conn, ids["failed"], model, "failed")
        statuses = await queue.embedding_statuses(conn, list(ids.values()), model)
    by_name = {name: statuses[article].status for name, article in ids.items()}
    assert by_name == {
        "ready": "ready",
        "pending": "pending",
        "failed": "failed",
        "stale": "stale",
        "missing": "missing",
        "disabled": "disabled",
        "empty": "ready",
    }
    assert statuses[ids["failed"]].task_id == failed


async def test_cleanup_removes_old_rows_and_orphan_vectors_only(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        article = await add_article(conn, "kept")
        await embed_article(conn, article, model)
        old = timedelta(days=40)
        old_done = await add_task(conn, article, model, "completed", age=old)
        recent_done = await add_task(conn, article, model, "completed")
        old_failed = await add_task(conn, article, model, "failed", age=old)
        await conn.execute(
            "INSERT INTO chunk_embeddings (model_id, text_hash, embedding) VALUES ($1, 'orphan', '[1,2,3]')",
            model,
        )
        await conn.execute(
            'INSERT INTO embedding_audit_logs ("timestamp", level, category, event, message)'
            " VALUES (now() - interval '40 days', 'info', 'task', 'old', 'old'),"
            " (now(), 'info', 'task', 'new', 'new')"
        )
        result = await cleanup(conn, retention_days=30, max_attempts=3)
        left = {r["id"] for r in await conn.fetch("SELECT id FROM embedding_tasks")}
        events = [r["event"] for r in await conn.fetch("SELECT event FROM embedding_audit_logs")]
        vectors = await conn.fetchval("SELECT count(*) FROM chunk_embeddings")
    assert (result.tasks, result.audit_logs, result.embeddings, result.requeued) == (1, 1, 1, 0)
    assert left == {recent_done, old_failed} and old_done not in left
    assert events == ["new"] and vectors == 1


def test_retry_delays_grow_with_jitter_below_the_full_backoff() -> None:
    rng = random.Random(7)
    delays = [queue.retry_delay_ms(1000, attempt, rng) for attempt in range(1, 6)]
    for attempt, delay in enumerate(delays, 1):
        full = 1000 * 2 ** (attempt - 1)
        assert full / 2 <= delay <= full
    assert delays == sorted(delays)


async def test_a_worker_connection_reuses_plans_only_until_it_goes_back(database_url: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    settings = "SELECT current_setting('plan_cache_mode') AS plans, current_setting('jit') AS jit"
    try:
        async with pool.acquire() as conn:
            await queue.reuse_plans(conn)
            held = await conn.fetchrow(settings)
        # The same (only) connection, as the next user of the pool gets it.
        async with pool.acquire() as conn:
            back = await conn.fetchrow(settings)
    finally:
        await pool.close()
    assert tuple(held) == ("force_generic_plan", "off")
    assert back["plans"] == "auto"


async def test_the_claim_walks_the_claim_index_and_touches_only_claimed_rows(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        ids = await many_articles(conn, 3000)
        # A chunk per article, every other one embedded already.
        await conn.execute(
            "INSERT INTO article_chunks (article_id, article_version, chunk_index, content, text_hash,"
            " token_count, tsv, lexeme_count) SELECT id, 1, 0, 'text', 'h' || id, 1, 'text', 1 FROM articles"
        )
        await conn.execute(
            "INSERT INTO chunk_embeddings (model_id, text_hash, embedding)"
            " SELECT $1, text_hash, '[1,0,0]' FROM article_chunks WHERE article_id % 2 = 0",
            model,
        )
        await queue.enqueue(conn, ids, model, max_attempts=3)
        await queue.claim(conn, "w0", model, limit=20, lease_ms=LEASE_MS)
        await conn.execute("ANALYZE")
        args = ("w1", model, [], [], [], [], 10, LEASE_MS, None, list(queue.PRIORITIES), None)
        custom = await conn.fetch("EXPLAIN " + queue.QUERIES["finish_and_claim"], *args)
        # The plan a worker's connection reuses for every batch (see reuse_plans).
        await queue.reuse_plans(conn)
        await conn.execute("PREPARE claim AS " + queue.QUERIES["finish_and_claim"])
        # EXECUTE takes no parameters: the same arguments as literals.
        generic = await conn.fetch(
            f"EXPLAIN EXECUTE claim('w1', {model}, '{{}}', '{{}}', '{{}}', '{{}}', 10, {LEASE_MS}, NULL,"
            " '{high,normal,low}', NULL)"
        )
        await conn.execute("DEALLOCATE claim")
    for rows in (custom, generic):
        plan = "\n".join(r[0] for r in rows)
        assert "Index Scan using embedding_tasks_claim_idx" in plan
        # One worker per article: a probe per candidate, not a scan of the tasks in processing.
        assert "NOT EXISTS(SubPlan" in plan
        probe = plan[plan.index("NOT EXISTS(SubPlan") :]
        assert "using embedding_tasks_processing_idx" in probe and "Index Cond: ((article_id =" in probe
        assert "Materialize" not in plan.split("CTE claimed")[0]
        # What is left to embed: one index scan for the claimed articles, a probe per chunk.
        assert "Index Scan using article_chunks_article_id_chunk_index_key" in plan
        assert "Index Only Scan using chunk_embeddings_pkey" in plan
        for table in ("embedding_tasks", "articles", "article_chunks", "chunk_embeddings"):
            assert f"Seq Scan on {table}" not in plan
