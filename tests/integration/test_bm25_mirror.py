"""The in-memory BM25 index answers as the SQL full text does, whoever wrote what, when.

Writes go through the passage store on connections of their own (as other processes'
would); the mirror learns of them only through the passage change log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import anyio
import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from article_mcp.db.pool import Database, connect, create_pool
from article_mcp.passages import changes
from article_mcp.passages import store as chunk_store
from article_mcp.passages.chunking import Chunk
from article_mcp.search.bm25_index import Term
from article_mcp.search.bm25_mirror import Bm25Mirror, StaleIndexError
from article_mcp.search.service import QUERIES
from tests.support.articles_in_folders import add_articles_in_folders

WORDS = [f"v{n}y" for n in range(20)]
K1, B = 1.2, 0.75
ARTICLES = 12


async def write(conn: asyncpg.Connection, article: int, texts: Sequence[str], version: int = 1) -> None:
    """Make `texts` the passages of `article`, in a transaction of its own."""
    async with conn.transaction():
        await write_in(conn, article, texts, version)


async def write_in(conn: asyncpg.Connection, article: int, texts: Sequence[str], version: int = 1) -> None:
    """Make `texts` the passages of `article` in the caller's transaction."""
    chunks = [
        Chunk(i, (), t, t, hashlib.sha256(f"{article}{i}{t}".encode()).hexdigest(), len(t.split()))
        for i, t in enumerate(texts)
    ]
    await chunk_store.replace_chunks(conn, article, version, chunks, text_search_config="english")


async def by_sql(conn: asyncpg.Connection, query: str, n: int, folder: str | None) -> list[tuple[int, float]]:
    rows = await conn.fetch(QUERIES["fulltext_chunks"], "english", query, K1, B, n, folder, [])
    return [(r["chunk_id"], round(r["score"], 9)) for r in rows]


async def by_memory(
    mirror: Bm25Mirror, conn: asyncpg.Connection, query: str, n: int, folder: str | None
) -> list[tuple[int, float]]:
    row = await conn.fetchrow(QUERIES["fulltext_terms"], "english", [query], folder, [])
    assert row is not None
    terms = [Term(lexeme, count) for lexeme, count in zip(row["lexemes"], row["counts"], strict=True)]
    [hits] = await mirror.top(conn, [terms], n, k1=K1, b=B, articles=row["articles"])
    return [(h.chunk_id, round(h.score, 9)) for h in hits]


def same_up_to_ties(got: list[tuple[int, float]], expected: list[tuple[int, float]]) -> bool:
    """Equal scores in order, and each passage among those the reference gives its score."""
    if [s for _, s in got] != [s for _, s in expected]:
        return False
    return all((c, s) in expected or s == expected[-1][1] for c, s in got)


async def agree(mirror: Bm25Mirror, conn: asyncpg.Connection, query: str, folder: str | None) -> None:
    for n in (1, 5, 40):
        got, expected = await by_memory(mirror, conn, query, n, folder), await by_sql(conn, query, n, folder)
        assert same_up_to_ties(got, expected), (query, n, folder, got, expected)


@pytest.fixture
async def pool_db(database_url: str) -> Database:
    pool = await create_pool(database_url, min_size=1, max_size=4)
    yield Database(pool=pool, dsn=database_url)  # type: ignore[misc]
    await pool.close()


# -- whatever the writes, the mirror agrees with SQL ------------------------------------------

REPLACEMENT = (
    "INSERT INTO articles (slug, title, content, content_hash, folder)"
    " VALUES ('r-' || gen_random_uuid(), 'R', '', '', $1) RETURNING id"
)
texts = st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join), max_size=4)
operation = st.tuples(st.integers(0, ARTICLES - 1), st.one_of(st.none(), texts))  # None: delete


Operations = list[tuple[int, list[str] | None]]


async def play(dsn: str, operations: Operations, query: str, folder: str | None) -> None:
    pool = await create_pool(dsn, min_size=1, max_size=4)
    writer = await connect(dsn)
    try:
        ids = await writer.fetch("SELECT id FROM articles ORDER BY id")
        articles = [r["id"] for r in ids] or await add_articles_in_folders(writer, ARTICLES, folders=3)
        mirror = Bm25Mirror(Database(pool=pool, dsn=dsn))
        await mirror.load()
        async with pool.acquire() as conn:
            await agree(mirror, conn, query, folder)
            for version, (slot, passages) in enumerate(operations, start=2):
                if passages is None:
                    async with writer.transaction():  # as the article service deletes
                        await chunk_store.remove_chunks(writer, [articles[slot]])
                        await writer.execute("DELETE FROM articles WHERE id = $1", articles[slot])
                    articles[slot] = await writer.fetchval(REPLACEMENT, f"f{slot % 3}")
                else:
                    await write(writer, articles[slot], passages, version)
                await agree(mirror, conn, query, folder)
    finally:
        await writer.close()
        await pool.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    operations=st.lists(operation, min_size=1, max_size=10),
    query=st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join),
    folder=st.sampled_from([None, "f1"]),
)
def test_the_mirror_agrees_with_sql_after_any_writes(
    database_url: str, anyio_backend: str, operations: Operations, query: str, folder: str | None
) -> None:
    anyio.run(play, database_url, operations, query, folder)


# -- read your writes, across connections and open transactions -------------------------------


@pytest.mark.anyio
async def test_a_commit_elsewhere_is_found_by_the_next_search(pool_db: Database) -> None:
    writer = await connect(pool_db.dsn)
    try:
        [first, second] = await add_articles_in_folders(writer, 2)
        await write(writer, first, ["v1y v2y"])
        mirror = Bm25Mirror(pool_db)
        await mirror.load()
        # a transaction open across the mirror's polls holds its horizon back
        slow = await connect(pool_db.dsn)
        slow_tx = slow.transaction()
        await slow_tx.start()
        await write_in(slow, second, ["v3y rare9y"])
        await write(writer, first, ["v1y needle7y"], version=2)
        async with pool_db.pool.acquire() as conn:
            assert [c for c, _ in await by_memory(mirror, conn, "needle7y", 10, None)] != []
            assert await by_memory(mirror, conn, "rare9y", 10, None) == []
            assert await by_memory(mirror, conn, "v2y", 10, None) == []  # the rewritten passage
            await slow_tx.commit()
            await slow.close()
            assert await by_memory(mirror, conn, "rare9y", 10, None) == await by_sql(conn, "rare9y", 10, None)
            assert await by_memory(mirror, conn, "rare9y", 10, None) != []
            await agree(mirror, conn, "v1y v3y needle7y", None)
    finally:
        await writer.close()


@pytest.mark.anyio
async def test_a_log_trimmed_past_the_index_makes_it_load_again(pool_db: Database) -> None:
    async with pool_db.pool.acquire() as conn:
        [article] = await add_articles_in_folders(conn, 1)
        await write(conn, article, ["v1y v4y"])
        mirror = Bm25Mirror(pool_db)
        await mirror.load()
        await write(conn, article, ["v4y v5y"], version=2)
        assert await changes.trim(conn, retention_seconds=0) > 0
        with pytest.raises(StaleIndexError):
            await mirror.catch_up(conn)
        assert not mirror.ready
        await mirror.load()
        await agree(mirror, conn, "v4y v5y v1y", None)
        # trimmed changes the index had already seen cost nothing
        await write(conn, article, ["v6y"], version=3)
        assert await by_memory(mirror, conn, "v6y", 5, None) == await by_sql(conn, "v6y", 5, None)
        assert await changes.trim(conn, retention_seconds=3600) == 0
