"""Reindex: rebuild the passages and search vectors of stored articles from their text, with
the current CHUNK_SIZE, CHUNK_OVERLAP and TEXT_SEARCH_CONFIG.

An article is chunked and indexed when it is written, under the settings of that moment; a
change of those settings reaches the others only here. Articles go in batches by id, each
batch one transaction that holds their row locks: a write arriving meanwhile waits and then
writes on top of the rebuild, so nothing is lost. The passages are replaced through
`passages.store.replace_many`, which rewrites only what differs, so a reindex under unchanged
settings writes nothing. Articles whose passage texts changed are queued for embedding with the
active model (source `reindex`); vectors of texts that stay are kept, as they are stored by
text hash. A reindex stopped half-way is finished by running it again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import asyncpg
from pydantic import Field

from article_mcp.articles.writes import chunk_in_thread, queue_and_store, write_indexed
from article_mcp.config import Settings
from article_mcp.db.rows import Frozen
from article_mcp.db.sql import Queries
from article_mcp.passages import store
from article_mcp.passages.chunking import Chunk

QUERIES = Queries("article_mcp.articles", "reindex.sql")

DEFAULT_BATCH_SIZE = 200
SOURCE = "reindex"


class ReindexResult(Frozen):
    """What a reindex found (a dry run) or changed."""

    articles: int = Field(description="articles gone through")
    rechunked: int = Field(description="articles whose passage texts change under the current settings")
    search_vectors: int = Field(description="article search vectors rebuilt (0 in a dry run)")
    queued: int = Field(description="embedding tasks created or merged into for the rechunked articles")
    model: str | None = Field(description="provider/model they were queued for; None: not queued")


async def count_articles(conn: asyncpg.Connection) -> int:
    """How many articles a reindex goes through."""
    count: int = await conn.fetchval(QUERIES["count_articles"])
    return count


async def reindex(
    conn: asyncpg.Connection,
    settings: Settings,
    *,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] = lambda _: None,
) -> ReindexResult:
    """Rebuild every article's passages and search vector; `dry_run` only counts."""
    model_id = None if dry_run else await _active_model(conn, settings)
    totals = Counter[str]()
    last_id = 0
    while True:
        async with conn.transaction():
            rows = await conn.fetch(QUERIES["lock_batch"], last_id, batch_size)
            if not rows:
                break
            last_id = rows[-1]["id"]
            totals.update(await _rebuild(conn, rows, settings, model_id, dry_run=dry_run))
        totals["articles"] += len(rows)
        progress(len(rows))
    model = f"{settings.embedding_provider}/{settings.embedding_model_name}" if model_id else None
    return ReindexResult(
        articles=totals["articles"],
        rechunked=totals["rechunked"],
        search_vectors=totals["search_vectors"],
        queued=totals["queued"],
        model=model,
    )


async def _rebuild(
    conn: asyncpg.Connection,
    rows: Sequence[asyncpg.Record],
    settings: Settings,
    model_id: int | None,
    *,
    dry_run: bool,
) -> dict[str, int]:
    """One locked batch: its passages under the settings, written unless `dry_run`."""
    passages = [
        (row, await chunk_in_thread(settings, row["title"], row["content"]))
        for row in rows
        if not row["no_rag"]
    ]
    changed = [row["id"] for row, chunks in passages if _hashes(chunks) != list(row["text_hashes"])]
    indexed = queued = 0
    if not dry_run:
        indexed = await _index_search_vectors(conn, [row["id"] for row in rows], settings)
        articles = [(row["id"], row["version"], chunks) for row, chunks in passages]
        queued = len(
            await queue_and_store(conn, settings, model_id, articles, queue_ids=changed, source=SOURCE)
        )
    return {"rechunked": len(changed), "search_vectors": indexed, "queued": queued}


async def _active_model(conn: asyncpg.Connection, settings: Settings) -> int | None:
    """The id of the model the settings select, when it is embedding anything: registered by
    the first serve, worker or backfill; until then there is nothing to keep current."""
    if not settings.semantic_search_enabled:
        return None
    prefixes = settings.instruction_prefixes()
    model_id: int | None = await conn.fetchval(
        QUERIES["active_model"],
        settings.embedding_provider,
        settings.embedding_model_name,
        prefixes.query.text,
        prefixes.document.text,
    )
    return model_id


def _hashes(chunks: Sequence[Chunk]) -> list[str]:
    return [chunk.text_hash for chunk in chunks]


async def _index_search_vectors(conn: asyncpg.Connection, ids: list[int], settings: Settings) -> int:
    """Rebuild the articles' search vectors; an article whose vector would be too large is
    indexed by the start of its text, as a write does."""
    config = settings.text_search_config
    try:
        async with conn.transaction():
            changed: int = await conn.fetchval(QUERIES["index_articles"], ids, config, None)
    except asyncpg.UndefinedObjectError as exc:
        raise store.unknown_text_search_config(config) from exc
    except asyncpg.ProgramLimitExceededError:
        changed = 0
        for article_id in ids:
            changed += (await write_indexed(conn, QUERIES["index_articles"], [article_id], config))[0]
    return changed
