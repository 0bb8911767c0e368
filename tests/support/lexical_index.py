"""The BM25 tables that chunk_store maintains, checked against a recomputation from the chunks."""

from __future__ import annotations

import asyncpg

# What the maintained tables must hold, recomputed from article_chunks alone.
EXPECTED_POSTINGS = """
SELECT l.lexeme, c.id AS chunk_id, cardinality(l.positions) AS tf
FROM article_chunks AS c, unnest(c.tsv) AS l
"""
EXPECTED_DF = """
SELECT l.lexeme, count(*) AS df FROM article_chunks AS c, unnest(c.tsv) AS l GROUP BY l.lexeme
"""
EXPECTED_CORPUS = "SELECT count(*), coalesce(sum(lexeme_count), 0) FROM article_chunks"
EXPECTED_LENGTHS = """
SELECT c.id, (SELECT coalesce(sum(cardinality(l.positions)), 0) FROM unnest(c.tsv) AS l) AS lexeme_count
FROM article_chunks AS c
"""


async def assert_index_consistent(conn: asyncpg.Connection) -> None:
    async def as_set(query: str) -> set[tuple[object, ...]]:
        return {tuple(row) for row in await conn.fetch(query)}

    assert await as_set("SELECT lexeme, chunk_id, tf FROM chunk_postings") == await as_set(EXPECTED_POSTINGS)
    assert await as_set("SELECT lexeme, df FROM lexeme_stats") == await as_set(EXPECTED_DF)
    assert await as_set("SELECT id, lexeme_count FROM article_chunks") == await as_set(EXPECTED_LENGTHS)
    corpus = await conn.fetchrow("SELECT chunk_count, total_length FROM corpus_stats")
    assert tuple(corpus) == tuple(await conn.fetchrow(EXPECTED_CORPUS))
