"""Migration 0012 rebuilds every model's HNSW index at half precision, keeping its options
unless they were the former defaults."""

from __future__ import annotations

import asyncpg
import pytest

from article_mcp.db.migrate import migrate, migrate_to_latest, rollback

pytestmark = pytest.mark.anyio

HALFVEC = 12

# The index registry.sql built before migration 0012.
FULL_PRECISION_INDEX = """
CREATE INDEX chunk_embeddings_hnsw_{id} ON chunk_embeddings
USING hnsw ((embedding::vector(3)) vector_cosine_ops)
WITH (m = {m}, ef_construction = {ef_construction})
WHERE model_id = {id}
"""


async def definitions(conn: asyncpg.Connection) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'chunk_embeddings_hnsw_%'"
    )
    return {r["indexname"]: r["indexdef"] for r in rows}


async def test_model_indexes_move_to_halfvec_and_back(empty_database_url: str) -> None:
    await migrate(empty_database_url, target=HALFVEC - 1)
    conn = await asyncpg.connect(empty_database_url)
    try:
        tuned, default = [
            await conn.fetchval(
                "INSERT INTO embedding_models (provider, name, dimensions)"
                " VALUES ('test', $1, 3) RETURNING id",
                name,
            )
            for name in ("tuned", "default")
        ]
        # a model whose dimension is not known yet has no index, and gets none
        await conn.execute("INSERT INTO embedding_models (provider, name) VALUES ('test', 'new')")
        await conn.execute(FULL_PRECISION_INDEX.format(id=tuned, m=8, ef_construction=40))
        await conn.execute(FULL_PRECISION_INDEX.format(id=default, m=16, ef_construction=64))
        await conn.execute(
            "INSERT INTO chunk_embeddings (model_id, text_hash, embedding) VALUES ($1, 'h', '[1,0,0]')",
            tuned,
        )

        await migrate_to_latest(empty_database_url)
        up = await definitions(conn)
        await rollback(empty_database_url, target=HALFVEC - 1)
        down = await definitions(conn)
    finally:
        await conn.close()

    names = {f"chunk_embeddings_hnsw_{tuned}", f"chunk_embeddings_hnsw_{default}"}
    assert set(up) == names and set(down) == names
    for model in (tuned, default):
        name = f"chunk_embeddings_hnsw_{model}"
        assert "(embedding)::halfvec(3)) halfvec_cosine_ops" in up[name]
        assert "(embedding)::vector(3)) vector_cosine_ops" in down[name]
        assert f"WHERE (model_id = {model})" in up[name] and f"WHERE (model_id = {model})" in down[name]
    # options set on purpose are kept; the former defaults become the new ones
    for definition in (up[f"chunk_embeddings_hnsw_{tuned}"], down[f"chunk_embeddings_hnsw_{tuned}"]):
        assert "m='8'" in definition and "ef_construction='40'" in definition
    assert "m='24'" in up[f"chunk_embeddings_hnsw_{default}"]
    assert "ef_construction='64'" in up[f"chunk_embeddings_hnsw_{default}"]
