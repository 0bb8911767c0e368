"""Running the worker pool in a test against the fake HTTP embedding server, and checking
what it stored: every current chunk has the vector of exactly its own text."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
import asyncpg

from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.embeddings.providers import create_provider
from article_mcp.embeddings.providers.base import EmbeddingProvider
from article_mcp.embeddings.registry import ModelRecord, configured_model
from article_mcp.passages.chunking import embed_text
from article_mcp.queue.tasks import EVERYTHING, Partition
from article_mcp.worker.budget import Clock, utc_now
from article_mcp.worker.runs import run_pool
from tests.conftest import make_settings
from tests.support.fake_providers import DEFAULT_DIMENSIONS, FakeEmbeddingServer, fake_vector
from tests.support.queue_writes import CHUNK_OVERLAP, CHUNK_SIZE

# Generous bound on waiting for the queue to settle: a hang fails the test, speed never does.
SETTLE_LIMIT = 120.0


def worker_settings(database_url: str, server: FakeEmbeddingServer, **overrides: Any) -> Settings:
    """Settings with short intervals and leases, the fake Ollama server, and the test chunk size."""
    values: dict[str, Any] = {
        "embedding_model": "nomic-embed-text",
        "embedding_worker_interval": 200,
        "embedding_lease_seconds": 3.0,
        "embedding_retry_backoff_base": 20,
        "embedding_batch_size": 4,
        "chunk_size": CHUNK_SIZE,
        "chunk_overlap": CHUNK_OVERLAP,
    }
    values.update(overrides)
    return make_settings(database_url, **server.settings("ollama", **values))


@asynccontextmanager
async def provider_and_model(
    settings: Settings, db: Database
) -> AsyncIterator[tuple[EmbeddingProvider, ModelRecord]]:
    """The configured provider and its registered model."""
    provider = create_provider(settings)
    try:
        async with db.pool.acquire() as conn:
            model = await configured_model(conn, provider, settings)
        yield provider, model
    finally:
        await provider.aclose()


@asynccontextmanager
async def running_pool(
    settings: Settings, db: Database, *, clock: Clock = utc_now, partition: Partition = EVERYTHING
) -> AsyncIterator[ModelRecord]:
    """The worker pool (taking `partition`) running in the background for the block; `clock` is
    the token budget's."""
    async with provider_and_model(settings, db) as (provider, model), anyio.create_task_group() as tg:
        await tg.start(partial(run_pool, settings, db, provider, model, clock=clock, partition=partition))
        yield model
        tg.cancel_scope.cancel()


async def wait_until(check: Callable[[], Awaitable[bool]], *, every: float = 0.05) -> None:
    """Poll `check` until it holds (bounded by SETTLE_LIMIT)."""
    with anyio.fail_after(SETTLE_LIMIT):
        while not await check():  # noqa: ASYNC110 - the state is in the database: poll it
            await anyio.sleep(every)


async def queue_drained(conn: asyncpg.Connection) -> bool:
    """No task pending or processing."""
    live: int = await conn.fetchval(
        "SELECT count(*) FROM embedding_tasks WHERE status IN ('pending', 'processing')"
    )
    return live == 0


async def wrong_or_missing_vectors(
    conn: asyncpg.Connection, model_id: int, *, dimensions: int = DEFAULT_DIMENSIONS
) -> list[str]:
    """Current chunks whose vector is absent or is not the vector of their own embed text (as
    the model got it: its document prefix first)."""
    prefix = await conn.fetchval("SELECT document_prefix FROM embedding_models WHERE id = $1", model_id)
    rows = await conn.fetch(
        "SELECT a.title, k.heading_path, k.content, k.text_hash, e.embedding"
        " FROM article_chunks k JOIN articles a ON a.id = k.article_id"
        " LEFT JOIN chunk_embeddings e ON e.model_id = $1 AND e.text_hash = k.text_hash",
        model_id,
    )
    problems = []
    for row in rows:
        text = embed_text(row["title"], row["heading_path"], row["content"], max_tokens=CHUNK_SIZE)
        if row["embedding"] is None:
            problems.append(f"missing: {text!r}")
            continue
        expected = fake_vector(prefix + text, dimensions)
        stored = row["embedding"].to_list()
        if len(stored) != len(expected) or any(
            abs(a - b) > 1e-5 for a, b in zip(stored, expected, strict=True)
        ):
            problems.append(f"stale: {text!r}")
    return problems


async def worker_partitions(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, str]:
    """Each worker's id and how it started ('worker started', or '..., taking <partition>'),
    from its `worker_started` event (written by the heartbeat: read it once the pool stopped)."""
    rows = await conn.fetch(
        "SELECT worker_id, message FROM embedding_audit_logs WHERE event = 'worker_started'"
    )
    return {row["worker_id"]: row["message"] for row in rows}


async def completed_by(conn: asyncpg.Connection | asyncpg.Pool) -> dict[int, str]:
    """Which worker completed each task."""
    rows = await conn.fetch(
        "SELECT unnest(task_ids) AS task_id, worker_id FROM embedding_audit_logs"
        " WHERE event = 'tasks_completed'"
    )
    return {row["task_id"]: row["worker_id"] for row in rows}
