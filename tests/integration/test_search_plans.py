"""EXPLAIN proves the search queries are served by their indexes."""

from __future__ import annotations

import hashlib

import asyncpg
import numpy as np
import pytest

from article_mcp.db.pool import Database
from article_mcp.embeddings.registry import ModelRecord, record_dimensions
from article_mcp.passages import store as chunk_store
from article_mcp.passages.changes import QUERIES as CHANGES
from article_mcp.passages.chunking import Chunk
from article_mcp.search.service import QUERIES, semantic_sql, semantic_sql_everywhere
from tests.support.articles_in_folders import add_articles_in_folders

pytestmark = pytest.mark.anyio

DIMS = 16
# Enough passages that a folder's fifth is searched through the index: over 2,000 passages
# (500 articles) the planner rightly prefers exact distances for a folder's 400 with m 24.
ARTICLES = 1000
WORDS = ["shock", "wave", "boundary", "layer", "wing", "flutter", "heat", "nozzle", "drag", "lift"]


async def build(conn: asyncpg.Connection) -> ModelRecord:
    """ARTICLES articles of 4 passages each, and a vector for every passage."""
    rng = np.random.default_rng(3)
    ids = await add_articles_in_folders(conn, ARTICLES)
    hashes = []
    for article in ids:
        chunks = []
        for index in range(4):
            text = " ".join(rng.choice(WORDS, 30)) + f" term{article}x{index}"
            digest = hashlib.sha256(text.encode()).hexdigest()
            chunks.append(Chunk(index, (), text, text, digest, 30))
            hashes.append(digest)
        async with conn.transaction():
            await chunk_store.replace_chunks(conn, article, 1, chunks, text_search_config="english")
    model_id = await conn.fetchval(
        "INSERT INTO embedding_models (provider, name) VALUES ('test', 'plan-model') RETURNING id"
    )
    vectors = rng.standard_normal((len(hashes), DIMS)).astype(np.float32)
    await conn.copy_records_to_table(
        "chunk_embeddings",
        records=[(model_id, h, v) for h, v in zip(hashes, vectors, strict=True)],
        columns=["model_id", "text_hash", "embedding"],
    )
    model = await record_dimensions(conn, ModelRecord(model_id, "test", "plan-model", None), DIMS)
    await conn.execute("VACUUM ANALYZE")
    return model


async def plan(conn: asyncpg.Connection, sql: str, *args: object, cache_mode: str = "auto") -> str:
    """The plan of a semantic query as the service runs it (tuned), or of any query in `cache_mode`."""
    async with conn.transaction():
        if sql.startswith(QUERIES["semantic_chunks"][:40]):
            await conn.execute(QUERIES["tune_semantic"], "100")
        else:
            await conn.execute("SELECT set_config('plan_cache_mode', $1, true)", cache_mode)
        rows = await conn.fetch("EXPLAIN (COSTS OFF) " + sql, *args)
    return "\n".join(r[0] for r in rows)


def fulltext_args(query: str, folder: str | None = None) -> tuple[object, ...]:
    return ("english", query, 1.2, 0.75, 20, folder, [])


