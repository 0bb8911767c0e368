"""The registry of embedding models: one row per (provider, model, query prefix, document
prefix), its dimension learned from the model itself, and a partial HNSW index per model
built when the dimension is known. A prefix changes what the vectors mean, so another prefix
is another model, never vectors of two kinds in one index.

Vectors of every model share `chunk_embeddings.embedding` (an untyped `vector`); each model's
index is on `embedding::vector(<dims>)` WHERE `model_id = <id>`, so searches must use that
same cast and filter to be served by it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from article_mcp.config import Settings
from article_mcp.db.sql import Queries
from article_mcp.embeddings.providers.base import EmbeddingProvider
from article_mcp.errors import PermanentProviderError

if TYPE_CHECKING:
    from typing import TypeAlias

    import asyncpg
    from asyncpg.pool import PoolConnectionProxy

    from article_mcp.db.pool import Database

    # A connection of its own or one borrowed from the pool.
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]

log = structlog.get_logger(__name__)

QUERIES = Queries("article_mcp.embeddings", "registry.sql")

# pgvector stores vectors up to 16,000 dimensions, and builds HNSW indexes on `vector` up to 2,000.
MAX_DIMENSIONS = 16_000
MAX_INDEXED_DIMENSIONS = 2_000
PROBE_TEXT = "article-mcp probe: how long are this model's vectors?"


@dataclass(frozen=True, slots=True)
class HnswOptions:
    """How a model's HNSW index is built (HNSW_M, HNSW_EF_CONSTRUCTION)."""

    m: int = Settings.model_fields["hnsw_m"].default
    ef_construction: int = Settings.model_fields["hnsw_ef_construction"].default

    @classmethod
    def from_settings(cls, settings: Settings) -> HnswOptions:
        """The options the settings ask for."""
        return cls(m=settings.hnsw_m, ef_construction=settings.hnsw_ef_construction)


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """A registered embedding model; `dimensions` is None until learned."""

    id: int
    provider: str
    name: str
    dimensions: int | None
    # How its index is built once the dimension is known.
    hnsw: HnswOptions = HnswOptions()
    query_prefix: str = ""
    document_prefix: str = ""
    # EMBEDDING_PRICE_PER_MILLION_TOKENS as recorded for the model (None: unknown).
    price_per_million_tokens: float | None = None


def hnsw_index_name(model_id: int) -> str:
    """The name of a model's HNSW index."""
    return f"chunk_embeddings_hnsw_{int(model_id)}"


async def ensure_model(
    conn: Connection,
    provider: EmbeddingProvider,
    name: str,
    *,
    hnsw: HnswOptions | None = None,
    price: float | None = None,
) -> ModelRecord:
    """The record of `provider`'s model `name` with the provider's prefixes, registered if new
    (with `price` per million tokens, when given); rebuilds a missing index."""
    row = None
    prefixes = (provider.prefixes.query.text, provider.prefixes.document.text)
    # Two processes registering the same model at once: the loser's statement may see
    # neither its own insert nor the winner's row; the second try sees the row.
    for _ in range(2):
        row = await conn.fetchrow(QUERIES["ensure_model"], provider.name, name, *prefixes, price)
        if row is not None:
            break
    assert row is not None, "a registered model must be readable"
    recorded_price = row["price_per_million_tokens"]
    model = ModelRecord(
        row["id"],
        row["provider"],
        row["name"],
        row["dimensions"],
        hnsw or HnswOptions(),
        query_prefix=row["query_prefix"],
        document_prefix=row["document_prefix"],
        price_per_million_tokens=None if recorded_price is None else float(recorded_price),
    )
    if model.dimensions is not None and not await _index_exists(conn, model.id):
        async with conn.transaction():
            await conn.execute(QUERIES["lock_model"], model.id)
            await _create_index(conn, model, model.dimensions)
    return model


