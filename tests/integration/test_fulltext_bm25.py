"""Full text ranks exactly as BM25 does, filtered or not, whatever the query's repetitions.

The reference scores every posting of every query lexeme in Python, from the same tables;
the SQL (fulltext_chunks) must return the same passages with the same scores, for any
query, depth and filter (ties may come in either order).
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict

import anyio
import asyncpg
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from article_mcp.db.pool import connect
from article_mcp.passages import store as chunk_store
from article_mcp.passages.chunking import Chunk
from article_mcp.search.service import QUERIES
from tests.support.articles_in_folders import add_articles_in_folders

VOCABULARY = [f"w{n}x" for n in range(300)]
ARTICLES = 240
K1, B = 1.2, 0.75
_built: set[str] = set()


async def build(conn: asyncpg.Connection) -> None:
    """Passages of Zipf-distributed words and varied lengths, in five folders."""
    rng = np.random.default_rng(5)
    ids = await add_articles_in_folders(conn, ARTICLES)
    batch = []
    for article in ids:
        chunks = []
        for index in range(3):
            ranks = np.minimum(rng.zipf(1.3, int(rng.integers(3, 80))), len(VOCABULARY)) - 1
            text = " ".join(VOCABULARY[r] for r in ranks)
            digest = hashlib.sha256(f"{article}{index}{text}".encode()).hexdigest()
            chunks.append(Chunk(index, (), text, text, digest, len(ranks)))
        batch.append((article, 1, chunks))
    async with conn.transaction():
        await chunk_store.replace_many(conn, batch, text_search_config="english")
    await conn.execute("ANALYZE")


async def reference(
    conn: asyncpg.Connection, query: str, k: int, folder: str | None
) -> list[tuple[int, float]]:
    """Exhaustive BM25 (Lucene IDF) over every posting of the query's lexemes."""
    n, total = await conn.fetchrow("SELECT chunk_count, total_length FROM corpus_stats")
    avgdl = max(total, 1) / max(n, 1)
    terms = await conn.fetch(
        "SELECT l.lexeme, cardinality(l.positions) AS qtf, s.df"
        " FROM unnest(to_tsvector('english', $1)) AS l JOIN lexeme_stats AS s USING (lexeme)",
        query,
    )
    allowed = {
        r["id"]
        for r in await conn.fetch(
            "SELECT ch.id FROM article_chunks AS ch JOIN articles AS a ON a.id = ch.article_id"
            " WHERE $1::text IS NULL OR a.folder = $1",
            folder,
        )
    }
    scores: dict[int, float] = defaultdict(float)
    for term in terms:
        weight = term["qtf"] * math.log(1 + (n - term["df"] + 0.5) / (term["df"] + 0.5))
        for p in await conn.fetch(
            "SELECT chunk_id, tf, chunk_length FROM chunk_postings WHERE lexeme = $1", term["lexeme"]
        ):
            if p["chunk_id"] in allowed:
                tf = p["tf"]
                scores[p["chunk_id"]] += weight * tf / (tf + K1 * (1 - B + B * p["chunk_length"] / avgdl))
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]


async def check(database_url: str, query: str, k: int, folder: str | None) -> None:
    conn = await connect(database_url)
    try:
        if database_url not in _built:
            await build(conn)
            _built.add(database_url)
        rows = await conn.fetch(QUERIES["fulltext_chunks"], "english", query, K1, B, k, folder, [])
        expected = await reference(conn, query, k, folder)
    finally:
        await conn.close()
    got = [(r["chunk_id"], r["score"]) for r in rows]
    assert [round(s, 9) for _, s in got] == [round(s, 9) for _, s in expected]
    # the same passages, up to the order of equal scores
    by_score: dict[float, set[int]] = defaultdict(set)
    for chunk_id, score in expected:
        by_score[round(score, 9)].add(chunk_id)
    assert all(chunk_id in by_score[round(score, 9)] for chunk_id, score in got)


queries = st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=14).map(" ".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=queries, k=st.integers(1, 120), folder=st.sampled_from([None, "f2"]))
def test_fulltext_equals_bm25_computed_from_the_postings(
    database_url: str, anyio_backend: str, query: str, k: int, folder: str | None
) -> None:
    anyio.run(check, database_url, query, k, folder)


def test_a_long_repetitive_query_scores_each_word_once(database_url: str, anyio_backend: str) -> None:
    # 8,000 characters of three words: the same lexemes (repetitions weigh, not cost)
    anyio.run(check, database_url, ("w1x w40x w7x " * 700)[:8000], 30, None)