async def test_semantic_search_uses_the_models_hnsw_index(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await build(conn)
        query = np.ones(DIMS, dtype=np.float32)
        shown = await plan(conn, semantic_sql(model.id, DIMS), query, 20, None, [])
    assert f"Index Scan using chunk_embeddings_hnsw_{model.id} on chunk_embeddings" in shown
    assert "Seq Scan on chunk_embeddings" not in shown


async def test_filtered_semantic_search_keeps_the_hnsw_index(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await build(conn)
        query = np.ones(DIMS, dtype=np.float32)
        shown = await plan(conn, semantic_sql(model.id, DIMS), query, 20, "f3", [])
    assert f"Index Scan using chunk_embeddings_hnsw_{model.id} on chunk_embeddings" in shown


# The service runs full text with no settings: after a few runs PostgreSQL may use a generic
# plan, which must be as good.
@pytest.mark.parametrize("cache_mode", ["force_custom_plan", "force_generic_plan"])
async def test_fulltext_scores_from_the_postings_index_alone(db: Database, cache_mode: str) -> None:
    async with db.pool.acquire() as conn:
        await build(conn)
        shown = await plan(
            conn, QUERIES["fulltext_chunks"], *fulltext_args("shock term7x1"), cache_mode=cache_mode
        )
    assert "Index Only Scan using chunk_postings_pkey on chunk_postings" in shown
    assert "Seq Scan on chunk_postings" not in shown
    assert "Seq Scan on article_chunks" not in shown


async def test_a_filter_narrows_full_text_before_scoring(db: Database) -> None:
    async with db.pool.acquire() as conn:
        await build(conn)
        shown = await plan(conn, QUERIES["fulltext_chunks"], *fulltext_args("shock wave", "f3"))
        everywhere = await plan(conn, QUERIES["fulltext_chunks"], *fulltext_args("shock wave"))
    # the folder's passages, hashed once, filter the postings as the index hands them out,
    # before the sum; without a filter, nothing of the kind runs
    scan = shown.index("Index Only Scan using chunk_postings_pkey on chunk_postings")
    aggregate = shown.index("Aggregate")
    assert aggregate < scan
    assert "Filter: (ANY (chunk_id = (hashed SubPlan" in shown[scan : scan + 300]
    assert "hashed SubPlan" not in everywhere
    assert "Seq Scan on chunk_postings" not in shown


# A search of every folder and tag runs its semantic statement alone: no transaction, no SET.
async def test_unfiltered_semantic_search_plans_once_for_the_index(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await build(conn)
        sql = semantic_sql_everywhere(model.id, DIMS, ef_search=100, limit=20)
        vector = np.ones(DIMS, dtype=np.float32)
        for _ in range(8):  # past the custom plans PostgreSQL makes before it weighs a generic one
            await conn.fetch(sql, vector)
        counted = await conn.fetchrow(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1", sql
        )
        async with conn.transaction():
            await conn.execute(f"PREPARE everywhere(vector) AS {sql.rstrip(';')}")
            # the plan PostgreSQL keeps once it plans the statement a single time for every query
            await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            rows = await conn.fetch(f"EXPLAIN (COSTS OFF) EXECUTE everywhere('{vector.tolist()}')")
            await conn.execute("DEALLOCATE everywhere")
    # planned once for every query: the executions after the first few reuse one plan
    assert counted["generic_plans"] >= 3
    shown = "\n".join(r[0] for r in rows)
    assert f"Index Scan using chunk_embeddings_hnsw_{model.id} on chunk_embeddings" in shown
    # the settings' InitPlan gates the scan: it runs before the index reads a row
    assert "One-Time Filter: ((InitPlan 1).col1 IS NOT NULL)" in shown
    assert shown.index("One-Time Filter") < shown.index("Index Scan using chunk_embeddings_hnsw")


async def test_unfiltered_semantic_search_carries_its_index_settings(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await build(conn)
        sql = semantic_sql_everywhere(model.id, DIMS, ef_search=10, limit=100)
        defaults = "SELECT current_setting('hnsw.ef_search'), current_setting('hnsw.iterative_scan')"
        before = tuple(await conn.fetchrow(defaults))
        assert before[1] == "off"
        rows = await conn.fetch(sql, np.ones(DIMS, dtype=np.float32))
        after = tuple(await conn.fetchrow(defaults))
    # an index scan without iterative scans stops at ef_search candidates (10 here, 40 by
    # default): all 100 come only because the statement turned iterative scans on for itself
    assert len(rows) == 100
    assert after == before


# The in-memory index (FULLTEXT_INDEX=memory) reads only what changed since its last poll, and
# a filter's articles through the folder index.
async def test_the_memory_index_polls_only_recent_changes(db: Database) -> None:
    async with db.pool.acquire() as conn:
        await build(conn)
        horizon = await conn.fetchval(CHANGES["horizon"])
        polled = await plan(conn, CHANGES["poll"], horizon)
        states = await plan(conn, CHANGES["passage_states"], [1, 2, 3])
        await conn.execute(
            "INSERT INTO articles (slug, title, content, content_hash, folder)"
            " VALUES ('r1', 'R', '', '', 'rare'), ('r2', 'R', '', '', 'rare/sub'); ANALYZE articles"
        )
        terms = await plan(conn, QUERIES["fulltext_terms"], "english", ["shock wave"], "rare", [])
    assert "Index Scan using passage_changes_xid_idx on passage_changes" in polled
    assert "Seq Scan on passage_changes " not in polled  # the one-row trimmed table aside
    assert "Index Scan using chunk_postings_chunk_idx on chunk_postings" in states
    assert "Seq Scan" not in states
    assert "Scan on articles_folder_idx" in terms or "Scan using articles_folder_idx" in terms
    assert "Seq Scan on articles" not in terms
