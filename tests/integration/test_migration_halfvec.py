"""Migration 0012 rebuilds every model's HNSW index at half precision, keeping its options."""

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
WITH (m = 8, ef_construction = 40)
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
        indexed = await conn.fetchval(
            "INSERT INTO embedding_models (provider, name, dimensions) VALUES ('test', 'a', 3) RETURNING id"
        )
        # a model whose dimension is not known yet has no index, and gets none
        await conn.execute("INSERT INTO embedding_models (provider, name) VALUES ('test', 'b')")
        await conn.execute(FULL_PRECISION_INDEX.format(id=indexed))
        await conn.execute(
            "INSERT INTO chunk_embeddings (model_id, text_hash, embedding) VALUES ($1, 'h', '[1,0,0]')",
            indexed,
        )

        await migrate_to_latest(empty_database_url)
        up = await definitions(conn)
        await rollback(empty_database_url, target=HALFVEC - 1)
        down = await definitions(conn)
    finally:
        await conn.close()

    name = f"chunk_embeddings_hnsw_{indexed}"
    assert list(up) == [name] and list(down) == [name]
    assert "(embedding)::halfvec(3)) halfvec_cosine_ops" in up[name]
    assert "(embedding)::vector(3)) vector_cosine_ops" in down[name]
    for definition in (up[name], down[name]):
        assert "m='8'" in definition and "ef_construction='40'" in definition
        assert f"WHERE (model_id = {indexed})" in definition
