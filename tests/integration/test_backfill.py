"""Backfill against the real database: it finds exactly the articles whose current chunks lack
vectors of the model (from the chunks and embeddings tables, not task history), queues them
once, and its rollback cancels only its own pending tasks."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from article_mcp.db.pool import Database
from article_mcp.embeddings.backfill import (
    articles_needing_vectors,
    backfill_runs,
    coverage,
    enqueue_backfill,
    plan,
    rollback,
)
from article_mcp.queue import tasks as queue
from tests.support.queue_states import add_article, add_model, add_task, embed_article

pytestmark = pytest.mark.anyio


async def backfill(conn: asyncpg.Connection, model: int, run_id: str, batch_size: int = 2) -> list[int]:
    ids = await articles_needing_vectors(conn, model)
    await enqueue_backfill(
        conn, model, ids, priority="low", batch_size=batch_size, max_attempts=4, run_id=run_id
    )
    return ids


async def test_finds_exactly_the_articles_lacking_vectors(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        other_model = await add_model(conn, "other")
        ready = await add_article(conn, "ready", ["a", "b"])
        await embed_article(conn, ready, model)
        missing = await add_article(conn, "missing", ["a", "b"])
        incomplete = await add_article(conn, "incomplete", ["a", "b", "c"])
        await embed_article(conn, incomplete, model, limit=1)
        await add_article(conn, "no-rag", ["a"], no_rag=True)
        await add_article(conn, "empty", [])
        pending = await add_article(conn, "pending", ["a"])
        await add_task(conn, pending, model)
        processing = await add_article(conn, "processing", ["a"])
        await add_task(conn, processing, model, "processing")
        # Task history says done, but the vectors are gone (another model, or cleaned up).
        history_lies = await add_article(conn, "history-lies", ["a"])
        await add_task(conn, history_lies, model, "completed")
        await embed_article(conn, history_lies, other_model)
        # A failed task in history, but every chunk has a vector: nothing to do.
        failed_but_ready = await add_article(conn, "failed-but-ready", ["a"])
        await add_task(conn, failed_but_ready, model, "failed")
        await embed_article(conn, failed_but_ready, model)

        assert await articles_needing_vectors(conn, model) == [missing, incomplete, history_lies]
        counted = await plan(conn, model)
        assert (counted.articles, counted.no_rag) == (9, 1)
        assert (counted.missing, counted.incomplete, counted.queued) == (2, 1, 2)
        assert counted.chunks_to_embed == 2 + 2 + 1 and counted.to_queue == 3


async def test_queues_in_batches_with_its_source_and_priority_then_finds_nothing(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        ids = [await add_article(conn, f"a{i}", ["x", "y"]) for i in range(5)]
        batches: list[int] = []
        queued = await enqueue_backfill(
            conn, model, ids, priority="high", batch_size=2, max_attempts=4, run_id="r1",
            progress=batches.append,
        )  # fmt: skip
        tasks = await conn.fetch(
            "SELECT article_id, priority::text, source, max_attempts FROM embedding_tasks"
        )
        again = await articles_needing_vectors(conn, model)
        after = await plan(conn, model)
    assert batches == [2, 2, 1] and (queued.articles, queued.tasks, queued.source) == (5, 5, "backfill:r1")
    assert sorted(r["article_id"] for r in tasks) == ids
    assert {(r["priority"], r["source"], r["max_attempts"]) for r in tasks} == {("high", "backfill:r1", 4)}
    assert again == [] and (after.to_queue, after.queued) == (0, 5)


async def test_rollback_cancels_only_that_backfills_pending_tasks(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        first = [await add_article(conn, f"first{i}") for i in range(3)]
        await backfill(conn, model, "r1")
        second = [await add_article(conn, f"second{i}") for i in range(2)]
        written = await add_article(conn, "written")
        await queue.enqueue(conn, [written], model, max_attempts=4)
        await backfill(conn, model, "r2")
        # A write to a backfilled article merges into the backfill's task: it is the write's now.
        await queue.enqueue(conn, [second[0]], model, max_attempts=4)
        # A backfill task already picked up by a worker is left to finish.
        await conn.execute(
            "UPDATE embedding_tasks SET status = 'processing', lease_owner = 'w', attempts = 1,"
            " lease_expires_at = now() + interval '1 hour' WHERE article_id = $1",
            first[0],
        )
        assert await rollback(conn, "r2") == 1
        runs = await backfill_runs(conn)
        assert await rollback(conn, None) == 2
        assert await rollback(conn, None) == 0
        rows = await conn.fetch(
            "SELECT article_id, status::text, source FROM embedding_tasks ORDER BY article_id"
        )
    status = {r["article_id"]: (r["status"], r["source"]) for r in rows}
    assert status[second[1]] == ("cancelled", "backfill:r2")
    assert status[second[0]] == ("pending", "write")
    assert status[written] == ("pending", "write")
    assert status[first[0]] == ("processing", "backfill:r1")
    assert status[first[1]] == status[first[2]] == ("cancelled", "backfill:r1")
    assert [(r.run_id, r.tasks, r.cancelled, r.pending) for r in runs] == [("r2", 1, 1, 0), ("r1", 3, 0, 2)]


async def test_coverage_counts_articles_and_chunks_with_vectors_per_model(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        other = await add_model(conn, "other")
        full = await add_article(conn, "full", ["a", "b"])
        await embed_article(conn, full, model)
        half = await add_article(conn, "half", ["a", "b"])
        await embed_article(conn, half, model, limit=1)
        await add_article(conn, "empty", [])
        await add_article(conn, "no-rag", ["a"], no_rag=True)
        rows = {c.name: c for c in await coverage(conn)}
    assert (rows["all-MiniLM-L6-v2"].articles, rows["all-MiniLM-L6-v2"].articles_embedded) == (3, 2)
    assert (rows["all-MiniLM-L6-v2"].chunks, rows["all-MiniLM-L6-v2"].chunks_embedded) == (4, 3)
    assert (rows["other"].articles_embedded, rows["other"].chunks_embedded) == (1, 0)
    assert other


@dataclass(frozen=True)
class ArticleState:
    chunks: int
    embedded: int
    task: str | None
    no_rag: bool


article_states = st.builds(
    ArticleState,
    chunks=st.integers(0, 3),
    embedded=st.integers(0, 3),
    task=st.sampled_from([None, "pending", "processing", "completed", "failed", "cancelled"]),
    no_rag=st.booleans(),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(states=st.lists(article_states, max_size=8))
async def test_backfill_agrees_with_a_model_of_the_rule(db: Database, states: list[ArticleState]) -> None:
    async with db.pool.acquire() as conn:
        await conn.execute("TRUNCATE articles, embedding_models, embedding_tasks CASCADE")
        model = await add_model(conn)
        expected = []
        for i, state in enumerate(states):
            article = await add_article(
                conn, f"a{i}", [f"p{j}" for j in range(state.chunks)], no_rag=state.no_rag
            )
            await embed_article(conn, article, model, limit=state.embedded)
            if state.task:
                await add_task(conn, article, model, state.task)
            lacking = not state.no_rag and state.embedded < state.chunks
            if lacking and state.task not in ("pending", "processing"):
                expected.append(article)
        assert await articles_needing_vectors(conn, model) == expected
        assert (await plan(conn, model)).to_queue == len(expected)
