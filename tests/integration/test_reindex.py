"""`reindex` against the real database: articles written under one chunk size or text search
configuration end with exactly the passages and search vectors a write under the new settings
would give them; only articles whose passage texts changed are queued; a reindex under
unchanged settings, or a dry run, writes nothing."""

from __future__ import annotations

from typing import Any

import anyio
import asyncpg
import pytest

from article_mcp.articles.reindex import reindex
from article_mcp.articles.service import ArticleService
from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.errors import ConfigError
from article_mcp.passages.chunking import chunk_article
from tests.conftest import make_settings
from tests.support.lexical_index import assert_index_consistent
from tests.support.queue_states import add_model
from tests.support.reindex_corpus import LONG, SHORT, write_corpus

pytestmark = pytest.mark.anyio


async def passages(conn: asyncpg.Connection, article_id: int) -> list[tuple[Any, ...]]:
    rows = await conn.fetch(
        "SELECT heading_path, content, text_hash, token_count FROM article_chunks"
        " WHERE article_id = $1 ORDER BY chunk_index",
        article_id,
    )
    return [tuple(row) for row in rows]


def expected_passages(title: str, content: str, settings: Settings) -> list[tuple[Any, ...]]:
    chunks = chunk_article(title, content, max_tokens=settings.chunk_size, overlap=settings.chunk_overlap)
    return [(list(c.heading_path), c.text, c.text_hash, c.token_count) for c in chunks]


async def row_versions(conn: asyncpg.Connection) -> set[tuple[Any, ...]]:
    """The row versions of the rebuilt tables: equal sets mean nothing was written."""
    rows: set[tuple[Any, ...]] = set()
    for table in ("articles", "article_chunks", "chunk_postings", "lexeme_stats", "corpus_stats"):
        rows |= {(table, *r) for r in await conn.fetch(f"SELECT xmin::text, ctid::text FROM {table}")}
    return rows


async def tasks(conn: asyncpg.Connection) -> list[tuple[Any, ...]]:
    rows = await conn.fetch("SELECT article_id, status::text, source FROM embedding_tasks ORDER BY id")
    return [tuple(row) for row in rows]


async def test_a_smaller_chunk_size_rechunks_and_queues_only_what_changed(db: Database) -> None:
    written = make_settings(db.dsn)
    ids = await write_corpus(db, written)
    smaller = make_settings(db.dsn, chunk_size=64, chunk_overlap=8)
    async with db.pool.acquire() as conn:
        short_before = await passages(conn, ids["short"])
        result = await reindex(conn, smaller, batch_size=1)

        assert (result.articles, result.rechunked, result.queued) == (3, 1, 1)
        assert result.model == f"{smaller.embedding_provider}/{smaller.embedding_model_name}"
        long_now = await passages(conn, ids["long"])
        assert long_now == expected_passages("Long", LONG, smaller)
        assert len(long_now) > len(expected_passages("Long", LONG, written))
        assert short_before == expected_passages("Short", SHORT, smaller)
        assert await passages(conn, ids["short"]) == short_before
        assert await passages(conn, ids["private"]) == []
        assert await tasks(conn) == [(ids["long"], "pending", "reindex")]
        await assert_index_consistent(conn)


async def test_unchanged_settings_write_nothing(db: Database) -> None:
    settings = make_settings(db.dsn)
    await write_corpus(db, settings)
    async with db.pool.acquire() as conn:
        before = await row_versions(conn)
        result = await reindex(conn, settings)
        assert (result.articles, result.rechunked, result.search_vectors, result.queued) == (3, 0, 0, 0)
        assert await row_versions(conn) == before
        assert await tasks(conn) == []