async def configured_model(conn: Connection, provider: EmbeddingProvider, settings: Settings) -> ModelRecord:
    """The model the settings select (EMBEDDING_MODEL, its prefixes, HNSW options and price),
    registered if new: what `serve`, `worker` and the operator commands use."""
    return await ensure_model(
        conn,
        provider,
        settings.embedding_model_name,
        hnsw=HnswOptions.from_settings(settings),
        price=settings.embedding_price_per_million_tokens,
    )


async def record_dimensions(conn: Connection, model: ModelRecord, dims: int) -> ModelRecord:
    """Record the model's dimension (first caller wins) and build its HNSW index.

    Raises PermanentProviderError when another dimension is recorded for the model.
    """
    if not 0 < dims <= MAX_DIMENSIONS:
        raise PermanentProviderError(
            f"model {model.name} returned {dims}-dimensional vectors; pgvector stores 1 to {MAX_DIMENSIONS}"
        )
    async with conn.transaction():
        await conn.execute(QUERIES["lock_model"], model.id)
        recorded = await recorded_dimensions(conn, model.id)
        if recorded is not None and recorded != dims:
            raise dimension_mismatch(model, recorded, dims)
        if recorded is None:
            await conn.execute(QUERIES["set_dimensions"], model.id, dims)
            log.info("model_dimensions_learned", model=model.name, provider=model.provider, dimensions=dims)
        await _create_index(conn, model, dims)
    return dataclasses.replace(model, dimensions=dims)


async def recorded_dimensions(conn: Connection, model_id: int) -> int | None:
    """The dimension learned for the model, None until its first vectors."""
    dims: int | None = await conn.fetchval(QUERIES["recorded_dimensions"], model_id)
    return dims


def check_dimensions(model: ModelRecord, dims: int) -> None:
    """Raise PermanentProviderError when vectors of `dims` do not match the model's record."""
    if model.dimensions is not None and dims != model.dimensions:
        raise dimension_mismatch(model, model.dimensions, dims)


def dimension_mismatch(model: ModelRecord, recorded: int, dims: int) -> PermanentProviderError:
    """The error for vectors whose length differs from the one recorded for their model."""
    return PermanentProviderError(
        f"{model.provider} model {model.name} returned {dims}-dimensional vectors, but its stored"
        f" vectors have {recorded}: the model behind this name changed. Set EMBEDDING_MODEL to a"
        " name of its own for the new model (its vectors are kept apart), or delete the old"
        " model's vectors before embedding again"
    )


async def probe_dimensions(provider: EmbeddingProvider) -> int:
    """Embed a short probe text to learn the length of the provider's vectors."""
    batch = await provider.embed([PROBE_TEXT])
    return len(batch.vectors[0])


async def learn_dimensions(db: Database, provider: EmbeddingProvider, model: ModelRecord) -> ModelRecord:
    """The model with its dimension known: probed (no connection held meanwhile) and recorded."""
    if model.dimensions is not None:
        return model
    dims = await probe_dimensions(provider)
    async with db.pool.acquire() as conn:
        return await record_dimensions(conn, model, dims)


async def _index_exists(conn: Connection, model_id: int) -> bool:
    return bool(await conn.fetchval(QUERIES["index_exists"], hnsw_index_name(model_id)))


async def _create_index(conn: Connection, model: ModelRecord, dims: int) -> None:
    if dims > MAX_INDEXED_DIMENSIONS:
        # Still searchable, by exact scan; slower on large collections.
        log.warning("model_not_indexed", model=model.name, dimensions=dims, limit=MAX_INDEXED_DIMENSIONS)
        return
    if await _index_exists(conn, model.id):
        return
    values = {
        "index": hnsw_index_name(model.id),
        "model_id": int(model.id),
        "dims": int(dims),
        "m": int(model.hnsw.m),
        "ef_construction": int(model.hnsw.ef_construction),
    }
    sql = QUERIES["create_hnsw_index"]
    for key, value in values.items():
        sql = sql.replace("{" + key + "}", str(value))
    await conn.execute(sql)
    log.info("model_index_built", model=model.name, index=values["index"], dimensions=dims)
