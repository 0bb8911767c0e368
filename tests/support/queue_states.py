"""Rows for operations tests: models, articles with chunks, embeddings, tasks and workers,
inserted with plain SQL so each test sets up exactly the queue state it needs."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import asyncpg


async def add_model(conn: asyncpg.Connection, name: str = "all-MiniLM-L6-v2", provider: str = "local") -> int:
    """An embedding model row; returns its id."""
    model_id: int = await conn.fetchval(
        "INSERT INTO embedding_models (provider, name, dimensions) VALUES ($1, $2, 3) RETURNING id",
        provider,
        name,
    )
    return model_id


def text_hash(text: str) -> str:
    """The hash a chunk of this text carries."""
    return hashlib.sha256(text.encode()).hexdigest()


async def add_article(
    conn: asyncpg.Connection, slug: str, passages: Sequence[str] = ("one passage",), *, no_rag: bool = False
) -> int:
    """An article with one chunk per passage (none when no_rag, as the article service does)."""
    article_id: int = await conn.fetchval(
        "INSERT INTO articles (slug, title, content, content_hash, no_rag)"
        " VALUES ($1, $1, $2, $3, $4) RETURNING id",
        slug,
        "\n\n".join(passages),
        text_hash("\n\n".join(passages)),
        no_rag,
    )
    if not no_rag:
        await conn.executemany(
            "INSERT INTO article_chunks (article_id, article_version, chunk_index, content, text_hash,"
            " token_count, tsv, lexeme_count) VALUES ($1, 1, $2, $3, $4, 5, to_tsvector('english', $3), 2)",
            [(article_id, i, text, text_hash(f"{slug}/{text}")) for i, text in enumerate(passages)],
        )
    return article_id


async def many_articles(conn: asyncpg.Connection, count: int, folders: Sequence[str] = ("",)) -> list[int]:
    """`count` bare articles (no chunks), in `folders` in turn, in one statement; their ids."""
    rows = await conn.fetch(
        "INSERT INTO articles (slug, title, content, content_hash, folder)"
        " SELECT 'a' || i, 'A', 'text', 'h', ($2::text[])[i % cardinality($2::text[]) + 1]"
        " FROM generate_series(1, $1) AS i RETURNING id",
        count,
        list(folders),
    )
    return sorted(row["id"] for row in rows)


async def embed_article(
    conn: asyncpg.Connection, article_id: int, model_id: int, *, limit: int | None = None
) -> None:
    """Store vectors for the article's chunks (the first `limit` of them)."""
    await conn.execute(
        "INSERT INTO chunk_embeddings (model_id, text_hash, embedding)"
        " SELECT $2, text_hash, '[1,0,0]'::vector FROM article_chunks WHERE article_id = $1"
        " ORDER BY chunk_index LIMIT $3 ON CONFLICT DO NOTHING",
        article_id,
        model_id,
        limit,
    )


async def add_task(
    conn: asyncpg.Connection,
    article_id: int | None,
    model_id: int,
    status: str = "pending",
    *,
    age: timedelta = timedelta(0),
    **columns: Any,
) -> int:
    """A task created `age` ago (by the server's clock); processing tasks hold a live lease
    unless `lease_expires_at` says otherwise."""
    then = await conn.fetchval("SELECT now()") - age
    values: dict[str, Any] = {"article_id": article_id, "model_id": model_id, "status": status}
    values.update(article_version=1, max_attempts=3, created_at=then, updated_at=then, scheduled_at=then)
    if status == "processing":
        # A claim counts the attempt and sets a lease.
        values.update(
            attempts=1, lease_owner="worker-1", lease_expires_at=then + timedelta(days=1), started_at=then
        )
    if status in ("completed", "failed", "cancelled"):
        values.update(started_at=then, completed_at=then)
    values.update(columns)
    casts = {"status": "::task_status", "priority": "::task_priority"}
    placeholders = ", ".join(f"${i}{casts.get(name, '')}" for i, name in enumerate(values, 1))
    task_id: int = await conn.fetchval(
        f"INSERT INTO embedding_tasks ({', '.join(values)}) VALUES ({placeholders}) RETURNING id",
        *values.values(),
    )
    return task_id


async def add_worker(
    conn: asyncpg.Connection, worker_id: str, state: str = "idle", *, silent_for: timedelta = timedelta(0)
) -> None:
    """A worker row whose last heartbeat was `silent_for` ago."""
    await conn.execute(
        "INSERT INTO embedding_worker_status (worker_id, hostname, pid, state, heartbeat_at)"
        " VALUES ($1, 'host', 4242, $2, now() - $3::interval)",
        worker_id,
        state,
        silent_for,
    )
