"""The steps every article write shares: the article service's writes and `db reindex`.

A write stores the article row (its search vector indexed, or the start of its text when the
whole would be too large), queues the embedding, and replaces the passages, in that order and
in one transaction: replacing passages locks the corpus statistics row every write needs, so
it comes last, to hold that lock for as short a time as possible.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import partial
from typing import Any

import anyio
import asyncpg
import structlog

from article_mcp.articles.slugs import MAX_SLUG_LENGTH, with_suffix
from article_mcp.config import Settings
from article_mcp.db.sql import Queries
from article_mcp.errors import ConflictError
from article_mcp.passages import store
from article_mcp.passages.chunking import Chunk, chunk_article
from article_mcp.queue import tasks

QUERIES = Queries("article_mcp.articles", "writes.sql")
log = structlog.get_logger(__name__)

# PostgreSQL refuses a tsvector over 1 MB, which an article of many distinct tokens (logs,
# encoded data) can reach. Such an article's search vector covers this many characters of its
# text, which stays below the limit whatever the text; the chunks index all of it.
SEARCH_INDEX_FALLBACK_CHARS = 100_000
# Suffixes tried per round trip when the slug of a title is taken.
_SLUG_CANDIDATES = 20
# A slug taken by a concurrent writer after our look-up is retried (in a savepoint) this often.
_SLUG_ATTEMPTS = 100


async def chunk_in_thread(settings: Settings, title: str, content: str) -> list[Chunk]:
    """The article's chunks under the settings' chunk size and overlap."""
    chunker = partial(chunk_article, max_tokens=settings.chunk_size, overlap=settings.chunk_overlap)
    # Chunking a large article takes a while: keep the event loop serving others meanwhile.
    return await anyio.to_thread.run_sync(chunker, title, content)


def content_hash(title: str, content: str) -> str:
    """sha256 of title and content (NUL never occurs in either, so it separates them)."""
    return hashlib.sha256(f"{title}\x00{content}".encode()).hexdigest()


async def queue_and_store(
    conn: asyncpg.Connection,
    settings: Settings,
    model_id: int | None,
    articles: Sequence[store.ArticleChunks],
    *,
    queue_ids: Sequence[int],
    source: str,
    priority: tasks.Priority = "normal",
) -> list[int]:
    """Queue the embedding of `queue_ids` (when a model embeds: `model_id` is the active one),
    for every model writes embed for, then replace the articles' passages; return the tasks
    queued, each article's task for the active model first."""
    task_ids: list[int] = []
    if model_id is not None and queue_ids:
        attempts = tasks.max_attempts(settings.embedding_max_retries)
        # While a model builds, writes embed for it too: only the enqueue grows, by a row.
        task_ids = await tasks.enqueue(
            conn, list(queue_ids), None, priority=priority, source=source, max_attempts=attempts
        )
    # Last: it locks the corpus statistics row, which every write needs, until the commit.
    await store.replace_many(conn, articles, text_search_config=settings.text_search_config)
    return task_ids


async def slug_taken(conn: asyncpg.Connection, slug: str) -> bool:
    """Whether an article has this slug."""
    return bool(await conn.fetch(QUERIES["taken_slugs"], [slug]))


async def insert_with_free_slug(
    conn: asyncpg.Connection, base: str, fields: tuple[Any, ...]
) -> asyncpg.Record:
    """Insert with the first free slug from `base`; one taken meanwhile moves on to the next."""
    for _ in range(_SLUG_ATTEMPTS):
        slug = await _free_slug(conn, base)
        try:
            return await insert_with_slug(conn, slug, fields)
        except ConflictError:
            continue
    raise ConflictError("title: too many articles are being created with this title at once; retry")


async def revive(
    conn: asyncpg.Connection, article_id: int, slug: str, version: int, past: asyncpg.Record, config: str
) -> asyncpg.Record:
    """Insert a deleted article again, under its id, with the fields of a past version."""
    fields = (
        past["title"],
        past["content"],
        past["folder"],
        past["tags"],
        past["no_rag"],
        past["content_hash"],
    )
    try:
        async with conn.transaction():  # a savepoint: the caller's error leaves nothing behind
            return await write_indexed(
                conn, QUERIES["revive_article"], article_id, slug, version, *fields, config
            )
    except asyncpg.UniqueViolationError:
        raise ConflictError(
            f"slug: {slug!r} was taken, or the article restored, by another write meanwhile; "
            "get_article or list_versions shows how things stand now"
        ) from None


async def insert_with_slug(conn: asyncpg.Connection, slug: str, fields: tuple[Any, ...]) -> asyncpg.Record:
    """Insert under exactly `slug`; ConflictError when an article has it."""
    try:
        async with conn.transaction():  # a savepoint: a lost race leaves the transaction usable
            return await write_indexed(conn, QUERIES["insert_article"], slug, *fields)
    except asyncpg.UniqueViolationError:
        raise ConflictError(f"slug: {slug!r} is already the slug of another article") from None


async def write_indexed(conn: asyncpg.Connection, query: str, *args: Any) -> asyncpg.Record:
    """Run an article write indexing the whole text, or its start if the vector is too large."""
    try:
        async with conn.transaction():
            row = await conn.fetchrow(query, *args, None)
    except asyncpg.ProgramLimitExceededError:
        log.warning("search_vector_truncated", indexed_chars=SEARCH_INDEX_FALLBACK_CHARS)
        row = await conn.fetchrow(query, *args, SEARCH_INDEX_FALLBACK_CHARS)
    assert row is not None
    return row


async def _free_slug(conn: asyncpg.Connection, base: str) -> str:
    """`base`, or the first of `base-2`, `base-3`, ... that no article uses."""
    start = 1
    while True:
        candidates = [
            base if n == 1 else with_suffix(base, n) for n in range(start, start + _SLUG_CANDIDATES)
        ]
        taken = {row["slug"] for row in await conn.fetch(QUERIES["taken_slugs"], candidates)}
        free = [c for c in candidates if c not in taken]
        if free:
            assert len(free[0]) <= MAX_SLUG_LENGTH
            return free[0]
        start += _SLUG_CANDIDATES