async def test_a_dry_run_counts_and_writes_nothing(db: Database) -> None:
    await write_corpus(db, make_settings(db.dsn))
    async with db.pool.acquire() as conn:
        before = await row_versions(conn)
        result = await reindex(conn, make_settings(db.dsn, chunk_size=64, chunk_overlap=8), dry_run=True)
        assert (result.articles, result.rechunked, result.queued, result.model) == (3, 1, 0, None)
        assert await row_versions(conn) == before
        assert await tasks(conn) == []


async def test_a_new_text_search_config_rebuilds_both_search_indexes(db: Database) -> None:
    ids = await write_corpus(db, make_settings(db.dsn))
    simple = make_settings(db.dsn, text_search_config="simple")
    short_tsv = "SELECT search_tsv::text FROM articles WHERE id = $1"
    async with db.pool.acquire() as conn:
        # english drops "the" and stems "flows"; simple keeps every word as written.
        assert "'the'" not in await conn.fetchval(short_tsv, ids["short"])
        result = await reindex(conn, simple)

        assert (result.rechunked, result.search_vectors, result.queued) == (0, 3, 0)
        article_tsv = await conn.fetchval(short_tsv, ids["short"])
        assert "'the'" in article_tsv and "'flows'" in article_tsv
        chunk_tsv = await conn.fetchval(
            "SELECT tsv::text FROM article_chunks WHERE article_id = $1", ids["short"]
        )
        assert "'the'" in chunk_tsv and "'flows'" in chunk_tsv
        assert await conn.fetchval("SELECT count(*) FROM lexeme_stats WHERE lexeme = 'the'") > 0
        await assert_index_consistent(conn)


async def test_with_semantic_search_off_nothing_is_queued(db: Database) -> None:
    await write_corpus(db, make_settings(db.dsn))
    off = make_settings(db.dsn, chunk_size=64, chunk_overlap=8, semantic_search_enabled=False)
    async with db.pool.acquire() as conn:
        result = await reindex(conn, off)
        assert (result.rechunked, result.queued, result.model) == (1, 0, None)
        assert await tasks(conn) == []


async def test_an_unknown_text_search_config_names_the_setting_and_changes_nothing(db: Database) -> None:
    await write_corpus(db, make_settings(db.dsn))
    async with db.pool.acquire() as conn:
        before = await row_versions(conn)
        with pytest.raises(ConfigError, match=r"TEXT_SEARCH_CONFIG.*klingon"):
            await reindex(conn, make_settings(db.dsn, chunk_size=64, text_search_config="klingon"))
        assert await row_versions(conn) == before


async def test_writes_during_a_reindex_are_kept_and_nothing_drifts(db: Database) -> None:
    """Updates under the new settings race a reindex in small batches: every article ends with
    its latest text, chunked as the new settings say, and the BM25 tables stay exact."""
    old, new = make_settings(db.dsn), make_settings(db.dsn, chunk_size=64, chunk_overlap=8)
    async with db.pool.acquire() as conn:
        model = await add_model(conn, new.embedding_model_name, new.embedding_provider)
    writer_old, writer_new = ArticleService(old, db, model), ArticleService(new, db, model)
    slugs = [(await writer_old.create(f"Article {n}", LONG)).slug for n in range(12)]
    latest = dict.fromkeys(slugs, LONG)

    async def update_while_reindexing() -> None:
        for round_ in range(3):
            for n, slug in enumerate(slugs):
                latest[slug] = f"{SHORT} Round {round_}, article {n}.\n\n{LONG}"
                await writer_new.update(slug, content=latest[slug])

    async with db.pool.acquire() as conn:
        async with anyio.create_task_group() as tg:
            tg.start_soon(update_while_reindexing)
            await reindex(conn, new, batch_size=2)
        for n, slug in enumerate(slugs):
            row = await conn.fetchrow("SELECT id, content FROM articles WHERE slug = $1", slug)
            article_id, content = row["id"], row["content"]
            assert content == latest[slug]
            assert await passages(conn, article_id) == expected_passages(f"Article {n}", latest[slug], new)
        await assert_index_consistent(conn)
