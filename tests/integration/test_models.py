"""The embedding model registry on the real database: registration, learned dimensions, the
per-model HNSW index, and a model whose vectors change length."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from article_mcp.db.pool import Database
from article_mcp.embeddings.providers import create_provider
from article_mcp.embeddings.providers.base import EmbeddingProvider
from article_mcp.embeddings.registry import (
    HnswOptions,
    ModelRecord,
    check_dimensions,
    ensure_model,
    hnsw_index_name,
    learn_dimensions,
    record_dimensions,
)
from article_mcp.errors import PermanentProviderError
from tests.conftest import make_settings
from tests.support.fake_providers import FakeEmbeddingServer

pytestmark = pytest.mark.anyio


@pytest.fixture
async def ollama(fake_server: FakeEmbeddingServer) -> AsyncIterator[EmbeddingProvider]:
    provider = create_provider(make_settings(**fake_server.settings("ollama")))
    yield provider
    await provider.aclose()


async def index_definition(db: Database, model: ModelRecord) -> str | None:
    value = await db.pool.fetchval(
        "SELECT indexdef FROM pg_indexes WHERE indexname = $1", hnsw_index_name(model.id)
    )
    return str(value) if value is not None else None


async def test_a_model_is_registered_once(db: Database, ollama: EmbeddingProvider) -> None:
    async with db.pool.acquire() as conn:
        first = await ensure_model(conn, ollama, "nomic-embed-text")
        again = await ensure_model(conn, ollama, "nomic-embed-text")
        other = await ensure_model(conn, ollama, "mxbai-embed-large")
    assert first == again
    assert (first.provider, first.name, first.dimensions) == ("ollama", "nomic-embed-text", None)
    assert other.id != first.id
    assert await index_definition(db, first) is None


async def test_concurrent_registration_agrees_on_one_row(db: Database, ollama: EmbeddingProvider) -> None:
    found: list[ModelRecord] = []

    async def register() -> None:
        async with db.pool.acquire() as conn:
            found.append(await ensure_model(conn, ollama, "racing-model"))

    async with anyio.create_task_group() as tg:
        for _ in range(6):
            tg.start_soon(register)
    assert len({model.id for model in found}) == 1


async def test_learning_the_dimension_builds_the_models_hnsw_index(
    db: Database, ollama: EmbeddingProvider, fake_server: FakeEmbeddingServer
) -> None:
    async with db.pool.acquire() as conn:
        model = await ensure_model(
            conn, ollama, "nomic-embed-text", hnsw=HnswOptions(m=8, ef_construction=32)
        )
    learned = await learn_dimensions(db, ollama, model)
    assert learned.dimensions == fake_server.dimensions == 16
    assert fake_server.call_count == 1, "one probe"
    assert await db.pool.fetchval("SELECT dimensions FROM embedding_models WHERE id = $1", model.id) == 16
    definition = await index_definition(db, model)
    assert definition is not None
    assert "hnsw" in definition and "halfvec(16)" in definition and "halfvec_cosine_ops" in definition
    assert f"model_id = {model.id}" in definition
    assert "m='8'" in definition and "ef_construction='32'" in definition
    # Known already: no second probe.
    assert await learn_dimensions(db, ollama, learned) == learned
    assert fake_server.call_count == 1


async def test_the_index_serves_a_search_with_the_models_cast(
    db: Database, ollama: EmbeddingProvider
) -> None:
    async with db.pool.acquire() as conn:
        model = await record_dimensions(conn, await ensure_model(conn, ollama, "m"), 3)
        await conn.executemany(
            "INSERT INTO chunk_embeddings (model_id, text_hash, embedding) VALUES ($1, $2, $3)",
            [(model.id, f"h{i}", [float(i % 17), 1.0, float(i % 5)]) for i in range(2000)],
        )
        await conn.execute("ANALYZE chunk_embeddings")
        # The model id is written into the query, as search does: a partial index needs it.
        rows = await conn.fetch(
            f"EXPLAIN SELECT text_hash FROM chunk_embeddings WHERE model_id = {model.id}"
            " ORDER BY embedding::halfvec(3) <=> $1::vector::halfvec(3) LIMIT 5",
            [1.0, 0.0, 0.0],
        )
    assert hnsw_index_name(model.id) in "\n".join(row[0] for row in rows)


async def test_a_different_dimension_later_is_a_permanent_error(
    db: Database, ollama: EmbeddingProvider, fake_server: FakeEmbeddingServer
) -> None:
    async with db.pool.acquire() as conn:
        model = await learn_dimensions(db, ollama, await ensure_model(conn, ollama, "nomic-embed-text"))
        # The same name now serves another model: its vectors have another length.
        fake_server.wrong_length(768)
        vectors = (await ollama.embed(["text"])).vectors
        with pytest.raises(PermanentProviderError) as caught:
            await record_dimensions(conn, model, len(vectors[0]))
        stale = await ensure_model(conn, ollama, "nomic-embed-text")
    assert "returned 768-dimensional vectors, but its stored vectors have 16" in caught.value.message
    assert "EMBEDDING_MODEL" in caught.value.message
    with pytest.raises(PermanentProviderError):
        check_dimensions(stale, 768)
    check_dimensions(stale, 16)
    # Recording the same dimension again is harmless.
    async with db.pool.acquire() as conn:
        assert (await record_dimensions(conn, stale, 16)).dimensions == 16


async def test_two_writers_learning_at_once_record_one_dimension(
    db: Database, ollama: EmbeddingProvider
) -> None:
    async with db.pool.acquire() as conn:
        model = await ensure_model(conn, ollama, "nomic-embed-text")
    outcomes: list[object] = []

    async def record(dims: int) -> None:
        async with db.pool.acquire() as conn:
            try:
                outcomes.append((await record_dimensions(conn, model, dims)).dimensions)
            except PermanentProviderError as exc:
                outcomes.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(record, 16)
        tg.start_soon(record, 32)
    recorded = await db.pool.fetchval("SELECT dimensions FROM embedding_models WHERE id = $1", model.id)
    assert recorded in (16, 32)
    assert recorded in outcomes and sum(isinstance(o, PermanentProviderError) for o in outcomes) == 1


async def test_a_dropped_index_is_rebuilt_at_start(db: Database, ollama: EmbeddingProvider) -> None:
    async with db.pool.acquire() as conn:
        model = await record_dimensions(conn, await ensure_model(conn, ollama, "nomic-embed-text"), 16)
        await conn.execute(f"DROP INDEX {hnsw_index_name(model.id)}")
        await ensure_model(conn, ollama, "nomic-embed-text")
    assert await index_definition(db, model) is not None


async def test_impossible_dimensions_are_refused(db: Database, ollama: EmbeddingProvider) -> None:
    async with db.pool.acquire() as conn:
        model = await ensure_model(conn, ollama, "nomic-embed-text")
        for dims in (0, 16_001):
            with pytest.raises(PermanentProviderError, match="pgvector stores"):
                await record_dimensions(conn, model, dims)
        wide = await record_dimensions(conn, model, 3072)
    # Too wide for an HNSW index on `vector`: recorded, searched without the index.
    assert wide.dimensions == 3072
    assert await index_definition(db, model) is None
