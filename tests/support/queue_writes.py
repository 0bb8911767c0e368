"""Article writes as the article service does them, for queue and worker tests: the article,
its chunks (the real chunker and chunk store) and its embedding task in one transaction."""

from __future__ import annotations

import hashlib

import asyncpg

from article_mcp.passages import store as chunk_store
from article_mcp.passages.chunking import chunk_article
from article_mcp.queue import tasks as queue

CHUNK_SIZE = 64
CHUNK_OVERLAP = 8


async def write_article(
    conn: asyncpg.Connection,
    slug: str,
    content: str,
    model_id: int,
    *,
    title: str | None = None,
    priority: queue.Priority = "normal",
    max_attempts: int = 3,
) -> int:
    """Create the article `slug`, or give it new content (a new version); queue its embedding."""
    title = title or f"Article {slug}"
    content_hash = hashlib.sha256(content.encode()).hexdigest()
    async with conn.transaction():
        row = await conn.fetchrow(
            "UPDATE articles SET content = $2, title = $3, content_hash = $4, version = version + 1,"
            " updated_at = now() WHERE slug = $1 RETURNING id, version",
            slug,
            content,
            title,
            content_hash,
        )
        if row is None:
            row = await conn.fetchrow(
                "INSERT INTO articles (slug, title, content, content_hash) VALUES ($1, $2, $3, $4)"
                " RETURNING id, version",
                slug,
                title,
                content,
                content_hash,
            )
        assert row is not None
        chunks = chunk_article(title, content, max_tokens=CHUNK_SIZE, overlap=CHUNK_OVERLAP)
        await chunk_store.replace_chunks(conn, row["id"], row["version"], chunks, text_search_config="simple")
        await queue.enqueue(conn, [row["id"]], model_id, priority=priority, max_attempts=max_attempts)
    article_id: int = row["id"]
    return article_id


async def delete_article(conn: asyncpg.Connection, slug: str) -> bool:
    """Delete the article `slug` with its chunks, cancelling its live tasks; False if absent."""
    async with conn.transaction():
        article_id = await conn.fetchval("SELECT id FROM articles WHERE slug = $1 FOR UPDATE", slug)
        if article_id is None:
            return False
        await queue.cancel_for_articles(conn, [article_id])
        await chunk_store.remove_chunks(conn, [article_id])
        await conn.execute("DELETE FROM articles WHERE id = $1", article_id)
    return True


async def statuses(conn: asyncpg.Connection, model_id: int) -> dict[str, str]:
    """Every article's embedding status, by slug."""
    rows = await conn.fetch("SELECT id, slug FROM articles")
    found = await queue.embedding_statuses(conn, [r["id"] for r in rows], model_id)
    return {r["slug"]: found[r["id"]].status for r in rows}


async def current_texts_without_vectors(conn: asyncpg.Connection, model_id: int) -> int:
    """How many current chunks have no vector for the model."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM article_chunks k WHERE NOT EXISTS"
        " (SELECT 1 FROM chunk_embeddings e WHERE e.model_id = $1 AND e.text_hash = k.text_hash)",
        model_id,
    )
    return count
