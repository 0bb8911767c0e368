"""The chunk store keeps the BM25 index equal to a recomputation from the chunks themselves."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

import anyio
import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from article_mcp.db.pool import Database, connect
from article_mcp.errors import ConfigError
from article_mcp.passages.chunking import Chunk
from article_mcp.passages.store import remove_chunks, replace_chunks, replace_many
from tests.support.lexical_index import assert_index_consistent

pytestmark = pytest.mark.anyio

WORDS = ["flow", "flows", "wing", "heat", "shock", "layer", "the", "boundary", "nozzle", "E1234", "drag"]

RESET = """
TRUNCATE articles CASCADE;
TRUNCATE lexeme_stats;
UPDATE corpus_stats SET chunk_count = 0, total_length = 0;
"""


def make_chunk(index: int, text: str, heading: tuple[str, ...] = ("Intro",)) -> Chunk:
    embed_text = "\n".join(["Title", *heading, text])
    return Chunk(
        index=index,
        heading_path=heading,
        text=text,
        embed_text=embed_text,
        text_hash=hashlib.sha256(embed_text.encode()).hexdigest(),
        token_count=len(text.split()),
    )


async def write(conn: asyncpg.Connection, article: int, version: int, *texts: str) -> None:
    chunks = [make_chunk(i, text) for i, text in enumerate(texts)]
    await replace_chunks(conn, article, version, chunks, text_search_config="english")


async def add_articles(conn: asyncpg.Connection, count: int) -> list[int]:
    rows = await conn.fetch(
        "INSERT INTO articles (slug, title, content, content_hash)"
        " SELECT 'a-' || n, 'A ' || n, '', '' FROM generate_series(1, $1) AS n RETURNING id",
        count,
    )
    return [row["id"] for row in rows]


texts = st.lists(st.sampled_from(WORDS), min_size=0, max_size=8).map(" ".join)
chunk_lists = st.lists(texts, max_size=4)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("replace"), st.integers(0, 2), chunk_lists),
        st.tuples(st.just("remove"), st.sets(st.integers(0, 2), max_size=3), st.just([])),
        st.tuples(st.just("replace two"), st.just((0, 2)), chunk_lists),
    ),
    min_size=1,
    max_size=8,
)


async def apply_operations(dsn: str, ops: Sequence[tuple[str, object, list[str]]]) -> None:
    conn = await connect(dsn)
    try:
        await conn.execute(RESET)
        ids = await add_articles(conn, 3)
        for version, (kind, target, chunk_texts) in enumerate(ops, start=1):
            async with conn.transaction():
                chunks = [make_chunk(i, text) for i, text in enumerate(chunk_texts)]
                if kind == "replace":
                    assert isinstance(target, int)
                    await replace_chunks(conn, ids[target], version, chunks, text_search_config="english")
                elif kind == "replace two":
                    assert isinstance(target, tuple)
                    twice = [(ids[i], version, chunks[i:]) for i in target]
                    await replace_many(conn, twice, text_search_config="english")
                else:
                    assert isinstance(target, set)
                    await remove_chunks(conn, [ids[i] for i in target])
            await assert_index_consistent(conn)
    finally:
        await conn.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_index_equals_a_recomputation_after_any_writes(
    database_url: str, anyio_backend: str, ops: list[tuple[str, object, list[str]]]
) -> None:
    anyio.run(apply_operations, database_url, ops)


async def test_an_unchanged_article_rewrites_nothing(db: Database) -> None:
    async with db.pool.acquire() as conn:
        [article] = await add_articles(conn, 1)
        chunks = [make_chunk(0, "shock layer"), make_chunk(1, "heat flows")]
        async with conn.transaction():
            await replace_chunks(conn, article, 1, chunks, text_search_config="english")
        before = await conn.fetch("SELECT id, xmin::text FROM article_chunks ORDER BY id")
        corpus_before = await conn.fetchval("SELECT xmin::text FROM corpus_stats")
        postings = "SELECT lexeme, chunk_id, xmin::text FROM chunk_postings ORDER BY 1, 2"
        postings_before = await conn.fetch(postings)
        async with conn.transaction():
            await replace_chunks(conn, article, 1, chunks, text_search_config="english")
        assert await conn.fetch("SELECT id, xmin::text FROM article_chunks ORDER BY id") == before
        assert await conn.fetchval("SELECT xmin::text FROM corpus_stats") == corpus_before
        assert await conn.fetch(postings) == postings_before


async def test_an_edited_chunk_keeps_its_row_and_untouched_postings(db: Database) -> None:
    async with db.pool.acquire() as conn:
        [article] = await add_articles(conn, 1)
        async with conn.transaction():
            await replace_chunks(
                conn, article, 1, [make_chunk(0, "shock layer drag")], text_search_config="english"
            )
        chunk_id = await conn.fetchval("SELECT id FROM article_chunks")
        shock = await conn.fetchval("SELECT xmin::text FROM chunk_postings WHERE lexeme = 'shock'")
        async with conn.transaction():
            await replace_chunks(
                conn, article, 2, [make_chunk(0, "shock nozzle drag")], text_search_config="english"
            )
        row = await conn.fetchrow("SELECT id, article_version, content FROM article_chunks")
        assert tuple(row) == (chunk_id, 2, "shock nozzle drag")
        assert await conn.fetchval("SELECT xmin::text FROM chunk_postings WHERE lexeme = 'shock'") == shock
        assert await conn.fetchval("SELECT count(*) FROM chunk_postings WHERE lexeme = 'layer'") == 0
        await assert_index_consistent(conn)


async def test_an_unknown_text_search_config_names_the_setting(db: Database) -> None:
    async with db.pool.acquire() as conn:
        [article] = await add_articles(conn, 1)
        with pytest.raises(ConfigError, match="TEXT_SEARCH_CONFIG"):
            async with conn.transaction():
                await replace_chunks(conn, article, 1, [make_chunk(0, "x")], text_search_config="klingon")
        assert await conn.fetchval("SELECT count(*) FROM article_chunks") == 0


async def writer(dsn: str, articles: list[int], seed: int, rounds: int) -> None:
    """Rewrite these articles again and again with overlapping vocabularies."""
    rng = random.Random(seed)
    conn = await connect(dsn)
    try:
        for version in range(1, rounds + 1):
            article = rng.choice(articles)
            words = rng.sample(WORDS * 3, 12)
            chunks = [make_chunk(i, " ".join(words[i * 4 : i * 4 + 4])) for i in range(rng.randint(0, 3))]
            async with conn.transaction():
                if chunks or rng.random() < 0.5:
                    await replace_chunks(conn, article, version, chunks, text_search_config="english")
                else:
                    await remove_chunks(conn, [article])
    finally:
        await conn.close()


async def test_concurrent_writers_neither_deadlock_nor_drift(db: Database) -> None:
    async with db.pool.acquire() as conn:
        ids = await add_articles(conn, 12)
    # Every writer owns its articles (as the article row lock guarantees in the service) but
    # all share lexemes, so they contend on lexeme_stats rows and the corpus row.
    async with anyio.create_task_group() as tg:
        for n in range(6):
            tg.start_soon(writer, db.dsn, ids[n * 2 : n * 2 + 2], n, 40)
    async with db.pool.acquire() as conn:
        await assert_index_consistent(conn)
        assert await conn.fetchval("SELECT count(*) FROM lexeme_stats WHERE df <= 0") == 0


async def test_removing_articles_empties_the_index(db: Database) -> None:
    async with db.pool.acquire() as conn:
        ids = await add_articles(conn, 2)
        for version, article in enumerate(ids, start=1):
            async with conn.transaction():
                await replace_chunks(
                    conn, article, version, [make_chunk(0, "shock wing")], text_search_config="english"
                )
        async with conn.transaction():
            await remove_chunks(conn, ids)
        assert await conn.fetchval("SELECT count(*) FROM chunk_postings") == 0
        assert await conn.fetchval("SELECT count(*) FROM lexeme_stats") == 0
        assert tuple(await conn.fetchrow("SELECT chunk_count, total_length FROM corpus_stats")) == (0, 0)
